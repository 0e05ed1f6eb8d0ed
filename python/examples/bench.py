"""Operations per second of `allow` through the Python package (run by `just bench-python`).

Sync (`LimitrSync.allow`) and awaited (`await Limitr.allow`), on one warm customer and spread over
100,000 customers, with no handler registered. Prints one line per case, best of a few rounds.
Targets (issue 4): >= 3M sync and >= 1.5M awaited allow/s, checked on the warm customer (the
binding's per-call cost); over 100,000 customers each call also waits for one memory load (the
customer is out of cache), whose cost the README's "Measured" section gives for this machine.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from limitr import Limitr, LimitrSync

POLICY = Path(__file__).resolve().parents[2] / "tests" / "policies" / "quickstart.json"
N = 1_000_000
CUSTOMERS = 100_000
ROUNDS = 3


def best(run: Callable[[], float]) -> float:
    return max(run() for _ in range(ROUNDS))


def sync_warm(p: LimitrSync) -> float:
    allow = p.allow
    t = time.perf_counter()
    for _ in range(N):
        allow("c0", "ai-chat-input", 1)
    return N / (time.perf_counter() - t)


def sync_many(p: LimitrSync, ids: List[str]) -> float:
    allow = p.allow
    t = time.perf_counter()
    for i in ids:
        allow(i, "ai-chat-input", 1)
    return len(ids) / (time.perf_counter() - t)


async def async_warm(p: Limitr) -> float:
    allow = p.allow
    t = time.perf_counter()
    for _ in range(N):
        await allow("c0", "ai-chat-input", 1)
    return N / (time.perf_counter() - t)


async def async_many(p: Limitr, ids: List[str]) -> float:
    allow = p.allow
    t = time.perf_counter()
    for i in ids:
        await allow(i, "ai-chat-input", 1)
    return len(ids) / (time.perf_counter() - t)


def loop_only() -> float:
    t = time.perf_counter()
    for _ in range(N):
        pass
    return N / (time.perf_counter() - t)


def main() -> None:
    text = POLICY.read_text(encoding="utf-8")
    # a big limit so every call is allowed and meters (the common path)
    text = text.replace('"value": 500000', '"value": 1000000000000')
    p = LimitrSync(text, "json")
    for i in range(CUSTOMERS):
        p.create_customer(f"c{i}", "starter")
    ids = [f"c{i}" for i in range(CUSTOMERS)] * (N // CUSTOMERS)
    a = Limitr.from_sync(p)
    rows = [
        ("empty Python loop (reference)", best(loop_only), None),
        ("sync allow, warm customer", best(lambda: sync_warm(p)), 3e6),
        (f"sync allow, over {CUSTOMERS:,} customers", best(lambda: sync_many(p, ids)), None),
        ("awaited allow, warm customer", best(lambda: asyncio.run(async_warm(a))), 1.5e6),
        (f"awaited allow, over {CUSTOMERS:,} customers", best(lambda: asyncio.run(async_many(a, ids))), None),
    ]
    # handlers on a warm customer: none, one listening to `meter-limit` only (target 0.8x of none:
    # such a call builds no event), a no-op one receiving every event (target 0.2x of none)
    handlers: List[Tuple[str, Optional[List[str]]]] = [
        ("no handler", None),
        ("handler on meter-limit", ["meter-limit"]),
        ("no-op handler, all events", None),
    ]
    figures: List[float] = []
    for i, (label, events) in enumerate(handlers):
        h = LimitrSync(text, "json")
        h.create_customer("c0", "starter")
        if i > 0:
            h.add_handler("h", lambda key, value: None, events)
        figures.append(best(lambda: sync_warm(h)))  # noqa: B023 (run right here)
        ratio = f" = {figures[-1] / figures[0]:.2f}x no handler" if i > 0 else ""
        rows.append((f"sync allow, warm, {label}{ratio}", figures[-1], None))
    print(f"limitr Python bench, CPython {sys.version.split()[0]}, {N:,} calls per round, best of {ROUNDS}")
    for name, ops, target in rows:
        mark = (
            f"  (target {target / 1e6:.1f}M: {'met' if ops >= target else 'MISSED'})"
            if target is not None
            else "  (customers out of cache: one memory load per call, see README 'Measured')"
            if "customers" in name
            else ""
        )
        print(f"{name:<44} {ops / 1e6:6.2f}M ops/s  {1e9 / ops:7.0f} ns/op{mark}")


if __name__ == "__main__":
    main()
