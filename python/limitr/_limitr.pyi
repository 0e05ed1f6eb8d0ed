"""The compiled extension (pyo3 over limitr-core). Use it through ``limitr``."""

from decimal import Decimal
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union, final

_Number = Union[int, float, Decimal]
_Record = Dict[str, Any]
_Ids = Union[List[str], Tuple[str, ...]]

__all__ = ["LimitrSync", "Doc", "CODES", "__version__"]

CODES: List[str]
__version__: str

@final
class Doc:
    def record(self) -> _Record: ...
    def stringify(self, format: str = "json") -> str: ...

@final
class LimitrSync:
    def __new__(
        cls,
        doc: Union[str, Mapping[str, Any]],
        format: str = "json",
        *,
        now: Optional[Callable[[], float]] = None,
    ) -> LimitrSync: ...
    @staticmethod
    def new(
        doc: Union[str, Mapping[str, Any]],
        format: str = "json",
        *,
        now: Optional[Callable[[], float]] = None,
    ) -> LimitrSync: ...
    @property
    def doc(self) -> Doc: ...
    def create_customer(
        self,
        id: str,
        plan: Optional[str] = None,
        *,
        type: Optional[str] = None,
        label: Optional[str] = None,
        refs: Optional[_Ids] = None,
        alt_ids: Optional[_Ids] = None,
        metadata: Optional[Dict[str, Any]] = None,
    ) -> _Record: ...
    def ensure_customer(self, id: str, plan: Optional[str] = None) -> bool: ...
    def customer(self, id: str) -> Optional[_Record]: ...
    def customers(self) -> Dict[str, _Record]: ...
    def remove_customer(self, id: str) -> bool: ...
    def set_customer_plan(self, id: str, plan: str, reset_meters: bool = False) -> bool: ...
    def add_alt_id(self, id: str, alt: str) -> bool: ...
    def create_customer_override(
        self,
        id: str,
        entitlement: str,
        fields: Dict[str, Any],
        expires_on: Optional[int] = None,
    ) -> bool: ...
    def remove_customer_override(self, id: str, entitlement: str) -> bool: ...
    def ensure_plan_subscription(self, id: str) -> bool: ...
    def allow(
        self,
        customer: str,
        entitlement: str,
        value: _Number = 0,
        *,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
    ) -> bool: ...
    def check(
        self,
        customer: str,
        entitlement: str,
        value: _Number = 0,
        *,
        detail: bool = False,
        overhead: Optional[_Number] = None,
    ) -> Any: ...
    def increment(
        self,
        customer: str,
        entitlement: str,
        *,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
    ) -> bool: ...
    def decrement(
        self,
        customer: str,
        entitlement: str,
        *,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
    ) -> bool: ...
    def set(
        self,
        customer: str,
        entitlement: str,
        value: _Number,
        *,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
    ) -> bool: ...
    def value(
        self, customer: str, entitlement: str, percent: bool = False, *, grants: bool = True
    ) -> Optional[float]: ...
    def remaining(
        self, customer: str, entitlement: str, percent: bool = False, *, grants: bool = True
    ) -> Optional[float]: ...
    def limit(self, id: str, entitlement: str, *, grants: bool = True) -> Optional[float]: ...
    def resets(self, customer: str, entitlement: str) -> Optional[int]: ...
    def apply_customer_topup(self, customer: str, topup: str) -> bool: ...
    def remaining_credit(self, customer: str, credit: str) -> Optional[float]: ...
    def credit_exchange(self, from_: str, to: str = "rune", value: _Number = 1) -> Optional[float]: ...
    def add_handler(self, name: str, fn: Callable[[str, Dict[str, Any]], object]) -> None: ...
    def remove_handler(self, name: str) -> bool: ...
    def clear_handlers(self) -> None: ...
    def lint(self) -> List[Dict[str, str]]: ...
