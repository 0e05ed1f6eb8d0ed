//! `LimitrSync`: the engine as a synchronous Python class (the awaitable `limitr.Limitr` is a thin
//! `async def` layer over it, in Python), and `Doc`, the document view (`record`, `stringify`).
//!
//! On memory or a journal, per-customer calls keep the GIL: they take well under a microsecond,
//! less than releasing and re-taking the GIL costs. On a network store (Redis) every engine call
//! releases it (`py.detach`) for its round trip, so other threads, and the asyncio loop while
//! `limitr.Limitr` runs the call on a worker thread, keep running. Loading and serialising whole
//! documents always release it.

use crate::convert::{self, amount_or, opt_quantity};
use crate::error::{self, check, invalid};
use crate::events::{self, PyClock, PyHandler};
use limitr_core::host::{HostOptions, StoreOptions};
use limitr_core::margin::Usage;
use limitr_core::number::Decimal;
use limitr_core::{CallOptions, CapOptions, Format, NewCustomer, ReserveOptions};
use limitr_host::HostStore;

/// The core engine over the store every host shares: memory, or memory plus a journal.
type Limitr = limitr_core::Limitr<HostStore>;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping, PyString};
use serde_json::Map;
use std::sync::Arc;

/// A Limitr engine: a policy, its customers and handlers. Safe to share between threads. On a
/// network store each call blocks its thread for a round trip, with the GIL released.
#[pyclass(frozen, name = "LimitrSync", module = "limitr._limitr")]
pub struct LimitrSync {
    inner: Arc<Limitr>,
    /// The Python clock (`now`), read once before each call.
    clock: Option<Arc<PyClock>>,
    /// The store does network I/O: engine calls release the GIL ([`LimitrSync::run`]).
    network: bool,
}

impl LimitrSync {
    /// Runs one engine call: without the GIL on a network store (the call waits for a round trip;
    /// handlers and the clock take the GIL back to run), with it otherwise (cheaper than a release).
    ///
    /// The clock (a Python `now`) is read first, once for the call: a NaN or infinite time raises
    /// before anything changes. A `SystemExit` or `KeyboardInterrupt` raised by a handler during
    /// the call is raised when it returns (the call's change stands, as it would in Python code).
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Limitr) -> limitr_core::Result<T> + Send,
    ) -> PyResult<T> {
        if let Some(clock) = &self.clock {
            clock.read(py)?;
        }
        let out = if self.network {
            py.detach(|| f(&self.inner))
        } else {
            f(&self.inner)
        };
        if let Some(interrupt) = events::take_interrupt() {
            return Err(interrupt);
        }
        check(py, out)
    }
}

/// The policy document with its customers' state.
#[pyclass(frozen, name = "Doc", module = "limitr._limitr")]
pub struct Doc {
    inner: Arc<Limitr>,
}

fn options(
    event: Option<&Bound<'_, PyAny>>,
    overhead: Option<&Bound<'_, PyAny>>,
) -> PyResult<CallOptions> {
    let mut o = CallOptions::default();
    if let Some(e) = event {
        let py = e.py();
        if let Ok(b) = e.extract::<bool>() {
            o.events = b;
        } else if e.is_instance_of::<PyDict>() {
            o.event_data = Some(convert::from_py(e, "event")?);
        } else {
            return Err(error::invalid_text(
                py,
                "event: expected bool or dict (event data)",
            ));
        }
    }
    if let Some(v) = overhead.filter(|v| !v.is_none()) {
        o.overhead = Some(convert::amount(v, "overhead")?);
    }
    Ok(o)
}

/// An amount argument of a metering call: a number (as in [`convert::amount`]), or text the core
/// reads for this entitlement (`"500MB"`, `"1.5min"`: [`Limitr::quantity`]); None → `default`.
fn amount_for(
    py: Python<'_>,
    engine: &LimitrSync,
    customer: &str,
    entitlement: &str,
    v: Option<&Bound<'_, PyAny>>,
    default: Decimal,
) -> PyResult<Decimal> {
    match v {
        Some(v) if v.is_instance_of::<PyString>() => {
            let text = v.cast::<PyString>()?.to_cow()?;
            engine.run(py, |e| e.quantity(customer, entitlement, &text))
        }
        _ => amount_or(v, "value", default),
    }
}

fn opt_amount(v: Option<&Bound<'_, PyAny>>, name: &'static str) -> PyResult<Option<Decimal>> {
    match v.filter(|v| !v.is_none()) {
        Some(v) => convert::amount(v, name).map(Some),
        None => Ok(None),
    }
}

