"""The Python face: errors per code, argument types, handlers, threads, dict policies, the clock,
persistence through stringify, and the sync twin."""

from __future__ import annotations

import json
import sys
import threading
import warnings
from decimal import Decimal
from typing import Any, Awaitable, Callable, Dict, List, Tuple

import pytest

import limitr
from limitr import Limitr, LimitrError, LimitrSync

T0 = 1767225600000  # 2026-01-01T00:00:00Z
DAY = 86_400_000


def small_policy(extra: Dict[str, Any] | None = None) -> Dict[str, Any]:
    policy: Dict[str, Any] = {
        "credits": {"tok": {"stof_units": "int"}, "cent": {"description": "cents"}},
        "plans": {
            "free": {
                "default": True,
                "entitlements": {
                    "chat": {"limit": {"credit": "tok", "value": 100, "resets": True, "reset_inc": "1day"}},
                    "spend": {"limit": {"credit": "cent", "value": 10}},
                    "seats": {"limit": {"credit": "tok", "value": 3, "increment": 1}},
                    "flag": {},
                    "soft": {"limit": {"credit": "tok", "value": 100, "mode": "soft"}},
                },
                "topups": {"ten": {"credit": "tok", "value": 10}},
            },
            "pro": {"entitlements": {"chat": {"limit": {"credit": "tok", "value": 1000}}}},
        },
    }
    policy.update(extra or {})
    return {"policy": policy}


# ---- errors: one class per code --------------------------------------------------------------


def test_every_core_code_has_a_class() -> None:
    assert set(limitr.CODES) == set(limitr.ERRORS)
    for code, cls in limitr.ERRORS.items():
        assert issubclass(cls, LimitrError) and cls.code == code


async def test_policy_invalid_lists_every_issue_with_paths() -> None:
    doc = small_policy()
    doc["policy"]["plans"]["free"]["entitlements"]["chat"]["limit"]["credit"] = "nope"
    doc["policy"]["plans"]["pro"]["entitlements"]["chat"]["limit"]["credit"] = "missing"
    with pytest.raises(limitr.PolicyInvalidError) as info:
        await Limitr.new(doc)
    err = info.value
    assert err.code == "POLICY_INVALID" and isinstance(err, ValueError)
    paths = sorted(i["path"] for i in err.issues)
    assert paths == [
        "policy.plans.free.entitlements.chat.limit.credit",
        "policy.plans.pro.entitlements.chat.limit.credit",
    ]
    assert all(set(i) == {"path", "code", "message"} for i in err.issues)


async def test_parse_format_and_size_errors() -> None:
    with pytest.raises(limitr.PolicyParseError) as parse:
        await Limitr.new('{"policy": ', "json")
    assert parse.value.code == "POLICY_PARSE"
    with pytest.raises(limitr.PolicyParseError):
        await Limitr.new("policy: [unclosed", "yaml")
    with pytest.raises(limitr.FormatUnsupportedError) as fmt:
        await Limitr.new("{}", "stof")
    assert "stof" in str(fmt.value) and isinstance(fmt.value, ValueError)
    with pytest.raises(limitr.DocumentTooLargeError) as big:
        await Limitr.new(" " * (32 * 1024 * 1024 + 1), "json")
    assert big.value.code == "DOCUMENT_TOO_LARGE"
    policy = await Limitr.new(small_policy())
    with pytest.raises(limitr.FormatUnsupportedError):
        policy.doc.stringify("xml")


