"""Idempotency keys through the Python package: on every mutating call, a retry with the same key
returns the first answer, changes nothing and fires no event; the same key with other arguments
raises ``IdempotencyConflictError``; a bad key is ``INVALID_ARGUMENT`` naming it."""

import gc
import pathlib
from typing import Any, Dict, List, Tuple

import pytest

from limitr import IdempotencyConflictError, Limitr, LimitrError, LimitrSync

ROOT = pathlib.Path(__file__).resolve().parents[2]
QS = (ROOT / "tests" / "policies" / "quickstart.json").read_text()
T0 = 1767225600000


def engine() -> Tuple[LimitrSync, List[str]]:
    p = LimitrSync(QS, "json", now=lambda: T0)
    events: List[str] = []

    def log(key: str, _payload: Dict[str, Any]) -> None:
        events.append(key)

    p.add_handler("log", log)
    p.create_customer("u", "starter")
    p.create_customer("g", "growth")
    events.clear()
    return p, events


def test_metering_retries_change_nothing_and_fire_nothing() -> None:
    p, events = engine()
    assert p.allow("u", "ai-chat-input", 100, idempotency_key="req-1")
    fired = len(events)
    assert fired > 0
    assert p.allow("u", "ai-chat-input", 100, idempotency_key="req-1")
    assert p.value("u", "ai-chat-input") == 100
    assert len(events) == fired
    with pytest.raises(IdempotencyConflictError):
        p.allow("u", "ai-chat-input", 101, idempotency_key="req-1")
    # a denial is an answer too
    assert not p.allow("u", "ai-chat-input", 500000, idempotency_key="big")
    p.set("u", "ai-chat-input", 0, idempotency_key="reset")
    assert not p.allow("u", "ai-chat-input", 500000, idempotency_key="big")
    assert p.increment("u", "ai-chat-input", idempotency_key="inc")
    assert p.increment("u", "ai-chat-input", idempotency_key="inc")
    assert p.value("u", "ai-chat-input") == 1
    assert p.decrement("u", "ai-chat-input", idempotency_key="dec")
    assert p.decrement("u", "ai-chat-input", idempotency_key="dec")
    assert p.value("u", "ai-chat-input") == 0
    assert p.set("u", "ai-chat-input", 40, idempotency_key="set")
    p.allow("u", "ai-chat-input", 10)
    assert p.set("u", "ai-chat-input", 40, idempotency_key="set")
    assert p.value("u", "ai-chat-input") == 50
    # keys are per customer
    assert p.allow("g", "ai-chat-input", 7, idempotency_key="req-1")
    assert p.value("g", "ai-chat-input") == 7


def test_holds_topups_and_customers() -> None:
    p, events = engine()
    hold = p.reserve("u", "ai-chat-input", 1000, idempotency_key="r1")
    assert hold is not None
    assert p.reserve("u", "ai-chat-input", 1000, idempotency_key="r1") == hold
    assert p.held("u", "ai-chat-input") == 1000
    assert p.settle("u", "ai-chat-input", hold, 800, idempotency_key="s1")
    assert p.settle("u", "ai-chat-input", hold, 800, idempotency_key="s1")
    assert p.value("u", "ai-chat-input") == 800
    with pytest.raises(IdempotencyConflictError):
        p.settle("u", "ai-chat-input", hold, 801, idempotency_key="s1")
    h2 = p.reserve("u", "ai-chat-input", 10, idempotency_key="r2")
    assert h2 is not None
    assert p.release("u", "ai-chat-input", h2, idempotency_key="x1")
    assert p.release("u", "ai-chat-input", h2, idempotency_key="x1")
    assert not p.release("u", "ai-chat-input", h2)
    assert p.apply_customer_topup("g", "ai-token-small", idempotency_key="t1")
    assert p.apply_customer_topup("g", "ai-token-small", idempotency_key="t1")
    record = p.customer("g")
    assert record is not None and len(record["grants"]) == 1
    first = p.create_customer("n", "growth", idempotency_key="c1")
    p.allow("n", "ai-chat-input", 5)
    events.clear()
    assert p.create_customer("n", "growth", idempotency_key="c1") == first
    assert events == []
    with pytest.raises(IdempotencyConflictError) as e:
        p.create_customer("n", "starter", idempotency_key="c1")
    assert e.value.code == "IDEMPOTENCY_CONFLICT"


@pytest.mark.parametrize("key", ["", "x" * 300])
def test_a_bad_key_is_invalid_and_changes_nothing(key: str) -> None:
    p, _ = engine()
    with pytest.raises(LimitrError) as e:
        p.allow("u", "ai-chat-input", 1, idempotency_key=key)
    assert e.value.code == "INVALID_ARGUMENT" and "idempotency_key" in str(e.value)
    assert p.value("u", "ai-chat-input") == 0


async def test_async_api_and_restart(tmp_path: pathlib.Path) -> None:
    first = await Limitr.new(QS, "json", journal=tmp_path, now=lambda: T0)
    await first.create_customer("u", "starter")
    assert await first.allow("u", "ai-chat-input", 300, idempotency_key="k")
    assert await first.increment("u", "ai-chat-input", idempotency_key="i")
    del first
    gc.collect()
    again = await Limitr.new(QS, "json", journal=tmp_path, now=lambda: T0)
    assert await again.allow("u", "ai-chat-input", 300, idempotency_key="k")
    assert await again.increment("u", "ai-chat-input", idempotency_key="i")
    assert await again.value("u", "ai-chat-input") == 301
    with pytest.raises(IdempotencyConflictError):
        await again.allow("u", "ai-chat-input", 1, idempotency_key="k")


def test_a_key_answers_for_its_ttl_then_expires() -> None:
    clock = {"now": T0}
    p = LimitrSync(QS, "json", now=lambda: clock["now"], idempotency_ttl_ms=1000)
    p.create_customer("u", "starter")
    p.allow("u", "ai-chat-input", 10, idempotency_key="k")
    clock["now"] += 999
    p.allow("u", "ai-chat-input", 10, idempotency_key="k")
    assert p.value("u", "ai-chat-input") == 10
    clock["now"] += 1
    p.allow("u", "ai-chat-input", 10, idempotency_key="k")
    assert p.value("u", "ai-chat-input") == 20
