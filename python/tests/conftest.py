from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "tests" / "policies" / "quickstart.json"


@pytest.fixture
def quickstart_text() -> str:
    return QUICKSTART.read_text(encoding="utf-8")