async def test_invalid_arguments_change_nothing() -> None:
    policy = await Limitr.new(small_policy(), now=lambda: T0)
    await policy.create_customer("ada")
    before = policy.doc.record()
    for bad in (float("nan"), float("inf"), -float("inf"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(limitr.InvalidArgumentError) as info:
            await policy.allow("ada", "chat", bad)
        assert info.value.code == "INVALID_ARGUMENT" and isinstance(info.value, ValueError)
    with pytest.raises(limitr.InvalidArgumentError):
        await policy.allow("", "chat", 1)
    with pytest.raises(limitr.InvalidArgumentError):
        await policy.create_customer("  ")
    with pytest.raises(limitr.InvalidArgumentError):
        await policy.allow("ada", "chat", 1, overhead=float("nan"))
    assert policy.doc.record() == before


async def test_unknown_plan_topup_and_overflow() -> None:
    # unknown references answer; strict=True makes each raise its typed error
    lenient = await Limitr.new(small_policy(), now=lambda: T0)
    await lenient.create_customer("bea", "enterprise")
    assert await lenient.set_customer_plan("bea", "enterprise") is False
    assert await lenient.apply_customer_topup("bea", "huge") is False
    assert await lenient.add_customer_cap("bea", 1, credit="doubloons") is None
    policy = await Limitr.new(small_policy(), now=lambda: T0, strict=True)
    with pytest.raises(limitr.UnknownPlanError) as plan:
        await policy.create_customer("ada", "enterprise")
    assert plan.value.code == "UNKNOWN_PLAN" and isinstance(plan.value, LookupError)
    await policy.create_customer("ada")
    with pytest.raises(limitr.UnknownPlanError):
        await policy.set_customer_plan("ada", "enterprise")
    with pytest.raises(limitr.UnknownTopupError) as topup:
        await policy.apply_customer_topup("ada", "huge")
    assert topup.value.code == "UNKNOWN_TOPUP"
    with pytest.raises(limitr.UnknownCreditError) as credit:
        await policy.add_customer_cap("ada", 1, credit="doubloons")
    assert credit.value.code == "UNKNOWN_CREDIT"
    # amounts beyond exact decimal range are invalid arguments, as in the core
    for huge in (10**40, Decimal("1e40"), 1e300):
        with pytest.raises(limitr.InvalidArgumentError, match="out of range"):
            await policy.allow("ada", "chat", huge)
    # a meter pushed past the exact range is OVERFLOW (a restored document holds a huge meter)
    assert await policy.allow("ada", "soft", 1)
    doc = policy.doc.record()
    doc["policy"]["customers"]["ada"]["meters"]["soft"]["value"] = 10**26
    policy = await Limitr.new(doc, now=lambda: T0)
    with pytest.raises(limitr.AmountOverflowError) as big:
        for _ in range(2):
            await policy.allow("ada", "soft", 10**20)
    assert big.value.code == "OVERFLOW" and isinstance(big.value, OverflowError)


# SERIALIZE (a document the writers refuse) and UNKNOWN_CUSTOMER (not raised by the core today) are
# mapped (test_every_core_code_has_a_class) but no Python call reaches them.


async def test_wrong_argument_types_are_invalid_argument_naming_the_argument() -> None:
    """Hostile 11: a value of the wrong type is INVALID_ARGUMENT, its message starting with the
    argument's name (the class is also a TypeError, so `except TypeError` still catches it)."""
    policy = await Limitr.new(small_policy())
    await policy.create_customer("ada")
    cases: List[Tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("value: expected int, float or decimal.Decimal, got list", lambda: policy.allow("ada", "chat", [10])),  # type: ignore[arg-type]
        ("value: expected int, float or decimal.Decimal, got bool", lambda: policy.allow("ada", "chat", True)),
        ("overhead: expected int, float or decimal.Decimal, got str", lambda: policy.allow("ada", "chat", 1, overhead="1")),  # type: ignore[arg-type]
        ("event: expected bool or dict", lambda: policy.allow("ada", "chat", 1, event="yes")),  # type: ignore[arg-type]
        ("caps: expected a dict", lambda: policy.allow("ada", "chat", 1, caps=[("rune", 1)])),  # type: ignore[arg-type]
        ("doc: expected str", lambda: Limitr.new(42)),  # type: ignore[arg-type]
        ("doc.policy: keys must be str", lambda: Limitr.new({"policy": {1: 2}})),
        ("now: expected a callable", lambda: Limitr.new(small_policy(), now=5)),  # type: ignore[arg-type]
        ("refs: expected a list of str", lambda: policy.create_customer("u2", refs="acme")),  # type: ignore[arg-type]
        ("value: expected int", lambda: policy.add_customer_cap("ada", "1")),  # type: ignore[arg-type]
    ]
    for prefix, call in cases:
        with pytest.raises(limitr.InvalidArgumentError) as e:
            await call()
        assert e.value.code == "INVALID_ARGUMENT" and str(e.value).startswith(prefix), (prefix, str(e.value))
        assert isinstance(e.value, TypeError)
    with pytest.raises(limitr.InvalidArgumentError, match="^fn: expected a callable"):
        policy.add_handler("h", 5)  # type: ignore[arg-type]
    with pytest.raises(limitr.InvalidArgumentError, match="^value: expected int"):
        policy.sync.allow("ada", "chat", False)
    # arguments pyo3 extracts itself (ids, flags, integers) still raise its TypeError naming them
    with pytest.raises(TypeError, match="customer"):
        await policy.allow(42, "chat", 1)  # type: ignore[arg-type]
    assert await policy.value("ada", "chat") == 0


# ---- numbers ---------------------------------------------------------------------------------


async def test_numbers_int_float_decimal() -> None:
    policy = await Limitr.new(small_policy(), now=lambda: T0)
    await policy.create_customer("ada")
    for _ in range(3):
        assert await policy.allow("ada", "spend", 0.1)
    assert await policy.value("ada", "spend") == 0.3  # exact decimals, not 0.30000000000000004
    assert await policy.allow("ada", "spend", Decimal("0.7"))
    assert await policy.value("ada", "spend") == 1
    assert isinstance(await policy.value("ada", "spend"), int)
    assert await policy.allow("ada", "chat", 2.9)  # int units truncate per call
    assert await policy.value("ada", "chat") == 2
    assert await policy.remaining("ada", "chat", True) == 98
    assert await policy.value("ada", "flag", True) is None
    assert await policy.value("nobody", "chat") is None


def size_policy() -> Dict[str, Any]:
    return {
        "policy": {
            "credits": {"mb": {"stof_units": "MB"}, "sec": {"stof_units": "s"}},
            "plans": {
                "paid": {
                    "default": True,
                    "entitlements": {
                        "usage": {"limit": {"credit": "mb", "value": "2GB"}},
                        "time": {"limit": {"credit": "sec", "value": "1hr"}},
                    },
                }
            },
        }
    }


async def test_amounts_with_units_are_read_in_the_credits_unit() -> None:
    policy = await Limitr.new(size_policy(), now=lambda: T0)
    await policy.create_customer("c")
    assert await policy.allow("c", "usage", "500MB")
    assert await policy.allow("c", "usage", "1GB")
    assert await policy.value("c", "usage") == 1500
    assert not await policy.check("c", "usage", "1GB")
    assert policy.sync.allow("c", "usage", "-3MB")
    assert policy.sync.allow("c", "usage", "10MiB")
    assert await policy.value("c", "usage") == pytest.approx(1507.48576)
    assert await policy.set("c", "time", "1.5min")
    assert await policy.value("c", "time") == 90
    hold = await policy.reserve("c", "time", "1min")
    assert hold is not None and await policy.held("c", "time") == 60
    assert await policy.settle("c", "time", hold, "30s")
    assert await policy.value("c", "time") == 120
    assert await policy.observe("c", "time", "2min")
    assert await policy.allow("c", "usage", 1)  # numbers as before


async def test_a_bad_unit_is_invalid_argument_and_changes_nothing() -> None:
    policy = await Limitr.new(size_policy(), now=lambda: T0)
    await policy.create_customer("c")
    for bad in ("3 parsecs", "5s"):
        with pytest.raises(limitr.InvalidArgumentError) as info:
            await policy.allow("c", "usage", bad)
        assert info.value.code == "INVALID_ARGUMENT"
        with pytest.raises(limitr.InvalidArgumentError):
            policy.sync.allow("c", "usage", bad)
    assert await policy.value("c", "usage") == 0


# ---- the API surface -------------------------------------------------------------------------


async def test_dict_policy_and_every_call() -> None:
    policy = await Limitr.new(small_policy(), now=lambda: T0)
    record = await policy.create_customer("ada")
    assert record["plan"] == "free" and record["meters"]["chat"]["value"] == 0
    assert await policy.ensure_customer("bob", "pro") is True
    assert await policy.ensure_customer("bob") is False
    assert sorted(await policy.customers()) == ["ada", "bob"]
    assert await policy.limit("ada", "chat") == 100
    assert await policy.limit("pro", "chat") == 1000  # a plan name works too
    assert await policy.check("ada", "chat", 100) is True
    assert await policy.check("ada", "chat", 101) is False
    assert await policy.check("ada", "chat", 101, detail=True) == {
        "allowed": False,
        "reason": "limit",
        "remaining": 100,
        "resets": T0 + DAY,
        "retry_after": None,
    }
    assert (await policy.check("ghost", "chat", detail=True))["reason"] == "unknown-customer"
    assert await policy.allow("ada", "chat", 60)
    assert not await policy.allow("ada", "chat", 50)
    assert await policy.increment("ada", "seats") and await policy.increment("ada", "seats")
    assert await policy.decrement("ada", "seats")
    assert await policy.value("ada", "seats") == 1
    assert await policy.set("ada", "chat", 10)
    assert await policy.value("ada", "chat") == 10
    assert await policy.resets("ada", "chat") == T0 + DAY
    assert await policy.resets("ada", "seats") is None
    assert await policy.apply_customer_topup("ada", "ten")
    assert await policy.remaining_credit("ada", "tok") == 10
    assert await policy.limit("ada", "chat") == 110
    assert await policy.limit("ada", "chat", grants=False) == 100
    assert await policy.apply_customer_topup("ghost", "ten") is False
    assert await policy.credit_exchange("tok", "tok", 5) == 5
    assert await policy.credit_exchange("tok", "cent") is None
    assert await policy.set_customer_plan("ada", "pro") is True
    assert (await policy.customer("ada") or {})["plan"] == "pro"
    assert await policy.value("ada", "chat") == 10  # meters kept by default
    assert await policy.set_customer_plan("ada", "free", reset_meters=True)
    assert await policy.value("ada", "chat") == 0
    assert await policy.remove_customer("bob") is True
    assert await policy.remove_customer("bob") is False
    assert await policy.customer("bob") is None


async def test_event_data_overhead_and_events_off() -> None:
    policy = await Limitr.new(small_policy(), now=lambda: T0)
    await policy.create_customer("ada")
    seen: List[Tuple[str, Dict[str, Any]]] = []
    policy.add_handler("rec", lambda key, value: seen.append((key, value)))
    assert await policy.allow("ada", "chat", 5, event={"model": "sonnet", "n": 1.5})
    assert seen[-1][0] == "meter-changed"
    assert seen[-1][1]["event_data"] == {"model": "sonnet", "n": 1.5}
    assert await policy.allow("ada", "chat", 5, overhead=Decimal("0.25"))
    assert (await policy.customer("ada") or {})["meters"]["chat"]["overhead"] == 0.25
    n = len(seen)
    assert await policy.allow("ada", "chat", 5, event=False)
    assert len(seen) == n
    assert policy.remove_handler("rec") and not policy.remove_handler("rec")
    policy.add_handler("rec", lambda key, value: seen.append((key, value)))
    policy.clear_handlers()
    await policy.allow("ada", "chat", 1)
    assert len(seen) == n


async def test_a_raising_handler_does_not_undo_or_stop() -> None:
    policy = await Limitr.new(small_policy(), now=lambda: T0)
    await policy.create_customer("ada")
    calls: List[str] = []
    seen: List[Any] = []

    def bad(key: str, value: Dict[str, Any]) -> None:
        calls.append("bad")
        raise RuntimeError("boom")

    def good(key: str, value: Dict[str, Any]) -> None:
        calls.append("good")
        # a handler may call back into the engine (handlers run outside any lock)
        seen.append(policy.sync.value("ada", "chat"))

    policy.add_handler("bad", bad)
    policy.add_handler("good", good)
    with pytest.warns(limitr.HandlerWarning, match="boom") as record:
        assert await policy.allow("ada", "chat", 30) is True
    assert calls == ["bad", "good"] and seen == [30]
    w = record.list[0].message
    assert isinstance(w, limitr.HandlerWarning)
    assert (w.handler, w.event) == ("bad", "meter-changed") and isinstance(w.error, RuntimeError)
    assert await policy.value("ada", "chat") == 30
    # even with warnings turned into errors the decision stands; the report goes to
    # sys.unraisablehook instead
    unraisable: List[Any] = []
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "unraisablehook", unraisable.append)
        warnings.simplefilter("error")
        assert await policy.allow("ada", "chat", 10) is True
    assert await policy.value("ada", "chat") == 40 and seen == [30, 40]
    assert [type(u.exc_value) for u in unraisable] == [limitr.HandlerWarning]


async def test_the_now_clock_moves_a_daily_reset() -> None:
    clock = {"now": T0}
    policy = await Limitr.new(small_policy(), now=lambda: clock["now"])
    await policy.create_customer("ada")
    assert await policy.allow("ada", "chat", 100)
    assert not await policy.allow("ada", "chat", 1)
    assert await policy.resets("ada", "chat") == T0 + DAY
    clock["now"] = T0 + DAY - 1
    assert not await policy.allow("ada", "chat", 1)
    clock["now"] = T0 + DAY + 1
    assert await policy.allow("ada", "chat", 1)
    assert await policy.value("ada", "chat") == 1
    assert await policy.resets("ada", "chat") == T0 + 2 * DAY


async def test_a_raising_clock_raises_before_anything_changes() -> None:
    # the clock is read once, before the call (as in Node): its exception is the call's
    def broken() -> int:
        raise RuntimeError("no time")

    policy = await Limitr.new(small_policy(), now=broken)
    with pytest.raises(RuntimeError, match="no time"):
        await policy.create_customer("ada")
    assert policy.sync.customers() == {}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "soon", True])
