"""The awaitable ``Limitr``: a thin ``async def`` layer over :class:`LimitrSync`.

On memory or a journal every method runs the engine call on the caller's thread and returns:
awaiting costs a coroutine step, never a thread hop (the call takes well under a microsecond). On
a network store (``store={"redis": url}``) each call waits for a round trip, so the engine is given
the class made by :func:`_off_loop`, whose awaitables run the same sync call on a worker thread
(``asyncio.to_thread``; the extension releases the GIL for the round trip): the asyncio loop keeps
running meanwhile. Each awaitable has the name and the parameters of its sync twin
(``tests/test_api.py`` checks it), which is what lets one generic method stand for all of them.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
import functools
import inspect
import os
import types
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Tuple, Type, Union

from ._limitr import Doc, LimitrSync

Number = Union[int, float, Decimal]
Amount = Union[int, float, Decimal, str]
Record = Dict[str, Any]
Handler = Callable[[str, Dict[str, Any]], object]
Clock = Callable[[], float]
EventArg = Union[bool, Mapping[str, Any]]
Ids = Union[List[str], Tuple[str, ...]]
Usage = Union[Number, Mapping[str, Optional[Number]]]

__all__ = ["Limitr"]


class Limitr:
    """A Limitr engine with awaitable methods.

    ``policy = await Limitr.new(text, "json")``; ``policy.sync`` is the same engine, synchronous.
    """

    __slots__ = ("_sync", "_allow", "_check", "_value", "_remaining")

    def __init__(
        self,
        doc: Union[str, Mapping[str, Any]],
        format: str = "json",
        *,
        now: Optional[Clock] = None,
        journal: Optional[Union[str, os.PathLike[str]]] = None,
        sync: Optional[Literal["always", "batch", "os"]] = None,
        sync_ms: Optional[int] = None,
        snapshot_every: Optional[int] = None,
        max_document_bytes: Optional[int] = None,
        idempotency_ttl_ms: Optional[int] = None,
        store: Optional[Mapping[str, Any]] = None,
        strict: bool = False,
    ) -> None:
        self._bind(
            LimitrSync(
                doc,
                format,
                now=now,
                journal=journal,
                sync=sync,
                sync_ms=sync_ms,
                snapshot_every=snapshot_every,
                max_document_bytes=max_document_bytes,
                idempotency_ttl_ms=idempotency_ttl_ms,
                store=store,
                strict=strict,
            )
        )

    def _bind(self, engine: LimitrSync) -> None:
        if engine.network:
            self.__class__ = _off_loop(type(self))
        self._sync = engine
        self._allow = engine.allow
        self._check = engine.check
        self._value = engine.value
        self._remaining = engine.remaining

    @classmethod
    async def new(
        cls,
        doc: Union[str, Mapping[str, Any]],
        format: str = "json",
        *,
        now: Optional[Clock] = None,
        journal: Optional[Union[str, os.PathLike[str]]] = None,
        sync: Optional[Literal["always", "batch", "os"]] = None,
        sync_ms: Optional[int] = None,
        snapshot_every: Optional[int] = None,
        max_document_bytes: Optional[int] = None,
        idempotency_ttl_ms: Optional[int] = None,
        store: Optional[Mapping[str, Any]] = None,
        strict: bool = False,
    ) -> Limitr:
        """Loads a policy from text in ``format`` (json, yaml, toml) or from a ``dict``.

        ``now``: optional callable returning epoch milliseconds, for tests and simulations, read
        once before each call: what it raises is the call's exception, and a NaN, an infinity or
        a non-number is :class:`InvalidArgumentError` naming ``now`` (nothing changed).
        ``journal``: a directory for durable state: on open every customer is restored from it,
        then the document's rules apply; every change is appended before its call returns, so a
        crash (even SIGKILL) loses no acknowledged change. ``sync``: when it fsyncs (``always``
        before each call returns, ``batch`` every ``sync_ms`` (default 5), ``os`` left to the OS;
        default ``batch``). ``snapshot_every``: records between snapshots (default 1,000,000).
        ``max_document_bytes``: the largest document text accepted (default 32 MiB).
        ``idempotency_ttl_ms``: how long an idempotency key answers its retries (default: the
        policy's ``idempotency_ttl``, else 24 h). ``store``: a shared store instead of memory or
        a journal, ``{"redis": "redis://127.0.0.1:6379", "prefix": "limitr", "timeout_ms":
        250}``: every engine on the same server and prefix enforces the same limits. Each call is
        one round trip to Redis: the awaitables (this one too) run it on a worker thread, so the
        asyncio loop keeps running; the sync twins (:attr:`sync`) block their thread for it
        (with the GIL released).
        ``strict``: unknown references raise (``UnknownPlanError``, ``UnknownTopupError``,
        ``UnknownCreditError``) instead of answering False / None.
        """
        if store is not None:
            # opening a network store connects and reads: off the loop, like its calls
            return await asyncio.to_thread(
                cls,
                doc,
                format,
                now=now,
                journal=journal,
                sync=sync,
                sync_ms=sync_ms,
                snapshot_every=snapshot_every,
                max_document_bytes=max_document_bytes,
                idempotency_ttl_ms=idempotency_ttl_ms,
                store=store,
                strict=strict,
            )
        return cls(
            doc,
            format,
            now=now,
            journal=journal,
            sync=sync,
            sync_ms=sync_ms,
            snapshot_every=snapshot_every,
            max_document_bytes=max_document_bytes,
            idempotency_ttl_ms=idempotency_ttl_ms,
            store=store,
            strict=strict,
        )

    @classmethod
    def from_sync(cls, engine: LimitrSync) -> Limitr:
        """Wraps an existing synchronous engine (both then share the same state)."""
        self = cls.__new__(cls)
        self._bind(engine)
        return self

    @property
    def sync(self) -> LimitrSync:
        """The same engine with synchronous methods."""
        return self._sync

    @property
    def doc(self) -> Doc:
        """The document: ``doc.record()`` (a dict) and ``doc.stringify("yaml")``."""
        return self._sync.doc

    def __repr__(self) -> str:
        return repr(self._sync).replace("LimitrSync", "Limitr", 1)

    # ---- customers -------------------------------------------------------------------------

    async def create_customer(
        self,
        id: str,
        plan: Optional[str] = None,
        *,
        type: Optional[str] = None,
        label: Optional[str] = None,
        refs: Optional[Ids] = None,
        alt_ids: Optional[Ids] = None,
        metadata: Optional[Dict[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> Record:
        """Creates (or updates) a customer; returns its record.

        ``plan``: None inherits it through ``refs``, else the default plan. ``type``/``label``
        describe the customer (``user``/``User`` by default), ``refs`` are related customers
        (user → team → org, for scoped entitlements), ``alt_ids`` other ids it answers to.
        ``idempotency_key``: see :meth:`allow`.
        """
        return self._sync.create_customer(
            id,
            plan,
            type=type,
            label=label,
            refs=refs,
            alt_ids=alt_ids,
            metadata=metadata,
            idempotency_key=idempotency_key,
        )

    async def ensure_customer(self, id: str, plan: Optional[str] = None) -> bool:
        """Creates the customer if missing; True if it was created."""
        return self._sync.ensure_customer(id, plan)

    async def customer(self, id: str) -> Optional[Record]:
        """A customer's record (``{id, plan, meters, grants, …}``), or None."""
        return self._sync.customer(id)

    async def export_customer(self, id: str) -> Optional[Record]:
        """One customer's whole record (meters, holds, grants, caps, idempotency keys), to move it
        to another engine with :meth:`import_customer`; None for an unknown customer."""
        return self._sync.export_customer(id)

    async def import_customer(self, record: Mapping[str, Any]) -> bool:
        """Puts an exported customer record into this engine, replacing one of the same id
        (validated against this engine's policy); True if it replaced one."""
        return self._sync.import_customer(record)

    async def customers(self) -> Dict[str, Record]:
        """Every customer's record, by id."""
        return self._sync.customers()

    async def remove_customer(self, id: str) -> bool:
        """Removes a customer; True if it existed."""
        return self._sync.remove_customer(id)

    async def set_customer_plan(self, id: str, plan: str, reset_meters: bool = False) -> bool:
        """Moves a customer to ``plan`` (meters kept unless ``reset_meters``)."""
        return self._sync.set_customer_plan(id, plan, reset_meters)

    async def add_alt_id(self, id: str, alt: str) -> bool:
        """Adds an alternative id; False when the customer is unknown or ``alt`` is taken."""
        return self._sync.add_alt_id(id, alt)

    async def create_customer_override(
        self, id: str, entitlement: str, fields: Dict[str, Any], expires_on: Optional[int] = None
    ) -> bool:
        """Overrides a customer's limit of ``entitlement`` with ``fields`` (``value``, ``mode``, …;
        the rest inherited from the plan limit) until ``expires_on`` (epoch ms). False for an
        unknown customer; a bad field raises :class:`InvalidArgumentError`."""
        return self._sync.create_customer_override(id, entitlement, fields, expires_on)

    async def remove_customer_override(self, id: str, entitlement: str) -> bool:
        """Removes a customer's override of ``entitlement``; True if there was one."""
        return self._sync.remove_customer_override(id, entitlement)

    async def ensure_plan_subscription(self, id: str) -> bool:
        """Charges the plan's subscription once per period, after the trial; True when it charged."""
        return self._sync.ensure_plan_subscription(id)

    async def ensure_included_topups(self, id: str, *, events: bool = True) -> bool:
        """Reconciles the customer's included top-ups with its plan; True when its grants changed."""
        return self._sync.ensure_included_topups(id, events=events)

    # ---- spend caps ------------------------------------------------------------------------

    async def add_customer_cap(
        self,
        id: str,
        value: Number,
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
        shared_with: Optional[Ids] = None,
        scope: Optional[Ids] = None,
        resets: bool = False,
        reset_inc: Optional[Union[str, int]] = None,
        reset_sch: Optional[str] = None,
        expires_on: Optional[int] = None,
        events: bool = True,
    ) -> Optional[Record]:
        """Adds a spend cap: at most ``value`` of ``credit`` (``rune`` by default, or a currency
        or credit). Returns the cap's record; None for an unknown customer or a taken ``cap_id``.

        ``exchangeable``: count other credits through the exchange; ``ignore_grants``,
        ``overage_only``, ``overhead_cost``: what counts; ``observe_only``: never deny;
        ``shared``/``shared_with``: apply to customers whose refs reach this one; ``scope``: the
        entitlements it applies to; ``resets``/``reset_inc``/``reset_sch``: periodic reset;
        ``expires_on``: epoch ms; ``events``: False sends neither ``customer-cap-added`` nor
        ``customer-set``.
        """
        return self._sync.add_customer_cap(
            id,
            value,
            cap_id=cap_id,
            credit=credit,
            exchangeable=exchangeable,
            ignore_grants=ignore_grants,
            overage_only=overage_only,
            observe_only=observe_only,
            overhead_cost=overhead_cost,
            follow_decrements=follow_decrements,
            hard_trailing=hard_trailing,
            shared=shared,
            shared_with=shared_with,
            scope=scope,
            resets=resets,
            reset_inc=reset_inc,
            reset_sch=reset_sch,
            expires_on=expires_on,
            events=events,
        )

    async def customer_cap(self, id: str, cap_id: str) -> Optional[Record]:
        """A cap's record as it is now; None for no such customer or cap (or an expired cap)."""
        return self._sync.customer_cap(id, cap_id)

    async def reset_customer_cap(self, id: str, cap_id: str) -> bool:
        """Zeroes a cap's consumption and starts a new period; True if the cap exists."""
        return self._sync.reset_customer_cap(id, cap_id)

    async def remove_customer_cap(self, id: str, cap_id: str, *, events: bool = True) -> bool:
        """Removes a cap; True if it existed."""
        return self._sync.remove_customer_cap(id, cap_id, events=events)

    # ---- metering --------------------------------------------------------------------------

    async def allow(
        self,
        customer: str,
        entitlement: str,
        value: Amount = 0,
        *,
        event: EventArg = True,
        overhead: Optional[Number] = None,
        caps: Optional[Mapping[str, Number]] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool:
        """Meters ``value`` if the policy allows it; False when denied (or unknown).

        ``value``: a number, or text the engine reads for this entitlement (``"500MB"``,
        ``"1.5min"`` for credits kept in a size or time unit; a bad unit is INVALID_ARGUMENT).

        ``event``: False sends no events; a dict is attached to the events as ``event_data``.
        ``overhead``: the provider cost of this call in runes. ``caps``: spend caps for this
        call only, ``{credit or currency: ceiling}``.

        ``idempotency_key`` (on every mutating call): a retry with the same key for the same
        customer within the idempotency TTL (the policy's ``idempotency_ttl``, default 24 h)
        returns the first call's answer, changes nothing and fires no event; the same key with
        other arguments raises ``IdempotencyConflictError``. Keys are part of the customer's
        state (journaled, exported).
        """
        if event is True and overhead is None and caps is None and idempotency_key is None:
            return self._allow(customer, entitlement, value)
        return self._allow(
            customer,
            entitlement,
            value,
            event=event,
            overhead=overhead,
            caps=caps,
            idempotency_key=idempotency_key,
        )

    async def check(
        self,
        customer: str,
        entitlement: str,
        value: Amount = 0,
        *,
        detail: bool = False,
        overhead: Optional[Number] = None,
        caps: Optional[Mapping[str, Number]] = None,
    ) -> Any:
        """Whether ``allow`` would pass, changing nothing. With ``detail=True``, a dict
        ``{allowed, reason, remaining, resets, retry_after}``; ``caps``: call-scoped caps as for
        ``allow``."""
        return self._check(customer, entitlement, value, detail=detail, overhead=overhead, caps=caps)

    async def check_increment(self, customer: str, entitlement: str) -> bool:
        """Whether ``increment`` would pass, changing nothing; False when there is no limit."""
        return self._sync.check_increment(customer, entitlement)

    async def cost(self, id: str, entitlement: str) -> Optional[Number]:
        """The limit's ``increment`` (1 by default); None without a limit. ``id`` may be a plan."""
        return self._sync.cost(id, entitlement)

    async def increment(
        self,
        customer: str,
        entitlement: str,
        *,
        event: EventArg = True,
        overhead: Optional[Number] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool:
        """Meters the limit's ``increment`` (1 by default)."""
        return self._sync.increment(
            customer, entitlement, event=event, overhead=overhead, idempotency_key=idempotency_key
        )

    async def decrement(
        self,
        customer: str,
        entitlement: str,
        *,
        event: EventArg = True,
        overhead: Optional[Number] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool:
        """Meters minus the limit's ``increment``."""
        return self._sync.decrement(
            customer, entitlement, event=event, overhead=overhead, idempotency_key=idempotency_key
        )

    async def set(
        self,
        customer: str,
        entitlement: str,
        value: Amount,
        *,
        event: EventArg = True,
        overhead: Optional[Number] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool:
        """Sets the meter to ``value`` (meters the difference, with the rules of ``allow``)."""
        return self._sync.set(
            customer, entitlement, value, event=event, overhead=overhead, idempotency_key=idempotency_key
        )

    # ---- reads -----------------------------------------------------------------------------

    async def value(
        self, customer: str, entitlement: str, percent: bool = False, *, grants: bool = True
    ) -> Optional[float]:
        """Usage this period (``percent``: share of the limit used); None when unknown."""
        return self._value(customer, entitlement, percent, grants=grants)

    async def remaining(
        self, customer: str, entitlement: str, percent: bool = False, *, grants: bool = True
    ) -> Optional[float]:
        """What is left this period; None when unknown or unlimited."""
        return self._remaining(customer, entitlement, percent, grants=grants)

    async def limit(self, id: str, entitlement: str, *, grants: bool = True) -> Optional[float]:
        """The limit of a customer's (or a plan's) entitlement, grants included when ``grants``."""
        return self._sync.limit(id, entitlement, grants=grants)

    async def resets(self, customer: str, entitlement: str) -> Optional[int]:
        """When the entitlement next resets (epoch ms), or None."""
        return self._sync.resets(customer, entitlement)

    # ---- reservations and estimates ---------------------------------------------------------

    async def reserve(
        self,
        customer: str,
        entitlement: str,
        value: Optional[Amount] = None,
        *,
        ttl: Optional[int] = None,
        quantile: Optional[float] = None,
        basis: Optional[float] = None,
        segment: Optional[str] = None,
        overhead: Optional[Number] = None,
        event: Optional[Mapping[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> Optional[str]:
        """Holds room for a call of unknown size; returns the hold id, or None when there is no room.

        ``value``: units to hold (None: the learned estimate at ``quantile`` for ``basis`` and
        ``segment``, else the limit's increment). ``ttl``: hold lifetime in ms. ``overhead``:
        expected provider cost in runes. ``event``: event data (basis and segment may be read
        from it).
        """
        return self._sync.reserve(
            customer,
            entitlement,
            value,
            ttl=ttl,
            quantile=quantile,
            basis=basis,
            segment=segment,
            overhead=overhead,
            event=event,
            idempotency_key=idempotency_key,
        )

    async def settle(
        self,
        customer: str,
        entitlement: str,
        hold: str,
        value: Amount = 0,
        *,
        final: bool = True,
        event: EventArg = True,
        overhead: Optional[Number] = None,
        idempotency_key: Optional[str] = None,
    ) -> bool:
        """Meters the real size of a reserved call and removes its hold; ``final=False`` keeps
        the rest of the hold (a response still streaming). Learns the estimate from it."""
        return self._sync.settle(
            customer,
            entitlement,
            hold,
            value,
            final=final,
            event=event,
            overhead=overhead,
            idempotency_key=idempotency_key,
        )

    async def release(
        self, customer: str, entitlement: str, hold: str, *, idempotency_key: Optional[str] = None
    ) -> bool:
        """Drops a hold without metering; True if it was there."""
        return self._sync.release(customer, entitlement, hold, idempotency_key=idempotency_key)

    async def held(self, customer: str, entitlement: str) -> Optional[float]:
        """Units held by unexpired holds; None when unknown."""
        return self._sync.held(customer, entitlement)

    async def observe(
        self,
        customer: str,
        entitlement: str,
        value: Amount,
        *,
        overhead: Optional[Number] = None,
        basis: Optional[float] = None,
        segment: Optional[str] = None,
        event: Optional[Mapping[str, Any]] = None,
    ) -> bool:
        """Learns the size (and provider cost) of a finished call; True when recorded."""
        return self._sync.observe(
            customer, entitlement, value, overhead=overhead, basis=basis, segment=segment, event=event
        )

    async def estimate(
        self,
        customer: str,
        entitlement: str,
        *,
        quantile: float = 0.9,
        basis: Optional[float] = None,
        segment: Optional[str] = None,
    ) -> Optional[Record]:
        """The predicted size and cost of a call at ``quantile``:
        ``{value, overhead, samples, source, scope}``, or None without samples."""
        return self._sync.estimate(customer, entitlement, quantile=quantile, basis=basis, segment=segment)

    # ---- trends ----------------------------------------------------------------------------

    async def rate(self, customer: str, entitlement: str, smoothed: bool = False) -> float:
        """Units per millisecond over the last two changes (``smoothed``: the weighted rate)."""
        return self._sync.rate(customer, entitlement, smoothed)

    async def acceleration(self, customer: str, entitlement: str) -> float:
        """Change of the rate over the last three changes; 0 without enough history."""
        return self._sync.acceleration(customer, entitlement)

    async def projected_exhaustion(
        self, customer: str, entitlement: str, smoothed: bool = False, grants: bool = True
    ) -> Optional[int]:
        """When, at the current rate, the limit runs out (epoch ms); None when not growing."""
        return self._sync.projected_exhaustion(customer, entitlement, smoothed, grants)

    async def allowance(self, customer: str, entitlement: str, grants: bool = True) -> Optional[float]:
        """What may be used right now: ``remaining``, or less under the rate governor."""
        return self._sync.allowance(customer, entitlement, grants)

    # ---- margins ---------------------------------------------------------------------------

    async def customer_margin(self, customer: str) -> Optional[Record]:
        """A customer's margin this period: ``{revenue, cost, margin, entitlements}``, or None."""
        return self._sync.customer_margin(customer)

    async def plan_margin(self, plan: str, usage: Mapping[str, Usage], scaled: bool = True) -> Record:
        """A plan's margin for hypothetical ``usage`` (``{entitlement: value | {value, overhead,
        limit}}``); ``scaled`` counts rolling periods per plan period."""
        return self._sync.plan_margin(plan, usage, scaled)

    # ---- grants and exchange ---------------------------------------------------------------

    async def apply_customer_topup(
        self, customer: str, topup: str, *, idempotency_key: Optional[str] = None
    ) -> bool:
        """Grants a plan top-up to a customer; False for an unknown customer."""
        return self._sync.apply_customer_topup(customer, topup, idempotency_key=idempotency_key)

    async def remaining_credit(self, customer: str, credit: str) -> Optional[float]:
        """The customer's grant balance expressed in ``credit``."""
        return self._sync.remaining_credit(customer, credit)

    async def credit_exchange(self, from_: str, to: str = "rune", value: Number = 1) -> Optional[float]:
        """Converts ``value`` units of ``from_`` into ``to``; None when there is no path."""
        return self._sync.credit_exchange(from_, to, value)

    # ---- events (synchronous, as in the quick start) ---------------------------------------

    def add_handler(self, name: str, fn: Handler, events: Optional[List[str]] = None) -> None:
        """Adds (or replaces) handler ``name``: ``fn(key, value)`` gets each event's name and
        payload dict, for every event or only those named in ``events`` (``['meter-limit']``;
        events no handler listens to are never built, and an unknown name raises
        :class:`limitr.InvalidArgumentError`). A handler that raises is reported as a
        :class:`limitr.HandlerWarning`; the decision stands and the other handlers still run.
        ``SystemExit`` and ``KeyboardInterrupt`` propagate from the call instead (its change
        stands; the handlers left are skipped). Handlers run synchronously inside the call, in
        commit order (on a worker thread when the store is on the network), so an ``async def``
        handler is refused with :class:`limitr.InvalidArgumentError`: nothing could await it; a
        plain handler may schedule async work with ``loop.call_soon_threadsafe``."""
        self._sync.add_handler(name, fn, events)

    def remove_handler(self, name: str) -> bool:
        """Removes handler ``name``; True if it existed."""
        return self._sync.remove_handler(name)

    def clear_handlers(self) -> None:
        """Removes every handler."""
        self._sync.clear_handlers()

    def lint(self) -> List[Dict[str, str]]:
        """Warnings about the document (unknown fields, …) as ``{path, code, message}`` dicts."""
        return self._sync.lint()


def _offloaded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """The awaitable ``name`` run on a worker thread: its sync twin through ``asyncio.to_thread``
    (which carries the caller's context variables to the handlers)."""

    @functools.wraps(method)
    async def run(self: Limitr, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self._sync, name), *args, **kwargs)

    return run


_OFF_LOOP: Dict[type, Type[Limitr]] = {}


def _off_loop(cls: Type[Limitr]) -> Type[Limitr]:
    """``cls`` for an engine on a network store (made once per class): each awaitable that
    ``cls`` takes from :class:`Limitr` runs off the loop (a subclass's own overrides are kept).
    Same name, same docs; ``isinstance(policy, cls)`` holds."""
    made = _OFF_LOOP.get(cls)
    if made is not None:
        return made
    names = {
        name: method
        for name, method in vars(Limitr).items()
        if isinstance(method, types.FunctionType)
        and inspect.iscoroutinefunction(method)
        and getattr(cls, name) is method
    }
    body: Dict[str, Any] = {name: _offloaded(name, m) for name, m in names.items()}
    body.update(__slots__=(), __module__=cls.__module__, __qualname__=cls.__qualname__, __doc__=cls.__doc__)
    made = _OFF_LOOP[cls] = type(cls.__name__, (cls,), body)
    return made
