"""A typed tour of the API, checked with `mypy --strict` (and run by the tests)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any, Dict, List, Optional

import limitr
from limitr import Limitr, LimitrSync

POLICY: Dict[str, Any] = {
    "policy": {
        "credits": {"tok": {"stof_units": "int"}},
        "plans": {
            "free": {
                "default": True,
                "entitlements": {"chat": {"limit": {"credit": "tok", "value": 100, "resets": True, "reset_inc": "1day"}}},
                "topups": {"ten": {"credit": "tok", "value": 10}},
            }
        },
    }
}


def on_event(key: str, value: Dict[str, Any]) -> None:
    if key == "meter-limit":
        print("limit hit by", value["customer"]["id"])


async def run_async(now: int) -> List[Optional[float]]:
    policy: Limitr = await Limitr.new(POLICY, now=lambda: now)
    record: Dict[str, Any] = await policy.create_customer("ada")
    assert record["plan"] == "free"
    policy.add_handler("log", on_event)
    allowed: bool = await policy.allow("ada", "chat", 60, event={"model": "sonnet"})
    assert allowed and not await policy.allow("ada", "chat", Decimal(50))
    detail: Any = await policy.check("ada", "chat", 1.5, detail=True)
    assert detail["reason"] == "ok"
    await policy.apply_customer_topup("ada", "ten")
    try:
        await policy.create_customer("bob", "enterprise")
    except limitr.UnknownPlanError as e:
        assert e.code == "UNKNOWN_PLAN"
    await policy.create_customer("cy")
    hold: Optional[str] = await policy.reserve("cy", "chat", 5, ttl=60_000)
    if hold is not None:
        assert await policy.settle("cy", "chat", hold, 2, final=False, event={"model": "sonnet"})
        assert await policy.release("cy", "chat", hold)
    guess: Optional[Dict[str, Any]] = await policy.estimate("cy", "chat", quantile=0.5)
    assert guess is not None and guess["samples"] == 1
    margin: Dict[str, Any] = await policy.plan_margin("free", {"chat": {"value": 120, "overhead": Decimal(1)}})
    assert "entitlements" in margin
    text: str = policy.doc.stringify("yaml")
    again = LimitrSync(text, "yaml", now=lambda: now)
    resets: Optional[int] = again.resets("ada", "chat")
    assert resets == now + 86_400_000
    return [
        await policy.value("ada", "chat"),
        await policy.remaining("ada", "chat", True),
        await policy.limit("ada", "chat", grants=False),
        again.remaining_credit("ada", "tok"),
        await policy.credit_exchange("tok", "tok", 2),
    ]


def main() -> None:
    print(asyncio.run(run_async(1_767_225_600_000)))


if __name__ == "__main__":
    main()