/// Event data (`dict`) or None.
fn event_data(event: Option<&Bound<'_, PyAny>>) -> PyResult<Option<serde_json::Value>> {
    match event.filter(|e| !e.is_none()) {
        Some(e) if e.is_instance_of::<PyDict>() => convert::from_py(e, "event").map(Some),
        Some(e) => Err(error::invalid_text(
            e.py(),
            "event: expected dict (event data) or None",
        )),
        None => Ok(None),
    }
}

/// Call-scoped caps: a mapping `{credit or currency: ceiling}`.
fn call_caps(caps: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Decimal)>> {
    let py = caps.py();
    let caps = caps.cast::<PyMapping>().map_err(|_| {
        error::invalid_text(py, "caps: expected a dict {credit or currency: ceiling}")
    })?;
    let mut out = Vec::new();
    for item in caps.items()?.iter() {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        let credit = k
            .cast::<PyString>()
            .map_err(|_| error::invalid_text(py, "caps: keys must be str (credits or currencies)"))?
            .to_cow()?
            .into_owned();
        out.push((credit, convert::amount(&v, "caps")?));
    }
    Ok(out)
}

/// `plan_margin` usage: a mapping `{entitlement: value | {"value", "overhead", "limit"}}`.
fn plan_usage(usage: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Usage)>> {
    let py = usage.py();
    let usage = usage.cast::<PyMapping>().map_err(|_| {
        error::invalid_text(
            py,
            "usage: expected a dict {entitlement: value | {value, overhead, limit}}",
        )
    })?;
    let mut out = Vec::new();
    for item in usage.items()?.iter() {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        let name = k
            .cast::<PyString>()
            .map_err(|_| error::invalid_text(py, "usage: keys must be str (entitlement names)"))?
            .to_cow()?
            .into_owned();
        let u = if let Ok(m) = v.cast::<PyMapping>() {
            let mut u = Usage {
                value: Decimal::ZERO,
                overhead: None,
                limit: None,
            };
            for field in m.items()?.iter() {
                let (key, x): (Bound<'_, PyAny>, Bound<'_, PyAny>) = field.extract()?;
                match key.extract::<String>().as_deref() {
                    Ok("value") => u.value = amount_or(Some(&x), "value", Decimal::ZERO)?,
                    Ok("overhead") => u.overhead = opt_amount(Some(&x), "overhead")?,
                    Ok("limit") => u.limit = opt_amount(Some(&x), "limit")?,
                    _ => {
                        return Err(error::invalid_text(
                            py,
                            format!(
                                "usage.{name}: unexpected key {}, expected value, overhead or limit",
                                key.repr()?
                            ),
                        ));
                    }
                }
            }
            u
        } else {
            Usage {
                value: convert::amount(&v, "value")?,
                overhead: None,
                limit: None,
            }
        };
        out.push((name, u));
    }
    Ok(out)
}

fn format(py: Python<'_>, name: &str) -> PyResult<Format> {
    check(py, Format::parse(name))
}

