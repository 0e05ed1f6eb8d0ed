"""Customer profiles through the package: type/label/refs/alt ids/metadata, alt id resolution,
overrides (inherited plan fields, expiry on the injected clock, bad fields), scope through refs,
the plan subscription. Each against the awaitable ``Limitr``; the sync twin where it differs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Dict

import pytest

import limitr
from limitr import Limitr, LimitrSync

T0 = 1767225600000  # 2026-01-01T00:00:00Z
DAY = 86_400_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def policy() -> Dict[str, Any]:
    return {
        "policy": {
            "credits": {"seat": {"stof_units": "int"}, "sub": {"stof_units": "int"}},
            "plans": {
                "free": {
                    "default": True,
                    "trial_period": "14days",
                    "entitlements": {
                        "seats": {"scope": "org", "limit": {"credit": "seat", "value": 3, "minimum": 0}},
                        "chat": {"limit": {"credit": "seat", "value": 100, "mode": "soft"}},
                        "subscription": {
                            "limit": {"credit": "sub", "value": 1, "resets": True, "reset_inc": "30days"}
                        },
                    },
                }
            },
        }
    }


async def test_create_customer_with_profile_fields() -> None:
    p = await Limitr.new(policy())
    rec = await p.create_customer(
        "acme", "free", type="org", label="Acme Inc", alt_ids=["acme-stripe"], metadata={"tier": 2, "x": [1, "a"]}
    )
    assert rec["type"] == "org" and rec["label"] == "Acme Inc"
    assert rec["alt_ids"] == ["acme-stripe"] and rec["metadata"] == {"tier": 2, "x": [1, "a"]}
    user = await p.create_customer("u1", refs=("acme",))
    assert user["type"] == "user" and user["refs"] == ["acme"]
    # wrong argument types are TypeErrors, not core errors
    with pytest.raises(TypeError):
        await p.create_customer("u2", refs="acme")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await p.create_customer("u2", alt_ids=[1])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        await p.create_customer("u2", metadata=[("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(limitr.InvalidArgumentError):
        await p.create_customer("", type="org")


async def test_alt_id_resolves_to_the_customer() -> None:
    p = await Limitr.new(policy())
    await p.create_customer("org", type="org")
    await p.create_customer("other", type="org")
    assert await p.add_alt_id("org", "cus_123") is True
    assert await p.add_alt_id("other", "cus_123") is False  # taken by another customer
    assert await p.add_alt_id("nobody", "cus_9") is False
    assert await p.allow("cus_123", "chat", 7) is True
    assert await p.value("org", "chat") == 7 and await p.value("cus_123", "chat") == 7
    rec = await p.customer("org")
    assert rec is not None and rec["alt_ids"] == ["cus_123"]
    with pytest.raises(limitr.InvalidArgumentError):
        await p.add_alt_id("org", " ")


async def test_override_inherits_plan_fields_and_expires_on_the_clock() -> None:
    clock = Clock()
    p = await Limitr.new(policy(), now=clock)
    await p.create_customer("org", type="org")
    assert await p.create_customer_override("org", "chat", {"value": 5}, T0 + DAY) is True
    assert await p.limit("org", "chat") == 5
    # mode "soft" is inherited from the plan limit: going over is allowed
    assert await p.allow("org", "chat", 8) is True
    assert await p.value("org", "chat") == 8
    clock.now = T0 + DAY + 1
    assert await p.limit("org", "chat") == 100
    assert await p.create_customer_override("nobody", "chat", {"value": 5}) is False
    assert await p.create_customer_override("org", "chat", {"value": 7}) is True
    assert await p.limit("org", "chat") == 7
    assert await p.remove_customer_override("org", "chat") is True
    assert await p.remove_customer_override("org", "chat") is False
    assert await p.limit("org", "chat") == 100


def test_override_sync_takes_decimals() -> None:
    p = LimitrSync(policy())
    p.create_customer("org", type="org")
    assert p.create_customer_override("org", "seats", {"value": Decimal("5")}) is True
    assert p.limit("org", "seats") == 5


@pytest.mark.parametrize("fields", [{"value": "lots"}, {"mode": "bogus"}, {"value": -1, "minimum": "x"}])
async def test_bad_override_field_is_invalid_argument(fields: Dict[str, Any]) -> None:
    p = await Limitr.new(policy())
    await p.create_customer("org", type="org")
    before = p.doc.record()
    with pytest.raises(limitr.InvalidArgumentError) as info:
        await p.create_customer_override("org", "chat", fields)
    assert info.value.code == "INVALID_ARGUMENT" and isinstance(info.value, ValueError)
    assert p.doc.record() == before
    with pytest.raises(TypeError):
        await p.create_customer_override("org", "chat", [("value", 5)])  # type: ignore[arg-type]


async def test_scope_through_refs() -> None:
    p = await Limitr.new(policy())
    await p.create_customer("org", type="org")
    await p.create_customer("u1", refs=["org"])
    await p.create_customer("u2", refs=["org"])
    assert await p.increment("u1", "seats") and await p.increment("u2", "seats")
    assert await p.value("org", "seats") == 2 and await p.remaining("u1", "seats") == 1
    # a customer with no org in its refs has no one to meter a scoped entitlement on
    await p.create_customer("loner")
    assert await p.check("loner", "seats", 1, detail=True) == {
        "allowed": False,
        "reason": "scope",
        "remaining": None,
        "resets": None,
        "retry_after": None,
    }
    assert p.sync.allow("loner", "seats", 1) is False


async def test_plan_subscription_after_trial() -> None:
    clock = Clock()
    p = await Limitr.new(policy(), now=clock)
    await p.create_customer("c")
    assert await p.ensure_plan_subscription("c") is False  # in trial
    clock.now += 14 * DAY
    assert await p.ensure_plan_subscription("c") is True
    assert await p.ensure_plan_subscription("c") is False  # charged this period
    assert await p.value("c", "subscription") == 1
    assert p.sync.ensure_plan_subscription("nobody") is False
