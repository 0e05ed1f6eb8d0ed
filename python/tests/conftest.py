from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "tests" / "policies" / "quickstart.json"


def pytest_report_header() -> str:
    import limitr

    where = Path(limitr.__file__).resolve().parent
    # `just test-python` tests the installed wheel: the package must not come from the source tree
    if os.environ.get("LIMITR_TEST_INSTALLED") and where == ROOT / "python" / "limitr":
        raise pytest.UsageError(f"limitr imported from the source tree ({where}), not the installed wheel")
    return f"limitr {limitr.__version__} from {where}"


@pytest.fixture
def quickstart_text() -> str:
    return QUICKSTART.read_text(encoding="utf-8")
