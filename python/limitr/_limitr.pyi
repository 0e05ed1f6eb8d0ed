"""The compiled extension (pyo3 over limitr-core). Use it through ``limitr``."""

from decimal import Decimal
import os
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Tuple, Union, final

_Number = Union[int, float, Decimal]
_Amount = Union[int, float, Decimal, str]
_Record = Dict[str, Any]
_Ids = Union[List[str], Tuple[str, ...]]
_Usage = Union[_Number, Mapping[str, Optional[_Number]]]

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
        journal: Optional[Union[str, os.PathLike[str]]] = None,
        sync: Optional[Literal["always", "batch", "os"]] = None,
        sync_ms: Optional[int] = None,
        snapshot_every: Optional[int] = None,
        max_document_bytes: Optional[int] = None,
        idempotency_ttl_ms: Optional[int] = None,
        store: Optional[Mapping[str, Any]] = None,
        strict: bool = False,
    ) -> LimitrSync: ...
    @staticmethod
    def new(
        doc: Union[str, Mapping[str, Any]],
        format: str = "json",
        *,
        now: Optional[Callable[[], float]] = None,
        journal: Optional[Union[str, os.PathLike[str]]] = None,
        sync: Optional[Literal["always", "batch", "os"]] = None,
        sync_ms: Optional[int] = None,
        snapshot_every: Optional[int] = None,
        max_document_bytes: Optional[int] = None,
        idempotency_ttl_ms: Optional[int] = None,
        store: Optional[Mapping[str, Any]] = None,
        strict: bool = False,
    ) -> LimitrSync: ...
    @property
    def network(self) -> bool: ...
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
        idempotency_key: Optional[str] = None,
    ) -> _Record: ...
    def ensure_customer(self, id: str, plan: Optional[str] = None) -> bool: ...
    def customer(self, id: str) -> Optional[_Record]: ...
    def export_customer(self, id: str) -> Optional[_Record]: ...
    def import_customer(self, record: Mapping[str, Any]) -> bool: ...
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
    def ensure_included_topups(self, id: str, *, events: bool = True) -> bool: ...
    def add_customer_cap(
        self,
        id: str,
        value: _Number,
        *,
        cap_id: Optional[str] = None,
        credit: Optional[str] = None,
        exchangeable: Optional[bool] = None,
        ignore_grants: bool = False,
        overage_only: bool = False,
        observe_only: bool = False,
        overhead_cost: bool = False,
        follow_decrements: bool = False,
        hard_trailing: bool = False,
        shared: bool = False,
        shared_with: Optional[_Ids] = None,
        scope: Optional[_Ids] = None,
        resets: bool = False,
        reset_inc: Optional[Union[str, int]] = None,
        reset_sch: Optional[str] = None,
        expires_on: Optional[int] = None,
        events: bool = True,
    ) -> Optional[_Record]: ...
    def customer_cap(self, id: str, cap_id: str) -> Optional[_Record]: ...
    def reset_customer_cap(self, id: str, cap_id: str) -> bool: ...
    def remove_customer_cap(self, id: str, cap_id: str, *, events: bool = True) -> bool: ...
    def allow(
        self,
        customer: str,
        entitlement: str,
        value: _Amount = 0,
        *,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
        caps: Optional[Mapping[str, _Number]] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool: ...
    def check(
        self,
        customer: str,
        entitlement: str,
        value: _Amount = 0,
        *,
        detail: bool = False,
        overhead: Optional[_Number] = None,
        caps: Optional[Mapping[str, _Number]] = None,
    ) -> Any: ...
    def check_increment(self, customer: str, entitlement: str) -> bool: ...
    def cost(self, id: str, entitlement: str) -> Optional[_Number]: ...
    def increment(
        self,
        customer: str,
        entitlement: str,
        *,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool: ...
    def decrement(
        self,
        customer: str,
        entitlement: str,
        *,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool: ...
    def set(
        self,
        customer: str,
        entitlement: str,
        value: _Amount,
        *,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool: ...
    def value(
        self, customer: str, entitlement: str, percent: bool = False, *, grants: bool = True
    ) -> Optional[float]: ...
    def remaining(
        self, customer: str, entitlement: str, percent: bool = False, *, grants: bool = True
    ) -> Optional[float]: ...
    def limit(self, id: str, entitlement: str, *, grants: bool = True) -> Optional[float]: ...
    def resets(self, customer: str, entitlement: str) -> Optional[int]: ...
    def reserve(
        self,
        customer: str,
        entitlement: str,
        value: Optional[_Amount] = None,
        *,
        ttl: Optional[int] = None,
        quantile: Optional[float] = None,
        basis: Optional[float] = None,
        segment: Optional[str] = None,
        overhead: Optional[_Number] = None,
        event: Optional[Mapping[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> Optional[str]: ...
    def settle(
        self,
        customer: str,
        entitlement: str,
        hold: str,
        value: _Amount = 0,
        *,
        final: bool = True,
        event: Union[bool, Mapping[str, Any]] = True,
        overhead: Optional[_Number] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool: ...
    def release(
        self, customer: str, entitlement: str, hold: str, *, idempotency_key: Optional[str] = None
    ) -> bool: ...
    def held(self, customer: str, entitlement: str) -> Optional[float]: ...
    def observe(
        self,
        customer: str,
        entitlement: str,
        value: _Amount,
        *,
        overhead: Optional[_Number] = None,
        basis: Optional[float] = None,
        segment: Optional[str] = None,
        event: Optional[Mapping[str, Any]] = None,
    ) -> bool: ...
    def estimate(
        self,
        customer: str,
        entitlement: str,
        *,
        quantile: float = 0.9,
        basis: Optional[float] = None,
        segment: Optional[str] = None,
    ) -> Optional[_Record]: ...
    def rate(self, customer: str, entitlement: str, smoothed: bool = False) -> float: ...
    def acceleration(self, customer: str, entitlement: str) -> float: ...
    def projected_exhaustion(
        self, customer: str, entitlement: str, smoothed: bool = False, grants: bool = True
    ) -> Optional[int]: ...
    def allowance(self, customer: str, entitlement: str, grants: bool = True) -> Optional[float]: ...
    def customer_margin(self, customer: str) -> Optional[_Record]: ...
    def plan_margin(self, plan: str, usage: Mapping[str, _Usage], scaled: bool = True) -> _Record: ...
    def apply_customer_topup(
        self, customer: str, topup: str, *, idempotency_key: Optional[str] = None
    ) -> bool: ...
    def remaining_credit(self, customer: str, credit: str) -> Optional[float]: ...
    def credit_exchange(self, from_: str, to: str = "rune", value: _Number = 1) -> Optional[float]: ...
    def add_handler(
        self,
        name: str,
        fn: Callable[[str, Dict[str, Any]], object],
        events: Optional[List[str]] = None,
    ) -> None: ...
    def remove_handler(self, name: str) -> bool: ...
    def clear_handlers(self) -> None: ...
    def lint(self) -> List[Dict[str, str]]: ...
