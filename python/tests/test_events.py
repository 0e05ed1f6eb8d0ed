"""Handlers that listen to some events only: exactly the events they name, with the payloads an
unfiltered handler gets; the same payload for two handlers; a call's events in commit order; an
unknown name refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import limitr
from limitr import Limitr

QS = (Path(__file__).resolve().parents[2] / "tests" / "policies" / "quickstart.json").read_text()
T0 = 1767225600000
DAY = 86_400_000

Seen = List[Tuple[str, Dict[str, Any]]]


async def run(filters: List[Optional[List[str]]]) -> List[Seen]:
    now = [T0]
    policy = await Limitr.new(QS, "json", now=lambda: now[0])
    seen: List[Seen] = [[] for _ in filters]
    for i, events in enumerate(filters):
        sink = seen[i]
        policy.add_handler(f"h{i}", lambda key, value, sink=sink: sink.append((key, value)), events)
    await policy.create_customer("u", "starter")
    for v in (120_000, 95_000, 300_000, 200_000):
        await policy.allow("u", "ai-chat-input", v)
    now[0] += DAY + 1
    await policy.allow("u", "ai-chat-input", 600_000)
    await policy.allow("u", "ai-chat-input", 1)
    await policy.set_customer_plan("u", "growth")
    return seen


async def test_a_filtered_handler_receives_exactly_the_events_it_names() -> None:
    (everything,) = await run([None])
    names = [k for k, _ in everything]
    for kind in ("meter-changed", "meter-limit", "meter-reset", "customer-set"):
        assert kind in names, kind
    for wanted in (["meter-limit"], ["meter-limit", "meter-reset"], ["customer-set"], ["meter-overage"]):
        want = [(k, v) for k, v in everything if k in wanted]
        (alone,) = await run([wanted])
        assert alone == want, wanted
        _, beside = await run([None, wanted])
        assert beside == want, wanted


async def test_payloads_are_dicts_equal_to_their_json_and_arrive_in_commit_order() -> None:
    a, b = await run([None, None])
    assert a == b
    for _, payload in a:
        assert isinstance(payload, dict)
        assert json.loads(json.dumps(payload)) == payload
    assert a[0][1] is not b[0][1], "each handler gets its own dict"
    names = [k for k, _ in a]
    assert names[names.index("meter-reset") + 1] == "meter-limit"
    values = [v["meter"]["value"] for k, v in a if k == "meter-changed"]
    assert values == [120000, 215000, 415000, 1]
    changed = next(v for k, v in a if k == "meter-changed")
    assert isinstance(changed["meter"]["overhead"], float) and changed["customer"]["id"] == "u"
    assert changed["event_data"] is None and isinstance(changed["remaining"], int)


async def test_an_unknown_event_name_is_an_invalid_argument_naming_it() -> None:
    policy = await Limitr.new(QS)
    with pytest.raises(limitr.InvalidArgumentError, match=r'events\[1\]: unknown event "meter-limt"'):
        policy.add_handler("h", lambda key, value: None, ["meter-limit", "meter-limt"])
    got: List[str] = []
    policy.add_handler("ok", lambda key, value: got.append(key), events=["meter-changed"])
    await policy.create_customer("u", "starter")
    await policy.allow("u", "ai-chat-input", 1)
    assert got == ["meter-changed"]


async def test_an_async_handler_is_refused_at_add_handler() -> None:
    """Hostile 9: an `async def` handler would never be awaited (handlers run synchronously, inside
    the call, in commit order, also on a worker thread with no loop): `add_handler` refuses it."""
    policy = await Limitr.new(QS, "json")

    async def handler(key: str, value: Dict[str, Any]) -> None:
        pass

    class Callable:
        async def __call__(self, key: str, value: Dict[str, Any]) -> None:
            pass

    for fn in (handler, Callable()):
        with pytest.raises(limitr.InvalidArgumentError) as e:
            policy.add_handler("h", fn)
        assert e.value.code == "INVALID_ARGUMENT" and str(e.value).startswith("fn"), str(e.value)
        with pytest.raises(limitr.InvalidArgumentError):
            policy.sync.add_handler("h", fn)
    # a plain function returning an awaitable: reported as a HandlerWarning, the awaitable closed
    policy.add_handler("h", lambda key, value: handler(key, value), ["meter-changed"])
    await policy.create_customer("u", "starter")
    with pytest.warns(limitr.HandlerWarning, match="returned an awaitable") as record:
        assert await policy.allow("u", "ai-chat-input", 1)
    assert not [w for w in record if "never awaited" in str(w.message)]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
async def test_system_exit_and_keyboard_interrupt_in_a_handler_propagate(exc: type) -> None:
    """Hostile 9: they are not warnings; the call's change stands (it committed before its events)."""
    policy = await Limitr.new(QS, "json")
    later: List[str] = []

    def stop(key: str, value: Dict[str, Any]) -> None:
        raise exc()

    policy.add_handler("stop", stop, ["meter-changed"])
    policy.add_handler("later", lambda key, value: later.append(key), ["meter-changed"])
    await policy.create_customer("u", "starter")
    with pytest.raises(exc):
        await policy.allow("u", "ai-chat-input", 5)
    with pytest.raises(exc):
        policy.sync.allow("u", "ai-chat-input", 5)
    assert later == [] and await policy.value("u", "ai-chat-input") == 10
    policy.remove_handler("stop")
    assert await policy.allow("u", "ai-chat-input", 1) and later == ["meter-changed"]
