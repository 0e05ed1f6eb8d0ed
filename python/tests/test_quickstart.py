"""The quick start, translated line by line (python/examples/quickstart.py), prints its figures."""

from __future__ import annotations

import runpy
import subprocess
import sys

import pytest

from conftest import ROOT

EXAMPLE = ROOT / "python" / "examples" / "quickstart.py"

EXPECTED = [
    "Policy loaded. Customers created.",
    "Starter limit: 500000",
    "Growth limit:  700000",
    "✓ Allowed 120,000 input tokens — 380,000 remaining, 54,545 output tokens used",
    "✓ Allowed 95,000 input tokens — 285,000 remaining, 97,726 output tokens used",
    "✓ Allowed 180,000 input tokens — 105,000 remaining, 179,544 output tokens used",
    "✓ Allowed 60,000 input tokens — 45,000 remaining, 206,816 output tokens used",
    "✗ Denied 90,000 tokens — limit exceeded (45,000 remaining)",
    "Customer user_starter hit their limit for ai-chat-input.",
    "Used: 455000 tokens. Total: 500000. Attempted: 545000.",
    "Plan: starter. Credit: Input tokens for Claude Sonnet 4.",
    '  "id": "user_starter",',
    '      "value": 455000,',
    "Usage: 91% of daily token budget",
    "Grant starting value: 10",
    "Grant current value:  5.69",
]


def test_quickstart_prints_the_figures() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE)], check=True, capture_output=True, text=True, encoding="utf-8"
    ).stdout
    lines = out.splitlines()
    at = 0
    for want in EXPECTED:
        assert want in lines[at:], f"missing (in order): {want!r}\n--- output ---\n{out}"
        at = lines.index(want, at) + 1
    # the meter-limit event fires exactly once, the grant meters show 1,778,000 used
    assert out.count("hit their limit") == 1
    assert "'value': 1778000" in out


async def test_quickstart_runs_in_this_loop(capsys: pytest.CaptureFixture[str]) -> None:
    module = runpy.run_path(str(EXAMPLE))
    await module["main"]()
    assert "Grant current value:  5.69" in capsys.readouterr().out


def test_typed_usage_example_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "python" / "examples" / "typed_usage.py")],
        check=True, capture_output=True, text=True,
    ).stdout
    assert out.splitlines() == ["limit hit by ada", "[60, 45.45454545454545, 100, 10, 2]"]
