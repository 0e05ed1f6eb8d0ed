"""Exceptions: one ``LimitrError`` subclass per stable engine code, and the handler warning."""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Type

__all__ = [
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
    "HandlerWarning",
    "ERRORS",
]


class LimitrError(Exception):
    """The engine could not evaluate a request. ``code`` is the stable code (``UNKNOWN_PLAN``, …).

    A denial is not an error: ``allow`` returning ``False`` is a normal answer.
    """

    code: str = "LIMITR_ERROR"
    #: For ``POLICY_INVALID``: every problem, as ``{"path", "code", "message"}`` dicts.
    issues: List[Dict[str, str]]

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        issues: Optional[List[Dict[str, str]]] = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.issues = list(issues or [])


class PolicyInvalidError(LimitrError, ValueError):
    """``POLICY_INVALID``: the document failed validation; ``issues`` lists every problem."""

    code = "POLICY_INVALID"


class PolicyParseError(LimitrError, ValueError):
    """``POLICY_PARSE``: the text could not be parsed in the declared format."""

    code = "POLICY_PARSE"


class DocumentTooLargeError(LimitrError, ValueError):
    """``DOCUMENT_TOO_LARGE``: the document is over the maximum size."""

    code = "DOCUMENT_TOO_LARGE"


class FormatUnsupportedError(LimitrError, ValueError):
    """``FORMAT_UNSUPPORTED``: the format is not json, yaml or toml."""

    code = "FORMAT_UNSUPPORTED"


class InvalidArgumentError(LimitrError, ValueError, TypeError):
    """``INVALID_ARGUMENT``: an empty id, a NaN or infinite amount, an argument of the wrong type
    (also a ``TypeError``), … The message starts with the argument's name. Nothing changed."""

    code = "INVALID_ARGUMENT"


class UnknownPlanError(LimitrError, LookupError):
    """``UNKNOWN_PLAN``: the plan does not exist in the policy."""

    code = "UNKNOWN_PLAN"


class UnknownTopupError(LimitrError, LookupError):
    """``UNKNOWN_TOPUP``: the customer's plan has no such top-up."""

    code = "UNKNOWN_TOPUP"


class UnknownCreditError(LimitrError, LookupError):
    """``UNKNOWN_CREDIT``: an override or cap names a credit the policy lacks (``strict`` only)."""

    code = "UNKNOWN_CREDIT"


class UnknownCustomerError(LimitrError, LookupError):
    """``UNKNOWN_CUSTOMER``: a customer was required and does not exist."""

    code = "UNKNOWN_CUSTOMER"


class AmountOverflowError(LimitrError, OverflowError):
    """``OVERFLOW``: an amount is too large for exact decimal arithmetic."""

    code = "OVERFLOW"


class SerializeError(LimitrError):
    """``SERIALIZE``: the document could not be written in the requested format."""

    code = "SERIALIZE"


class IdempotencyConflictError(LimitrError):
    """``IDEMPOTENCY_CONFLICT``: an idempotency key was used again with other arguments. Nothing
    changed."""

    code = "IDEMPOTENCY_CONFLICT"


class StorageError(LimitrError):
    """``STORAGE``: the journal could not be opened, read or written (a damaged journal names its
    file and byte offset). The call that met it changed nothing."""

    code = "STORAGE"


#: The exception class for each engine code.
ERRORS: Dict[str, Type[LimitrError]] = {
    cls.code: cls
    for cls in (
        PolicyInvalidError,
        PolicyParseError,
        DocumentTooLargeError,
        FormatUnsupportedError,
        InvalidArgumentError,
        UnknownPlanError,
        UnknownTopupError,
        UnknownCreditError,
        UnknownCustomerError,
        AmountOverflowError,
        SerializeError,
        StorageError,
        IdempotencyConflictError,
    )
}


def error_for(code: str, message: str, issues: List[Dict[str, str]]) -> LimitrError:
    """The exception for an engine error (called by the extension)."""
    cls = ERRORS.get(code, LimitrError)
    return cls(message, code=code, issues=issues)


class HandlerWarning(RuntimeWarning):
    """An event handler raised. The call that sent the event stands; other handlers still ran.

    ``handler`` is the handler's name, ``event`` the event's name, ``error`` the exception.
    """

    def __init__(self, handler: str, event: str, error: BaseException) -> None:
        super().__init__(f"limitr handler `{handler}` raised on `{event}`: {error!r}")
        self.handler = handler
        self.event = event
        self.error = error


def handler_failed(handler: str, event: str, error: Any) -> None:
    """Reports a raising handler as a :class:`HandlerWarning` (called by the extension)."""
    warnings.warn(HandlerWarning(handler, event, error), stacklevel=2)
