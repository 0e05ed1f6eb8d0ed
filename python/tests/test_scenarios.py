"""Replays the language-neutral scenario corpus (tests/scenarios/*.json, format in tests/SCENARIOS.md)
through the package: once through the awaitable ``Limitr`` (numbers as ``float``), once through
``LimitrSync`` (numbers as ``decimal.Decimal``, inline policies as dicts of Decimals)."""

from __future__ import annotations

import inspect
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

import limitr
from conftest import ROOT
from limitr import Limitr, LimitrError, LimitrSync

SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.json"))
DEFAULT_NOW = 1767225600000


def _load(path: Path, decimals: bool) -> Dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    return json.loads(text, parse_float=Decimal) if decimals else json.loads(text)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def matches(expected: Any, actual: Any, path: str = "$") -> None:
    """Subset match (SCENARIOS.md): numbers with relative tolerance 1e-9, bools exactly."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for k, v in expected.items():
            if v is None:
                assert actual.get(k) is None, f"{path}.{k}: expected null, got {actual.get(k)!r}"
            else:
                assert k in actual, f"{path}.{k}: missing in {actual!r}"
                matches(v, actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            matches(e, a, f"{path}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert actual is expected or (isinstance(expected, str) and actual == expected), (
            f"{path}: expected {expected!r}, got {actual!r}"
        )
    else:
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{path}: got {actual!r}"
        e, a = float(expected), float(actual)
        if e == 0:
            assert a == 0, f"{path}: expected 0, got {actual!r}"
        else:
            assert math.isclose(a, e, rel_tol=1e-9), f"{path}: expected {expected}, got {actual!r}"


def match_customer(expected: Dict[str, Any], actual: Any) -> None:
    expected = dict(expected)
    by_topup = expected.pop("grants_by_topup", None)
    matches(expected, actual, "customer")
    for topup, want in (by_topup or {}).items():
        found = [g for g in actual["grants"].values() if g.get("topup") == topup]
        if want is None:
            assert not found, f"grant from {topup}: expected none, got {found!r}"
        else:
            assert len(found) == 1, f"grant from {topup}: expected one, got {found!r}"
            matches(want, found[0], f"grants_by_topup.{topup}")


def call(engine: Any, op: str, a: Dict[str, Any]) -> Any:
    """The op's call on either class (a value, or an awaitable for ``Limitr``)."""
    c, e = a.get("customer"), a.get("entitlement")
    value = a.get("value", 0)
    opts = {"event": a.get("event_data", True), "overhead": a.get("overhead")}
    if op == "reserve":
        keys = ("ttl", "quantile", "basis", "segment", "overhead")
        extra = {k: a[k] for k in keys if k in a}
        return engine.reserve(c, e, a.get("value"), event=a.get("event_data"), **extra)
    if op == "settle":
        return engine.settle(c, e, a.get("hold"), value, final=a.get("final", True), **opts)
    if op == "release":
        return engine.release(c, e, a.get("hold"))
    if op == "held":
        return engine.held(c, e)
    if op == "observe":
        extra = {k: a[k] for k in ("overhead", "basis", "segment") if k in a}
        return engine.observe(c, e, value, event=a.get("event_data"), **extra)
    if op == "estimate":
        extra = {k: a[k] for k in ("basis", "segment") if k in a}
        return engine.estimate(c, e, quantile=a.get("quantile", 0.9), **extra)
    if op == "rate":
        return engine.rate(c, e, a.get("smoothed", False))
    if op == "acceleration":
        return engine.acceleration(c, e)
    if op == "projected_exhaustion":
        return engine.projected_exhaustion(c, e, a.get("smoothed", False), a.get("grants", True))
    if op == "allowance":
        return engine.allowance(c, e, a.get("grants", True))
    if op == "customer_margin":
        return engine.customer_margin(c)
    if op == "plan_margin":
        return engine.plan_margin(a["plan"], a.get("usage", {}), a.get("scaled", True))
    if op == "create_customer":
        extra = {k: a[k] for k in ("type", "label", "refs", "alt_ids", "metadata") if k in a}
        return engine.create_customer(a["id"], a.get("plan"), **extra)
    if op == "create_customer_override":
        return engine.create_customer_override(a["id"], e, a.get("fields", {}), a.get("expires_on"))
    if op == "remove_customer_override":
        return engine.remove_customer_override(a["id"], e)
    if op == "add_alt_id":
        return engine.add_alt_id(a["id"], a["alt"])
    if op == "ensure_plan_subscription":
        return engine.ensure_plan_subscription(a["id"])
    if op == "ensure_customer":
        return engine.ensure_customer(a["id"], a.get("plan"))
    if op == "remove_customer":
        return engine.remove_customer(a["id"])
    if op == "set_customer_plan":
        return engine.set_customer_plan(a["id"], a["plan"], reset_meters=a.get("reset_meters", False))
    if op == "allow":
        return engine.allow(c, e, value, caps=a.get("caps"), **opts)
    if op == "add_customer_cap":
        extra = {k: v for k, v in a.items() if k not in ("id", "value")}
        return engine.add_customer_cap(a["id"], a.get("value", 0), **extra)
    if op == "remove_customer_cap":
        return engine.remove_customer_cap(a["id"], a["cap_id"], events=a.get("events", True))
    if op in ("customer_cap", "reset_customer_cap"):
        return getattr(engine, op)(a["id"], a["cap_id"])
    if op == "ensure_included_topups":
        return engine.ensure_included_topups(a["id"], events=a.get("events", True))
    if op == "cost":
        return engine.cost(c, e)
    if op == "check_increment":
        return engine.check_increment(c, e)
    if op == "check":
        return engine.check(c, e, value, caps=a.get("caps"))
    if op == "check_detail":
        return engine.check(c, e, value, detail=True)
    if op in ("increment", "decrement"):
        return getattr(engine, op)(c, e, **opts)
    if op in ("resets", "apply_customer_topup", "remaining_credit"):
        second = {"apply_customer_topup": "topup", "remaining_credit": "credit"}.get(op, "entitlement")
        return getattr(engine, op)(c, a[second])
    if op == "set":
        return engine.set(c, e, a["value"], **opts)
    if op in ("value", "remaining"):
        return getattr(engine, op)(c, e, a.get("percent", False), grants=a.get("grants", True))
    if op == "limit":
        return engine.limit(c, e, grants=a.get("grants", True))
    if op == "credit_exchange":
        return engine.credit_exchange(a["from"], a.get("to", "rune"), a.get("value", 1))
    if op == "customer":
        return engine.customer(a["id"])
    raise AssertionError(f"unknown op {op}")