#[pymethods]
impl LimitrSync {
    /// Loads a policy from text in `format` (`json`, `yaml`, `toml`) or from a `dict`.
    /// `now`: optional callable returning epoch milliseconds (tests, simulations).
    #[new]
    #[pyo3(
        signature = (doc, format = String::from("json"), *, now = None, journal = None, sync = None, sync_ms = None, snapshot_every = None, max_document_bytes = None, idempotency_ttl_ms = None, store = None, strict = false),
        text_signature = "(doc, format='json', *, now=None, journal=None, sync=None, sync_ms=None, snapshot_every=None, max_document_bytes=None, idempotency_ttl_ms=None, store=None, strict=False)"
    )]
    #[allow(
        clippy::too_many_arguments,
        reason = "keyword arguments of the Python constructor"
    )]
    fn py_new(
        py: Python<'_>,
        doc: &Bound<'_, PyAny>,
        format: String,
        now: Option<Py<PyAny>>,
        journal: Option<std::path::PathBuf>,
        sync: Option<String>,
        sync_ms: Option<u64>,
        snapshot_every: Option<u64>,
        max_document_bytes: Option<usize>,
        idempotency_ttl_ms: Option<u64>,
        store: Option<&Bound<'_, PyAny>>,
        strict: bool,
    ) -> PyResult<Self> {
        let options = HostOptions {
            journal: journal.map(|p| p.to_string_lossy().into_owned()),
            sync,
            sync_ms,
            snapshot_every,
            max_document_bytes,
            idempotency_ttl_ms,
            store: match store.filter(|s| !s.is_none()) {
                Some(s) => Some(check(
                    py,
                    StoreOptions::from_value(&convert::from_py(s, "store")?),
                )?),
                None => None,
            },
            strict: Some(strict),
        };
        check(py, options.check())?;
        let engine = if let Ok(text) = doc.cast::<PyString>() {
            let fmt = self::format(py, &format)?;
            let text = text.to_cow()?;
            py.detach(|| limitr_host::load(&options, &text, fmt))
        } else if doc.is_instance_of::<PyDict>() {
            let value = convert::from_py(doc, "doc")?;
            py.detach(|| limitr_host::load_value(&options, &value))
        } else {
            return Err(error::invalid_text(
                py,
                format!(
                    "doc: expected str (policy text) or dict, got {}",
                    doc.get_type().name()?
                ),
            ));
        };
        let mut engine = check(py, engine)?;
        let mut py_clock = None;
        if let Some(now) = now.filter(|n| !n.is_none(py)) {
            if !now.bind(py).is_callable() {
                return Err(error::invalid_text(
                    py,
                    "now: expected a callable returning epoch milliseconds",
                ));
            }
            let clock = Arc::new(PyClock(now));
            engine = engine.with_clock(clock.clone());
            py_clock = Some(clock);
        }
        Ok(LimitrSync {
            clock: py_clock,
            network: engine.store().is_network(),
            inner: Arc::new(engine),
        })
    }

    /// Same as the constructor: `LimitrSync.new(doc, "json")`.
    #[staticmethod]
    #[pyo3(
        signature = (doc, format = String::from("json"), *, now = None, journal = None, sync = None, sync_ms = None, snapshot_every = None, max_document_bytes = None, idempotency_ttl_ms = None, store = None, strict = false),
        text_signature = "(doc, format='json', *, now=None, journal=None, sync=None, sync_ms=None, snapshot_every=None, max_document_bytes=None, idempotency_ttl_ms=None, store=None, strict=False)"
    )]
    #[allow(
        clippy::too_many_arguments,
        reason = "keyword arguments of the Python constructor"
    )]
    fn new(
        py: Python<'_>,
        doc: &Bound<'_, PyAny>,
        format: String,
        now: Option<Py<PyAny>>,
        journal: Option<std::path::PathBuf>,
        sync: Option<String>,
        sync_ms: Option<u64>,
        snapshot_every: Option<u64>,
        max_document_bytes: Option<usize>,
        idempotency_ttl_ms: Option<u64>,
        store: Option<&Bound<'_, PyAny>>,
        strict: bool,
    ) -> PyResult<Self> {
        Self::py_new(
            py,
            doc,
            format,
            now,
            journal,
            sync,
            sync_ms,
            snapshot_every,
            max_document_bytes,
            idempotency_ttl_ms,
            store,
            strict,
        )
    }

    /// True when the store is on the network (Redis): each call waits for a round trip, without
    /// the GIL; `limitr.Limitr` then runs its awaitables on a worker thread.
    #[getter]
    fn network(&self) -> bool {
        self.network
    }

    /// The document: `doc.record()`, `doc.stringify("yaml")`.
    #[getter]
    fn doc(&self) -> Doc {
        Doc {
            inner: self.inner.clone(),
        }
    }

    /// Creates a customer (or updates an existing one); returns its record. `type`, `label`,
    /// `refs` (related customers: user → team → org), `alt_ids` and `metadata` are optional.
    #[pyo3(
        signature = (id, plan = None, *, r#type = None, label = None, refs = None, alt_ids = None, metadata = None, idempotency_key = None),
        text_signature = "($self, id, plan=None, *, type=None, label=None, refs=None, alt_ids=None, metadata=None, idempotency_key=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn create_customer<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        plan: Option<&str>,
        r#type: Option<String>,
        label: Option<String>,
        refs: Option<&Bound<'py, PyAny>>,
        alt_ids: Option<&Bound<'py, PyAny>>,
        metadata: Option<&Bound<'py, PyDict>>,
        idempotency_key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let new = NewCustomer {
            plan: plan.map(String::from),
            kind: r#type,
            label,
            refs: convert::opt_str_list(refs, "refs")?,
            alt_ids: convert::opt_str_list(alt_ids, "alt_ids")?,
            metadata: match metadata {
                Some(m) => convert::object(m, "metadata")?,
                None => Map::new(),
            },
            idempotency_key,
        };
        let record = self.run(py, |e| e.create_customer_with(id, &new))?;
        convert::to_py(py, &record)
    }

    /// Creates the customer if missing; True if it was created.
    #[pyo3(signature = (id, plan = None))]
    fn ensure_customer(&self, py: Python<'_>, id: &str, plan: Option<&str>) -> PyResult<bool> {
        self.run(py, |e| e.ensure_customer(id, plan))
    }

    /// A customer's record as a dict, or None.
    fn customer<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.run(py, |e| Ok(e.customer_record(id)))? {
            Some(r) => convert::to_py(py, &r),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// One customer's whole record (meters, holds, grants, caps, keys), to move it to another
    /// engine with `import_customer`; None for an unknown customer.
    fn export_customer<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.run(py, |e| e.export_customer(id))? {
            Some(r) => convert::to_py(py, &r),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Puts an exported customer record into this engine; True if it replaced one.
    fn import_customer(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        let record = convert::from_py(record, "record")?;
        self.run(py, |e| e.import_customer(&record))
    }

    /// Every customer's record, by id.
    fn customers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let all = py.detach(|| self.inner.customers());
        convert::to_py(py, &serde_json::Value::Object(all))
    }

    /// Removes a customer; True if it existed.
    fn remove_customer(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        self.run(py, |e| e.remove_customer(id))
    }

    /// Moves a customer to `plan` (meters kept unless `reset_meters`).
    #[pyo3(signature = (id, plan, reset_meters = false))]
    fn set_customer_plan(
        &self,
        py: Python<'_>,
        id: &str,
        plan: &str,
        reset_meters: bool,
    ) -> PyResult<bool> {
        self.run(py, |e| e.set_customer_plan(id, plan, reset_meters))
    }

    /// Adds an alternative id for a customer; False when the customer is unknown or the alt id
    /// belongs to another customer.
    fn add_alt_id(&self, py: Python<'_>, id: &str, alt: &str) -> PyResult<bool> {
        self.run(py, |e| e.add_alt_id(id, alt))
    }

    /// Overrides a customer's limit of `entitlement` with `fields` (`value`, `mode`, `credit`,
    /// `resets`, …; the rest is inherited from the plan limit) until `expires_on` (epoch ms).
    /// Replaces an existing override; False for an unknown customer.
    #[pyo3(signature = (id, entitlement, fields, expires_on = None))]
    fn create_customer_override(
        &self,
        py: Python<'_>,
        id: &str,
        entitlement: &str,
        fields: &Bound<'_, PyDict>,
        expires_on: Option<i64>,
    ) -> PyResult<bool> {
        let fields = convert::object(fields, "fields")?;
        self.run(py, |e| {
            e.create_customer_override(id, entitlement, &fields, expires_on)
        })
    }

    /// Removes a customer's override of `entitlement`; True if there was one.
    fn remove_customer_override(
        &self,
        py: Python<'_>,
        id: &str,
        entitlement: &str,
    ) -> PyResult<bool> {
        self.run(py, |e| e.remove_customer_override(id, entitlement))
    }

    /// Charges the plan's subscription entitlement once per period, after the trial; True when
    /// it charged.
    fn ensure_plan_subscription(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        self.run(py, |e| e.ensure_plan_subscription(id))
    }

    /// Adds a spend cap to customer `id`: at most `value` of `credit` (`rune` by default, or a
    /// currency or credit). Returns the cap's record, or None for an unknown customer or a
    /// taken `cap_id`.
    #[pyo3(
        signature = (id, value, *, cap_id = None, credit = None, exchangeable = None, ignore_grants = false, overage_only = false, observe_only = false, overhead_cost = false, follow_decrements = false, hard_trailing = false, shared = false, shared_with = None, scope = None, resets = false, reset_inc = None, reset_sch = None, expires_on = None, events = true),
        text_signature = "($self, id, value, *, cap_id=None, credit=None, exchangeable=None, ignore_grants=False, overage_only=False, observe_only=False, overhead_cost=False, follow_decrements=False, hard_trailing=False, shared=False, shared_with=None, scope=None, resets=False, reset_inc=None, reset_sch=None, expires_on=None, events=True)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn add_customer_cap<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        value: &Bound<'py, PyAny>,
        cap_id: Option<String>,
        credit: Option<String>,
        exchangeable: Option<bool>,
        ignore_grants: bool,
        overage_only: bool,
        observe_only: bool,
        overhead_cost: bool,
        follow_decrements: bool,
        hard_trailing: bool,
        shared: bool,
        shared_with: Option<&Bound<'py, PyAny>>,
        scope: Option<&Bound<'py, PyAny>>,
        resets: bool,
        reset_inc: Option<&Bound<'py, PyAny>>,
        reset_sch: Option<String>,
        expires_on: Option<i64>,
        events: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let value = convert::amount(value, "value")?;
        let list = |v: Option<&Bound<'py, PyAny>>, name| -> PyResult<Option<Vec<String>>> {
            match v.filter(|v| !v.is_none()) {
                Some(v) => convert::opt_str_list(Some(v), name).map(Some),
                None => Ok(None),
            }
        };
        let reset_inc = match reset_inc.filter(|v| !v.is_none()) {
            Some(v) if v.is_instance_of::<PyString>() => Some(v.extract::<String>()?),
            Some(v) if v.is_exact_instance_of::<pyo3::types::PyInt>() => {
                Some(v.extract::<i64>()?.to_string())
            }
            Some(_) => {
                return Err(error::invalid_text(
                    py,
                    "reset_inc: expected str (`30days`) or int (milliseconds)",
                ));
            }
            None => None,
        };
        let o = CapOptions {
            cap_id,
            credit,
            exchangeable,
            ignore_grants,
            overage_only,
            observe_only,
            overhead_cost,
            follow_decrements,
            hard_trailing,
            shared,
            shared_with: list(shared_with, "shared_with")?,
            scope: list(scope, "scope")?,
            resets,
            reset_inc,
            reset_sch,
            expires_on,
            events,
        };
        match self.run(py, |e| e.add_customer_cap(id, value, &o))? {
            Some(r) => convert::to_py(py, &r),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// A cap's record as it is now; None for no such customer or cap, or an expired cap.
    fn customer_cap<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        cap_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.run(py, |e| Ok(e.customer_cap(id, cap_id)))? {
            Some(r) => convert::to_py(py, &r),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Zeroes a cap's consumption and starts a new period; True if the cap exists.
    fn reset_customer_cap(&self, py: Python<'_>, id: &str, cap_id: &str) -> PyResult<bool> {
        self.run(py, |e| e.reset_customer_cap(id, cap_id))
    }

    /// Removes a cap; True if it existed. `events=False` sends neither `customer-cap-removed` nor
    /// `customer-set`.
    #[pyo3(signature = (id, cap_id, *, events = true))]
    fn remove_customer_cap(
        &self,
        py: Python<'_>,
        id: &str,
        cap_id: &str,
        events: bool,
    ) -> PyResult<bool> {
        self.run(py, |e| e.remove_customer_cap_with(id, cap_id, events))
    }

    /// Meters `value` if the policy allows it. `event`: False to send no events, or a dict of
    /// event data. `overhead`: provider cost of the call in runes. `caps`: spend caps for this
    /// call only, `{credit or currency: ceiling}`.
    #[pyo3(
        signature = (customer, entitlement, value = None, *, event = None, overhead = None, caps = None, idempotency_key = None),
        text_signature = "($self, customer, entitlement, value=0, *, event=True, overhead=None, caps=None, idempotency_key=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn allow(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        value: Option<&Bound<'_, PyAny>>,
        event: Option<&Bound<'_, PyAny>>,
        overhead: Option<&Bound<'_, PyAny>>,
        caps: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<String>,
    ) -> PyResult<bool> {
        let value = amount_for(py, self, customer, entitlement, value, Decimal::ZERO)?;
        let mut o = options(event, overhead)?;
        o.idempotency_key = idempotency_key;
        if let Some(caps) = caps.filter(|c| !c.is_none()) {
            o.caps = call_caps(caps)?;
        }
        self.run(py, |e| e.allow_with(customer, entitlement, value, &o))
    }

    /// Whether `allow` would pass, changing nothing. `detail=True` returns
    /// `{allowed, reason, remaining, resets, retry_after}`.
    #[pyo3(
        signature = (customer, entitlement, value = None, *, detail = false, overhead = None, caps = None),
        text_signature = "($self, customer, entitlement, value=0, *, detail=False, overhead=None, caps=None)"
    )]
    #[allow(clippy::too_many_arguments, reason = "keyword arguments of `check`")]
    fn check<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        entitlement: &str,
        value: Option<&Bound<'py, PyAny>>,
        detail: bool,
        overhead: Option<&Bound<'py, PyAny>>,
        caps: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let value = amount_for(py, self, customer, entitlement, value, Decimal::ZERO)?;
        let mut o = options(None, overhead)?;
        if let Some(caps) = caps.filter(|c| !c.is_none()) {
            o.caps = call_caps(caps)?;
        }
        let d = self.run(py, |e| {
            e.check_detail_with(customer, entitlement, value, &o)
        })?;
        if !detail {
            return Ok(pyo3::types::PyBool::new(py, d.allowed)
                .to_owned()
                .into_any());
        }
        let out = PyDict::new(py);
        out.set_item("allowed", d.allowed)?;
        out.set_item("reason", d.reason.as_str())?;
        out.set_item("remaining", opt_quantity(py, d.remaining)?)?;
        out.set_item("resets", d.resets)?;
        out.set_item("retry_after", d.retry_after)?;
        Ok(out.into_any())
    }

    /// Whether `increment` would pass, changing nothing; False when there is no limit.
    fn check_increment(&self, py: Python<'_>, customer: &str, entitlement: &str) -> PyResult<bool> {
        self.run(py, |e| e.check_increment(customer, entitlement))
    }

    /// The limit's `increment` (1 by default); None without a limit. `id` may be a plan name.
    fn cost<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        entitlement: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.run(py, |e| e.cost(id, entitlement))?;
        opt_quantity(py, c)
    }

    /// Reconciles the customer's included top-ups with its plan (grants it no longer qualifies
    /// for removed, missing ones granted); True when its grants changed (`customer-set` fires
    /// unless `events=False`).
    #[pyo3(signature = (id, *, events = true))]
    fn ensure_included_topups(&self, py: Python<'_>, id: &str, events: bool) -> PyResult<bool> {
        self.run(py, |e| e.ensure_included_topups(id, events))
    }

    /// Meters the limit's `increment` (1 by default); False when there is no limit.
    #[pyo3(
        signature = (customer, entitlement, *, event = None, overhead = None, idempotency_key = None),
        text_signature = "($self, customer, entitlement, *, event=True, overhead=None, idempotency_key=None)"
    )]
    fn increment(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        event: Option<&Bound<'_, PyAny>>,
        overhead: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<String>,
    ) -> PyResult<bool> {
        let mut o = options(event, overhead)?;
        o.idempotency_key = idempotency_key;
        self.run(py, |e| e.increment(customer, entitlement, &o))
    }

    /// Meters minus the limit's `increment`; False when there is no limit.
    #[pyo3(
        signature = (customer, entitlement, *, event = None, overhead = None, idempotency_key = None),
        text_signature = "($self, customer, entitlement, *, event=True, overhead=None, idempotency_key=None)"
    )]
    fn decrement(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        event: Option<&Bound<'_, PyAny>>,
        overhead: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<String>,
    ) -> PyResult<bool> {
        let mut o = options(event, overhead)?;
        o.idempotency_key = idempotency_key;
        self.run(py, |e| e.decrement(customer, entitlement, &o))
    }

    /// Sets the meter to `value` (meters the difference, with the rules of `allow`).
    #[pyo3(
        signature = (customer, entitlement, value, *, event = None, overhead = None, idempotency_key = None),
        text_signature = "($self, customer, entitlement, value, *, event=True, overhead=None, idempotency_key=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn set(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        value: &Bound<'_, PyAny>,
        event: Option<&Bound<'_, PyAny>>,
        overhead: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<String>,
    ) -> PyResult<bool> {
        let value = amount_for(py, self, customer, entitlement, Some(value), Decimal::ZERO)?;
        let mut o = options(event, overhead)?;
        o.idempotency_key = idempotency_key;
        self.run(py, |e| e.set(customer, entitlement, value, &o))
    }

    /// Usage this period (`percent`: share of the limit used); None when unknown.
    #[pyo3(signature = (customer, entitlement, percent = false, *, grants = true))]
    fn value<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        entitlement: &str,
        percent: bool,
        grants: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.run(py, |e| e.value(customer, entitlement, percent, grants))?;
        opt_quantity(py, v)
    }

    /// What is left this period (`percent`: as a share); None when unknown or unlimited.
    #[pyo3(signature = (customer, entitlement, percent = false, *, grants = true))]
    fn remaining<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        entitlement: &str,
        percent: bool,
        grants: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.run(py, |e| e.remaining(customer, entitlement, percent, grants))?;
        opt_quantity(py, v)
    }

    /// The limit of a customer's (or a plan's) entitlement, grants included when `grants`.
    #[pyo3(signature = (id, entitlement, *, grants = true))]
    fn limit<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        entitlement: &str,
        grants: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.run(py, |e| e.limit(id, entitlement, grants))?;
        opt_quantity(py, v)
    }

    /// When the entitlement next resets (epoch ms), or None.
    fn resets(&self, py: Python<'_>, customer: &str, entitlement: &str) -> PyResult<Option<i64>> {
        self.run(py, |e| e.resets(customer, entitlement))
    }

    /// Grants a plan top-up; False for an unknown customer.
    #[pyo3(
        signature = (customer, topup, *, idempotency_key = None),
        text_signature = "($self, customer, topup, *, idempotency_key=None)"
    )]
    fn apply_customer_topup(
        &self,
        py: Python<'_>,
        customer: &str,
        topup: &str,
        idempotency_key: Option<&str>,
    ) -> PyResult<bool> {
        self.run(py, |e| {
            e.apply_customer_topup_with(customer, topup, idempotency_key)
        })
    }

    /// A customer's grant balance expressed in `credit`; None for an unknown customer.
    fn remaining_credit<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        credit: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.run(py, |e| e.remaining_credit(customer, credit))?;
        opt_quantity(py, v)
    }

    /// Converts `value` units of `from_` into `to`; None when the exchange has no path.
    #[pyo3(
        signature = (from_, to = String::from("rune"), value = None),
        text_signature = "($self, from_, to='rune', value=1)"
    )]
    fn credit_exchange<'py>(
        &self,
        py: Python<'py>,
        from_: &str,
        to: String,
        value: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if from_.trim().is_empty() {
            return Err(invalid(py, "from_", "must be a non-empty string".into()));
        }
        let value = amount_or(value, "value", Decimal::ONE)?;
        opt_quantity(
            py,
            self.run(py, |e| Ok(e.credit_exchange(from_, &to, value)))?,
        )
    }

    /// Holds room for a call of unknown size: `value` units, or the learned estimate at
    /// `quantile` (for `basis`/`segment`). Returns the hold id, or None when there is no room.
    /// `ttl`: hold lifetime in ms; `overhead`: expected provider cost; `event`: event data.
    #[pyo3(
        signature = (customer, entitlement, value = None, *, ttl = None, quantile = None, basis = None, segment = None, overhead = None, event = None, idempotency_key = None),
        text_signature = "($self, customer, entitlement, value=None, *, ttl=None, quantile=None, basis=None, segment=None, overhead=None, event=None, idempotency_key=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn reserve(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        value: Option<&Bound<'_, PyAny>>,
        ttl: Option<i64>,
        quantile: Option<f64>,
        basis: Option<f64>,
        segment: Option<String>,
        overhead: Option<&Bound<'_, PyAny>>,
        event: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<String>,
    ) -> PyResult<Option<String>> {
        let o = ReserveOptions {
            value: match value.filter(|v| !v.is_none()) {
                Some(v) => Some(amount_for(
                    py,
                    self,
                    customer,
                    entitlement,
                    Some(v),
                    Decimal::ZERO,
                )?),
                None => None,
            },
            ttl,
            quantile,
            basis,
            segment,
            overhead: opt_amount(overhead, "overhead")?,
            event_data: event_data(event)?,
            idempotency_key,
        };
        self.run(py, |e| e.reserve(customer, entitlement, &o))
    }

    /// Meters the real size of a reserved call and removes its hold (`final=False` keeps the
    /// rest of the hold, for a response still streaming). An unknown or expired hold is fine.
    #[pyo3(
        signature = (customer, entitlement, hold, value = None, *, r#final = true, event = None, overhead = None, idempotency_key = None),
        text_signature = "($self, customer, entitlement, hold, value=0, *, final=True, event=True, overhead=None, idempotency_key=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        hold: &str,
        value: Option<&Bound<'_, PyAny>>,
        r#final: bool,
        event: Option<&Bound<'_, PyAny>>,
        overhead: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<String>,
    ) -> PyResult<bool> {
        let value = amount_for(py, self, customer, entitlement, value, Decimal::ZERO)?;
        let mut o = options(event, overhead)?;
        o.idempotency_key = idempotency_key;
        self.run(py, |e| {
            e.settle(customer, entitlement, hold, value, r#final, &o)
        })
    }

    /// Drops a hold without metering; True if it was there.
    #[pyo3(
        signature = (customer, entitlement, hold, *, idempotency_key = None),
        text_signature = "($self, customer, entitlement, hold, *, idempotency_key=None)"
    )]
    fn release(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        hold: &str,
        idempotency_key: Option<&str>,
    ) -> PyResult<bool> {
        self.run(py, |e| {
            e.release_with(customer, entitlement, hold, idempotency_key)
        })
    }

    /// Units held by unexpired holds; None when unknown.
    fn held<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        entitlement: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.run(py, |e| e.held(customer, entitlement))?;
        opt_quantity(py, v)
    }

    /// Learns the size (and provider cost) of a finished call; True when recorded.
    #[pyo3(
        signature = (customer, entitlement, value, *, overhead = None, basis = None, segment = None, event = None),
        text_signature = "($self, customer, entitlement, value, *, overhead=None, basis=None, segment=None, event=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn observe(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        value: &Bound<'_, PyAny>,
        overhead: Option<&Bound<'_, PyAny>>,
        basis: Option<f64>,
        segment: Option<&str>,
        event: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let value = amount_for(py, self, customer, entitlement, Some(value), Decimal::ZERO)?;
        let overhead = opt_amount(overhead, "overhead")?;
        let data = event_data(event)?;
        self.run(py, |e| {
            e.observe(
                customer,
                entitlement,
                value,
                overhead,
                basis,
                segment,
                data.as_ref(),
            )
        })
    }

    /// The predicted size and cost of a call at `quantile`:
    /// `{value, overhead, samples, source, scope}`, or None without samples.
    #[pyo3(
        signature = (customer, entitlement, *, quantile = 0.9, basis = None, segment = None),
        text_signature = "($self, customer, entitlement, *, quantile=0.9, basis=None, segment=None)"
    )]
    fn estimate<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        entitlement: &str,
        quantile: f64,
        basis: Option<f64>,
        segment: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = self.run(py, |e| {
            e.estimate(customer, entitlement, quantile, basis, segment)
        })?;
        match a {
            Some(a) => convert::to_py(py, &a.record()),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Units per millisecond over the last two changes (`smoothed`: the weighted rate).
    #[pyo3(signature = (customer, entitlement, smoothed = false))]
    fn rate<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        entitlement: &str,
        smoothed: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.run(py, |e| e.rate(customer, entitlement, smoothed))?;
        convert::quantity(py, v)
    }

    /// Change of the rate over the last three changes.
    fn acceleration<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        entitlement: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.run(py, |e| e.acceleration(customer, entitlement))?;
        convert::quantity(py, v)
    }

    /// When, at the current rate, the limit runs out (epoch ms), or None.
    #[pyo3(signature = (customer, entitlement, smoothed = false, grants = true))]
    fn projected_exhaustion(
        &self,
        py: Python<'_>,
        customer: &str,
        entitlement: &str,
        smoothed: bool,
        grants: bool,
    ) -> PyResult<Option<i64>> {
        self.run(py, |e| {
            e.projected_exhaustion(customer, entitlement, smoothed, grants)
        })
    }

    /// What may be used right now (`remaining`, or less under the rate governor); None when
    /// unknown or unlimited.
    #[pyo3(signature = (customer, entitlement, grants = true))]
    fn allowance<'py>(
        &self,
        py: Python<'py>,
        customer: &str,
        entitlement: &str,
        grants: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.run(py, |e| e.allowance(customer, entitlement, grants))?;
        opt_quantity(py, v)
    }

    /// A customer's margin this period: `{revenue, cost, margin, entitlements}`, or None.
    fn customer_margin<'py>(&self, py: Python<'py>, customer: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.run(py, |e| e.customer_margin(customer))? {
            Some(b) => convert::to_py(py, &b.record()),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// A plan's margin for hypothetical `usage` (`{entitlement: value | {value, overhead,
    /// limit}}`); `scaled`: rolling periods counted per plan period.
    #[pyo3(signature = (plan, usage, scaled = true))]
    fn plan_margin<'py>(
        &self,
        py: Python<'py>,
        plan: &str,
        usage: &Bound<'py, PyAny>,
        scaled: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let usage = plan_usage(usage)?;
        let b = self.run(py, |e| e.plan_margin(plan, &usage, scaled))?;
        convert::to_py(py, &b.record())
    }

    /// Adds (or replaces) handler `name`: `fn(key, value)` gets each event's name and payload
    /// dict, every event or those named in `events` (events no handler listens to are never
    /// built; an unknown name is `InvalidArgument`). A handler that raises is reported as a
    /// `limitr.HandlerWarning`; the call stands. `SystemExit` and `KeyboardInterrupt` propagate;
    /// an `async def` handler is refused (`InvalidArgument` naming `fn`).
    #[pyo3(signature = (name, r#fn, events = None))]
    fn add_handler(
        &self,
        py: Python<'_>,
        name: String,
        r#fn: Bound<'_, PyAny>,
        events: Option<Vec<String>>,
    ) -> PyResult<()> {
        if !r#fn.is_callable() {
            return Err(invalid(
                py,
                "fn",
                "expected a callable fn(key, value)".into(),
            ));
        }
        if events::is_async(&r#fn)? {
            return Err(invalid(
                py,
                "fn",
                "is an `async def` function: handlers are called synchronously, inside the call \
                 and in commit order, so nothing could await it (pass a plain function; it may \
                 schedule async work with `loop.call_soon_threadsafe`)"
                    .into(),
            ));
        }
        let func = r#fn.unbind();
        let handler = std::sync::Arc::new(PyHandler {
            name: name.clone(),
            func,
        });
        check(
            py,
            self.inner
                .add_shared_handler(&name, events.as_deref(), handler),
        )
    }

    /// Removes handler `name`; True if it existed.
    fn remove_handler(&self, name: String) -> bool {
        self.inner.remove_handler(&name)
    }

    /// Removes every handler.
    fn clear_handlers(&self) {
        self.inner.clear_handlers();
    }

    /// Warnings about the document (unknown fields, …): a list of `{path, code, message}`.
    fn lint<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for issue in self.inner.lint() {
            let d = PyDict::new(py);
            d.set_item("path", &issue.path)?;
            d.set_item("code", issue.code)?;
            d.set_item("message", &issue.message)?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let len = || limitr_core::Store::len(self.inner.store());
        let len = if self.network { py.detach(len) } else { len() };
        format!("<limitr.LimitrSync with {len} customers>")
    }
}

#[pymethods]
impl Doc {
    /// The whole document (rules and customers) as a dict: `{"policy": {…}}`.
    fn record<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let record = py.detach(|| self.inner.record());
        convert::to_py(py, &record)
    }

    /// The whole document as text in `format`; `Limitr.new(text, format)` loads it back.
    #[pyo3(
        signature = (format = String::from("json")),
        text_signature = "($self, format='json')"
    )]
    fn stringify(&self, py: Python<'_>, format: String) -> PyResult<String> {
        let fmt = self::format(py, &format)?;
        check(py, py.detach(|| self.inner.stringify(fmt)))
    }
}
