"""Durable state through the Python package: a journal directory keeps usage across engines, and
its options are checked where they enter."""

import gc
import pathlib

import pytest

from limitr import Limitr, LimitrError, LimitrSync

ROOT = pathlib.Path(__file__).resolve().parents[2]
QS = (ROOT / "tests" / "policies" / "quickstart.json").read_text()
T0 = 1767225600000


@pytest.mark.parametrize("sync", ["always", "batch", "os"])
async def test_a_blocked_customer_stays_blocked_after_reopening(tmp_path: pathlib.Path, sync: str) -> None:
    first = await Limitr.new(QS, "json", journal=tmp_path, sync=sync, now=lambda: T0)
    await first.create_customer("u1", "starter")
    assert await first.allow("u1", "ai-chat-input", 500000)
    assert not await first.allow("u1", "ai-chat-input", 1)
    del first
    gc.collect()
    again = await Limitr.new(QS, "json", journal=str(tmp_path), sync=sync, now=lambda: T0)
    assert not await again.allow("u1", "ai-chat-input", 1)
    assert await again.remaining("u1", "ai-chat-input") == 0


def test_one_engine_per_directory(tmp_path: pathlib.Path) -> None:
    first = LimitrSync(QS, "json", journal=tmp_path)
    with pytest.raises(LimitrError) as e:
        LimitrSync(QS, "json", journal=tmp_path)
    assert e.value.code == "STORAGE" and "in use" in str(e.value)
    del first
    gc.collect()
    LimitrSync(QS, "json", journal=tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"journal": "/tmp/x", "sync": "sometimes"}, "sync: `sometimes` is not a sync mode"),
        ({"sync": "os"}, "journal options need `journal`"),
    ],
)
def test_bad_options_name_the_option(kwargs: dict, message: str) -> None:
    with pytest.raises(LimitrError) as e:
        LimitrSync(QS, "json", **kwargs)
    assert e.value.code == "INVALID_ARGUMENT"
    assert message in str(e.value)


def test_a_file_in_the_way_is_a_storage_error() -> None:
    with pytest.raises(LimitrError) as e:
        LimitrSync(QS, "json", journal=ROOT / "README.md")
    assert e.value.code == "STORAGE"


async def test_export_and_import_move_a_customer(tmp_path: pathlib.Path) -> None:
    a = await Limitr.new(QS, "json", now=lambda: T0)
    await a.create_customer("u1", "growth")
    assert await a.allow("u1", "ai-chat-input", 650000)
    record = await a.export_customer("u1")
    assert record is not None
    b = await Limitr.new(QS, "json", journal=tmp_path, now=lambda: T0)
    assert not await b.import_customer(record)
    assert await b.export_customer("u1") == record
    del b
    gc.collect()
    c = LimitrSync(QS, "json", journal=tmp_path, now=lambda: T0)
    assert c.export_customer("u1") == record
    assert c.export_customer("nobody") is None
    with pytest.raises(LimitrError) as e:
        c.import_customer({"id": "x", "meters": {"m": {}}})
    assert e.value.code == "INVALID_ARGUMENT" and str(e.value).startswith("record: meters.m")
