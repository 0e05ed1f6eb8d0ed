"""The shared store on Redis through the Python package: engines in several processes enforce one
limit with no overspend, and the store's options are checked where they enter. The module starts
its own redis-server on a free loopback port (with a deadline) and stops it by its pid."""

import asyncio
import pathlib
import socket
import subprocess
import sys
import threading
import time
from typing import Iterator

import pytest

from limitr import Limitr, LimitrError, LimitrSync

ROOT = pathlib.Path(__file__).resolve().parents[2]
QS = (ROOT / "tests" / "policies" / "quickstart.json").read_text()
LIMIT = 500000  # the starter plan's hard daily limit on ai-chat-input

WORKER = """
import sys
from limitr import LimitrSync
doc = open(sys.argv[1]).read()
policy = LimitrSync(doc, "json", store={"redis": sys.argv[2], "prefix": "hammer"})
x = int(sys.argv[3]) | 1
allowed = denied = 0
while denied < 20:
    x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    cost = 1 + (x >> 33) % 5000
    if policy.allow("shared", "ai-chat-input", cost):
        allowed += cost
    else:
        denied += 1
print(allowed)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
            c.sendall(b"PING\r\n")
            return c.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--enable-debug-command", "local"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not pong(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {port} did not answer within 10 s")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait(timeout=10)


async def test_two_engines_share_a_hard_limit(redis_url: str) -> None:
    a = await Limitr.new(QS, "json", store={"redis": redis_url, "prefix": "two"})
    b = await Limitr.new(QS, "json", store={"redis": redis_url, "prefix": "two"})
    await a.create_customer("u", "starter")
    assert await a.allow("u", "ai-chat-input", 400000)
    assert not await b.allow("u", "ai-chat-input", 200000)
    assert await b.allow("u", "ai-chat-input", 100000)
    assert not await a.allow("u", "ai-chat-input", 1)
    assert await a.remaining("u", "ai-chat-input") == 0


def test_four_processes_never_overspend(redis_url: str, tmp_path: pathlib.Path) -> None:
    setup = LimitrSync(QS, "json", store={"redis": redis_url, "prefix": "hammer"})
    setup.create_customer("shared", "starter")
    doc = tmp_path / "policy.json"
    doc.write_text(QS)
    seed = time.time_ns()
    print(f"redis hammer: seed {seed}")
    workers = [
        subprocess.Popen(
            [sys.executable, "-P", "-c", WORKER, str(doc), redis_url, str(seed + i)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    allowed = []
    for w in workers:
        out, _ = w.communicate(timeout=120)
        assert w.returncode == 0, out
        allowed.append(int(out))
    total = sum(allowed)
    print(f"redis hammer: allowed {allowed} = {total} of {LIMIT}")
    assert total <= LIMIT
    assert setup.value("shared", "ai-chat-input") == total
    assert total > LIMIT - 5000


@pytest.mark.parametrize(
    "store, field",
    [
        ({"redis": "http://x"}, "store.redis"),
        ({"redis": "redis://x", "mode": "lease"}, "store.mode"),
        ({"redis": "redis://x", "shards": 2}, "store"),
        ({"redis": "redis://x", "timeout_ms": 0}, "store.timeout_ms"),
    ],
)
def test_store_options_are_checked(store: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(LimitrError) as e:
        LimitrSync(QS, "json", store=store)
    assert e.value.code == "INVALID_ARGUMENT" and str(e.value).startswith(field), str(e.value)


def test_an_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(LimitrError) as e:
        LimitrSync(QS, "json", store={"redis": "redis://127.0.0.1:1", "timeout_ms": 50})
    assert e.value.code == "STORAGE"
    with pytest.raises(LimitrError) as j:
        LimitrSync(QS, "json", store={"redis": "redis://x"}, journal="/tmp/x")
    assert j.value.code == "INVALID_ARGUMENT"


async def test_awaited_calls_on_redis_leave_the_loop_running(redis_url: str) -> None:
    """2,000 awaited calls in flight on a network store: each runs on a worker thread without the
    GIL, so a task ticking every 2 ms keeps ticking; handlers and the clock run on those threads."""
    clock_reads = []

    def now() -> float:
        clock_reads.append(1)
        return time.time() * 1000

    policy = await Limitr.new(QS, "json", store={"redis": redis_url, "prefix": "loop"}, now=now)
    assert policy.sync.network and type(policy).__name__ == "Limitr" and isinstance(policy, Limitr)
    seen: list = []  # type: ignore[type-arg]
    policy.add_handler("h", lambda key, value: seen.append(key), ["meter-changed"])
    await policy.create_customer("u", "starter")
    ticks = 0
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal ticks, worst
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.002)
            t = time.perf_counter()
            ticks += 1
            worst = max(worst, t - last)
            last = t

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    answers = await asyncio.gather(*(policy.allow("u", "ai-chat-input", 1) for _ in range(2000)))
    elapsed = time.perf_counter() - started
    done = True
    await task
    print(f"redis loop: 2,000 awaited allow in {elapsed * 1000:.0f} ms, {ticks} ticks, worst gap {worst * 1000:.1f} ms")
    assert all(answers) and await policy.value("u", "ai-chat-input") == 2000
    assert ticks >= 3
    assert len(seen) == 2000 and clock_reads
    with pytest.raises(LimitrError) as e:  # errors cross the thread as the same classes
        await policy.allow("u", "ai-chat-input", float("nan"))
    assert e.value.code == "INVALID_ARGUMENT"


def test_sync_twins_on_redis_block_their_thread_without_the_gil(redis_url: str) -> None:
    """`LimitrSync` keeps blocking the calling thread for the round trip (documented), with the GIL
    released: while the server sleeps (`DEBUG SLEEP`) and one sync call waits for it, another
    Python thread runs."""
    policy = LimitrSync(QS, "json", store={"redis": redis_url, "prefix": "gil", "timeout_ms": 5000})
    policy.create_customer("u", "starter")
    counted = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal counted
        while not stop.is_set():
            counted += 1

    port = int(redis_url.rsplit(":", 1)[1])
    other = threading.Thread(target=spin)
    other.start()
    try:
        before = counted
        time.sleep(0.3)  # what the other thread counts in 300 ms with the GIL free
        free = counted - before
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"DEBUG SLEEP 0.3\r\n")
            time.sleep(0.02)  # the server is asleep now
            started = time.perf_counter()
            before = counted
            assert policy.allow("u", "ai-chat-input", 1)
            during, waited = counted - before, time.perf_counter() - started
            assert c.recv(16).startswith(b"+OK")
    finally:
        stop.set()
        other.join(timeout=10)
    print(f"redis gil: a sync allow waited {waited * 1000:.0f} ms; another thread counted {during} meanwhile ({free} in 300 ms free)")
    # holding the GIL for the wait, the other thread would count for one switch interval (5 ms)
    assert waited > 0.1 and during > 0.2 * free * waited / 0.3