async def test_a_clock_returning_no_finite_time_is_invalid_argument(bad: Any) -> None:
    clock = {"now": T0}
    policy = await Limitr.new(small_policy(), now=lambda: clock["now"])
    await policy.create_customer("ada")
    clock["now"] = bad
    with pytest.raises(limitr.InvalidArgumentError) as e:
        await policy.allow("ada", "chat", 1)
    assert e.value.code == "INVALID_ARGUMENT" and str(e.value).startswith("now"), str(e.value)
    clock["now"] = T0
    assert await policy.value("ada", "chat") == 0


@pytest.mark.parametrize("fmt", ["json", "yaml", "toml"])
async def test_stringify_then_new_restores_customers(fmt: str) -> None:
    policy = await Limitr.new(small_policy(), now=lambda: T0)
    await policy.create_customer("ada")
    await policy.create_customer("bob", "pro")
    await policy.allow("ada", "chat", 42)
    await policy.allow("ada", "spend", 0.1)
    await policy.apply_customer_topup("ada", "ten")
    text = policy.doc.stringify(fmt)
    again = await Limitr.new(text, fmt, now=lambda: T0)
    assert await again.customers() == await policy.customers()
    assert await again.value("ada", "chat") == 42
    assert await again.value("ada", "spend") == 0.1
    assert await again.remaining_credit("ada", "tok") == 10
    assert again.doc.record() == policy.doc.record()
    # and a record dict loads back too
    assert (await Limitr.new(policy.doc.record(), now=lambda: T0)).doc.record() == policy.doc.record()
    json.dumps(policy.doc.record())  # plain data