async def replay(path: Path, mode: str) -> None:
    decimals = mode == "sync"
    s = _load(path, decimals)
    clock = Clock(int(s.get("now", DEFAULT_NOW)))
    new: Callable[..., Any] = LimitrSync if decimals else Limitr.new

    async def load(doc: Any, fmt: str) -> Any:
        made = new(doc, fmt, now=clock, **s.get("options", {}))
        return await made if inspect.isawaitable(made) else made

    if "policy_text" in s:
        doc, fmt = s["policy_text"], s.get("format", "json")
    elif isinstance(s["policy"], str):
        doc, fmt = (ROOT / "tests" / "policies" / f"{s['policy']}.json").read_text(encoding="utf-8"), "json"
    else:
        doc, fmt = s["policy"], "json"

    if "expect_load_error" in s:
        want = s["expect_load_error"]
        with pytest.raises(LimitrError) as info:
            await load(doc, fmt)
        assert info.value.code == want["code"], str(info.value)
        assert isinstance(info.value, limitr.ERRORS[want["code"]])
        if want["code"] == "POLICY_INVALID":
            assert sorted(i["path"] for i in info.value.issues) == sorted(want["paths"])
        return

    engine = await load(doc, fmt)
    events: List[Tuple[str, Dict[str, Any]]] = []
    record = lambda key, value: events.append((key, value))  # noqa: E731
    engine.add_handler("recorder", record)
    saved: Dict[str, Any] = {}  # hold ids saved by `"as": name`, used as "$name" in later args

    for n, step in enumerate(s["steps"]):
        op, where = step["op"], f"{path.name} step {n} ({step['op']})"
        if op == "advance":
            clock.now += int(step["ms"])
            continue
        if op == "set_now":
            clock.now = int(step["now"])
            continue
        if op == "reload":
            text = engine.doc.stringify(step["format"])
            engine = await load(text, step["format"])
            engine.add_handler("recorder", record)
            continue
        events.clear()
        expect = step.get("expect")
        args = {
            k: saved.get(v[1:]) if isinstance(v, str) and v.startswith("$") else v
            for k, v in step.get("args", {}).items()
        }
        if isinstance(expect, dict) and set(expect) == {"error"}:
            before = engine.doc.record()
            with pytest.raises(LimitrError) as info:
                got = call(engine, op, args)
                if inspect.isawaitable(got):
                    await got
            assert info.value.code == expect["error"], f"{where}: {info.value}"
            assert engine.doc.record() == before, f"{where}: the failed call changed the document"
        else:
            got = call(engine, op, args)
            if inspect.isawaitable(got):
                got = await got
            if op == "reserve":
                if "as" in step and got is not None:
                    saved[step["as"]] = got
                # the id is random-looking: `true` for "a hold was made", `null` for none
                got = None if got is None else True
            if "expect" in step:
                try:
                    if op == "customer" and expect is not None:
                        match_customer(expect, got)
                    else:
                        matches(expect, got)
                except AssertionError as e:
                    raise AssertionError(f"{where}: {e}") from None
        if "events" in step:
            names = [k for k, _ in events]
            assert names == [ev["name"] for ev in step["events"]], f"{where}: events {names}"
            for ev, (_, payload) in zip(step["events"], events):
                if "payload" in ev:
                    try:
                        matches(ev["payload"], payload, ev["name"])
                    except AssertionError as e:
                        raise AssertionError(f"{where}: {e}") from None


def test_corpus_is_there() -> None:
    assert len(SCENARIOS) >= 50


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario_async(path: Path) -> None:
    await replay(path, "async")


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario_sync(path: Path) -> None:
    await replay(path, "sync")
