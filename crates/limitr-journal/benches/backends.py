"""The choice of the journal's backing store, measured: appending one ~490-byte record per call
(the size of a quick-start customer's post-image) to a CRC-framed file vs committing it as a row
upsert in SQLite (WAL), both without fsync (the `os` mode) and with one (the `always` mode, one
commit per call). `python3 crates/limitr-journal/benches/backends.py` prints µs per record."""

import os
import sqlite3
import tempfile
import time
import zlib

N = 20000
RECORD = b'{"id":"c17","plan":"growth",' + b"x" * 460 + b"}"


def framed(path: str, fsync: bool, n: int) -> float:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = time.perf_counter()
    for i in range(n):
        frame = len(RECORD).to_bytes(4, "little") + zlib.crc32(RECORD).to_bytes(4, "little") + RECORD
        os.write(fd, frame)
        if fsync:
            os.fdatasync(fd)
    elapsed = time.perf_counter() - start
    os.close(fd)
    return elapsed / n * 1e6


def sqlite(path: str, synchronous: str, n: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("CREATE TABLE customers (id TEXT PRIMARY KEY, record BLOB)")
    start = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO customers VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET record = excluded.record",
            (f"c{i % 100}", RECORD),
        )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed / n * 1e6


with tempfile.TemporaryDirectory() as d:
    print(f"framed file, no fsync:          {framed(os.path.join(d, 'a.log'), False, N):7.2f} µs/record")
    print(f"sqlite WAL, synchronous=OFF:    {sqlite(os.path.join(d, 'a.db'), 'OFF', N):7.2f} µs/record")
    print(f"sqlite WAL, synchronous=NORMAL: {sqlite(os.path.join(d, 'b.db'), 'NORMAL', N):7.2f} µs/record")
    print(f"framed file, fdatasync each:    {framed(os.path.join(d, 'b.log'), True, N // 20):7.2f} µs/record")
    print(f"sqlite WAL, synchronous=FULL:   {sqlite(os.path.join(d, 'c.db'), 'FULL', N // 20):7.2f} µs/record")