# ---- threads and the sync twin ---------------------------------------------------------------


def test_threads_share_one_engine_without_lost_updates(quickstart_text: str) -> None:
    policy = LimitrSync(quickstart_text, "json", now=lambda: T0)
    policy.create_customer("user_starter", "starter")
    events = [0]

    def count(key: str, value: Dict[str, Any]) -> None:
        if key == "meter-changed":
            events[0] += 1

    policy.add_handler("count", count)
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(1000):
            assert policy.allow("user_starter", "ai-chat-input", 1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert policy.value("user_starter", "ai-chat-input") == 8000
    assert events[0] == 8000


def test_sync_twin_has_the_same_methods() -> None:
    from limitr import sync

    assert sync.Limitr is LimitrSync
    public = {n for n in dir(Limitr) if not n.startswith("_")} - {"new", "from_sync", "sync"}
    assert public <= set(dir(LimitrSync))
    policy = sync.Limitr.new(small_policy(), "json", now=lambda: T0)
    policy.create_customer("ada")
    assert policy.allow("ada", "chat", 10) is True
    assert policy.check("ada", "chat", 90, detail=True)["allowed"] is True
    wrapped = Limitr.from_sync(policy)
    assert wrapped.sync is policy and "1 customers" in repr(wrapped)


async def test_async_and_sync_views_share_state() -> None:
    policy = await Limitr.new(small_policy(), now=lambda: T0)
    await policy.create_customer("ada")
    policy.sync.allow("ada", "chat", 7)
    assert await policy.value("ada", "chat") == 7


def test_every_awaitable_has_the_parameters_of_its_sync_twin() -> None:
    """On a network store each awaitable forwards its arguments as they are to the sync method of
    the same name, on a worker thread (limitr/_async.py): both must take the same parameters."""
    import inspect

    from limitr import Limitr, LimitrSync

    def params(f: object) -> list:  # type: ignore[type-arg]
        sig = inspect.signature(f)  # type: ignore[arg-type]
        return [(p.name, p.kind, repr(p.default)) for p in sig.parameters.values() if p.name != "self"]

    names = [n for n, f in vars(Limitr).items() if inspect.iscoroutinefunction(f)]
    assert len(names) > 40
    for name in names:
        assert params(getattr(Limitr, name)) == params(getattr(LimitrSync, name)), name
