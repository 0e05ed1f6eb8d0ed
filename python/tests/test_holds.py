"""Reservations (reserve, partial and final settles, release, expiry), learned estimates, usage
trends and margins, through both classes."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any, Dict

import pytest

from limitr import InvalidArgumentError, Limitr, LimitrSync, UnknownPlanError

T0 = 1767225600000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def policy() -> Dict[str, Any]:
    return {
        "policy": {
            "credits": {
                "tok": {"price": {"amount": 0.00002}, "overhead_cost": 0.000008},
                "image": {
                    "pricing_model": "tiered",
                    "tiers": [{"up_to": 100, "price": {"amount": 0.04}}, {"price": {"amount": 0.02}}],
                    "overhead_cost": 0.01,
                },
            },
            "plans": {
                "p": {
                    "default": True,
                    "period": "monthly",
                    "entitlements": {
                        "e": {"limit": {"credit": "tok", "value": 100}},
                        "chat": {"estimate_segment": "model", "limit": {"credit": "tok", "mode": "soft", "value": 0}},
                        "images": {"limit": {"credit": "image", "mode": "soft", "value": 0}},
                    },
                }
            },
        }
    }


async def test_reserve_partial_and_final_settle() -> None:
    p = await Limitr.new(policy())
    await p.create_customer("a")
    hold = await p.reserve("a", "e", 100, ttl=60_000)
    assert isinstance(hold, str) and hold
    assert await p.held("a", "e") == 100
    assert await p.check("a", "e", 1) is False  # the hold takes the room
    assert await p.reserve("a", "e", 1) is None  # no room for a second one
    assert await p.settle("a", "e", hold, 30, final=False) is True
    assert (await p.value("a", "e"), await p.held("a", "e")) == (30, 70)
    assert await p.settle("a", "e", hold, Decimal("50.5"), final=False) is True
    assert (await p.value("a", "e"), await p.held("a", "e")) == (80.5, 19.5)
    assert await p.settle("a", "e", hold, 10) is True  # final: the rest of the hold goes
    assert (await p.value("a", "e"), await p.held("a", "e")) == (90.5, 0)
    assert await p.release("a", "e", hold) is False  # already gone
    assert await p.held("ghost", "e") is None


def test_reserve_release_and_expiry_sync() -> None:
    clock = Clock()
    p = LimitrSync(policy(), now=clock)
    p.create_customer("a")
    h1 = p.reserve("a", "e", 40)
    h2 = p.reserve("a", "e", 40, ttl=1_000)
    assert h1 and h2 and h1 != h2 and p.held("a", "e") == 80
    assert p.release("a", "e", h1) is True and p.held("a", "e") == 40
    clock.now += 1_001
    assert p.held("a", "e") == 0  # h2 expired
    assert p.settle("a", "e", h2, 5) is True  # an expired hold still settles: the call happened
    assert p.value("a", "e") == 5


async def test_estimates_learn_from_observe_and_settle() -> None:
    p = await Limitr.new(policy())
    await p.create_customer("a")
    assert await p.estimate("a", "e") is None
    for v in (8, 10, 12, 10):
        assert await p.observe("a", "e", v, overhead=v / 2) is True
    got = await p.estimate("a", "e", quantile=0.5)
    assert got == {"value": 10, "overhead": 5, "samples": 4, "source": "local", "scope": "policy"}
    p90 = await p.estimate("a", "e")  # quantile 0.9 by default
    assert p90 is not None and p90["value"] == pytest.approx(11.812638191)
    # reserve without a value holds the estimate
    hold = await p.reserve("a", "e", quantile=0.5)
    assert hold is not None and await p.held("a", "e") == 10
    # settles teach the estimate too, per segment (here read from the event data)
    for _ in range(3):
        h = await p.reserve("a", "chat", 300, event={"model": "big"})
        assert h is not None and await p.settle("a", "chat", h, 300, event={"model": "big"})
    big = await p.estimate("a", "chat", quantile=0.5, segment="big")
    assert big is not None and big["value"] == 300 and big["samples"] == 3
    assert await p.estimate("a", "chat", segment="small") is None


def test_trends_sync() -> None:
    clock = Clock()
    p = LimitrSync(policy(), now=clock)
    p.create_customer("a")
    assert p.rate("a", "e") == 0 and p.acceleration("a", "e") == 0
    assert p.projected_exhaustion("a", "e") is None
    p.allow("a", "e", 10)
    clock.now += 1_000
    p.allow("a", "e", 10)
    assert p.rate("a", "e") == pytest.approx(0.01)  # 10 units per 1000 ms
    assert p.projected_exhaustion("a", "e") == clock.now + 80 * 100
    assert p.allowance("a", "e") == 80


async def test_margins() -> None:
    p = await Limitr.new(policy())
    await p.create_customer("c")
    assert await p.allow("c", "chat", 12000)
    assert await p.allow("c", "images", 110)
    m = await p.customer_margin("c")
    assert m is not None
    assert m["revenue"] == pytest.approx(4.44) and m["cost"] == pytest.approx(1.196)
    assert m["entitlements"]["chat"] == {"revenue": 0.24, "cost": 0.096, "margin": 60}
    assert await p.customer_margin("nobody") is None
    # hypothetical usage: numbers or {value, overhead, limit}, any mapping, Decimals welcome
    usage = MappingProxyType({"chat": Decimal(12000), "images": {"value": 110, "overhead": 2}})
    plan = await p.plan_margin("p", usage, scaled=False)
    assert plan["revenue"] == pytest.approx(4.44) and plan["cost"] == pytest.approx(2.096)
    assert plan["entitlements"]["images"]["cost"] == 2
    limited = p.sync.plan_margin("p", {"images": {"value": 110, "limit": 100}})
    assert limited["revenue"] == pytest.approx(0.4)  # 10 images past the assumed limit
    with pytest.raises(UnknownPlanError):
        await p.plan_margin("nope", {})


def test_argument_errors() -> None:
    p = LimitrSync(policy())
    p.create_customer("a")
    with pytest.raises(InvalidArgumentError):
        p.reserve("a", "e", quantile=1.5)
    assert p.reserve("a", "e", -1) is None  # nothing to hold
    with pytest.raises(InvalidArgumentError):
        p.settle("a", "e", "", 1)
    with pytest.raises(InvalidArgumentError):
        p.observe("a", "e", float("nan"))
    with pytest.raises(TypeError):
        p.reserve("a", "e", 1, event=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        p.observe("a", "e", [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        p.plan_margin("p", {"chat": {"value": 1, "price": 2}})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        p.plan_margin("p", [("chat", 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        p.plan_margin("p", {1: 1})  # type: ignore[dict-item]
    detail = p.check("a", "e", 1000, detail=True)
    assert detail["allowed"] is False and detail["retry_after"] is None


async def test_customer_caps() -> None:
    clock = Clock()
    p = await Limitr.new(policy(), now=clock)
    await p.create_customer("a")
    cap = await p.add_customer_cap("a", Decimal("0.002"), cap_id="daily", scope=("e",), resets=True, reset_inc="1day")
    assert cap is not None and cap["id"] == "daily" and cap["credit"] == "rune"
    assert await p.add_customer_cap("a", 1, cap_id="daily") is None  # id taken
    assert await p.add_customer_cap("ghost", 1) is None
    assert await p.allow("a", "e", 60)  # 60 × 0.00002 = 0.0012 runes
    assert not await p.allow("a", "e", 60)  # would pass the cap's 0.002
    got = await p.customer_cap("a", "daily")
    assert got is not None and got["meter_value"] == pytest.approx(0.0012)
    assert await p.reset_customer_cap("a", "daily") is True
    assert await p.allow("a", "e", 30)
    assert await p.remove_customer_cap("a", "daily") is True
    assert await p.customer_cap("a", "daily") is None
    assert await p.remove_customer_cap("a", "daily") is False
    # call-scoped caps: for this call only
    assert not await p.allow("a", "chat", 100, caps={"rune": Decimal("0.001")})
    assert p.sync.allow("a", "chat", 10, caps=MappingProxyType({"rune": 0.001}))
    with pytest.raises(TypeError):
        await p.allow("a", "chat", 1, caps=[("rune", 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await p.add_customer_cap("a", 1, reset_inc=1.5)  # type: ignore[arg-type]
    assert await p.add_customer_cap("a", 1, credit="nope") is None  # an unknown credit answers
    assert p.sync.add_customer_cap("a", 1, resets=True, reset_inc=86_400_000) is not None
