"""Limitr: embedded usage and limit enforcement (policies, meters, limits, grants, events).

``from limitr import Limitr``: ``policy = await Limitr.new(text, "json")``, then
``await policy.allow(customer, entitlement, value)``. ``LimitrSync`` (also ``limitr.sync.Limitr``)
has the same methods, synchronous. Errors are :class:`LimitrError` subclasses, one per code.
"""

from __future__ import annotations

from ._async import Limitr
from ._errors import (
    ERRORS,
    AmountOverflowError,
    DocumentTooLargeError,
    FormatUnsupportedError,
    HandlerWarning,
    InvalidArgumentError,
    LimitrError,
    PolicyInvalidError,
    PolicyParseError,
    SerializeError,
    StorageError,
    IdempotencyConflictError,
    UnknownCustomerError,
    UnknownPlanError,
    UnknownTopupError,
    UnknownCreditError,
)
from ._limitr import CODES, Doc, LimitrSync, __version__

__all__ = [
    "Limitr",
    "LimitrSync",
    "Doc",
    "CODES",
    "ERRORS",
    "LimitrError",
    "PolicyInvalidError",
    "PolicyParseError",
    "DocumentTooLargeError",
    "FormatUnsupportedError",
    "InvalidArgumentError",
    "UnknownPlanError",
    "UnknownTopupError",
    "UnknownCreditError",
    "UnknownCustomerError",
    "AmountOverflowError",
    "SerializeError",
    "StorageError",
    "IdempotencyConflictError",
    "HandlerWarning",
    "__version__",
]
