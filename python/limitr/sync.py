"""The synchronous API: ``from limitr.sync import Limitr`` for code without an event loop.

The same engine and methods as :class:`limitr.Limitr`, returning values instead of awaitables.
"""

from __future__ import annotations

from ._errors import LimitrError
from ._limitr import Doc, LimitrSync

Limitr = LimitrSync

__all__ = ["Limitr", "LimitrSync", "Doc", "LimitrError"]
