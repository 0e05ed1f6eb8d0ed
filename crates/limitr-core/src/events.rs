//! Events: values with stable kebab-case names, produced by transitions and delivered to handlers
//! after the change is committed, outside any lock.
//!
//! A handler may listen to some events only ([`Filter`]). The registry keeps the union of what its
//! handlers listen to as one [`EventSet`] (a bitset read with one atomic load), and the engine
//! builds only the events in it: with no handler, or with handlers that only listen to
//! `meter-limit`, a call inside its limit builds nothing.
//!
//! An event's payload is JSON text, written once per event however many handlers receive it.

use parking_lot::RwLock;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The kinds of event the engine sends. Every event a notification rule fires (named after its
/// rule) is of kind [`EventKind::Notification`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventKind {
    /// `meter-changed`: a meter moved.
    MeterChanged,
    /// `meter-overage`: a meter moved past a soft limit with no grant to pay for it.
    MeterOverage,
    /// `meter-limit`: a call was denied by a limit.
    MeterLimit,
    /// `meter-reset`: a meter's period restarted.
    MeterReset,
    /// `meter-governed`: a call was denied by the rate governor.
    MeterGoverned,
    /// `customer-set`: a customer was created or changed.
    CustomerSet,
    /// `customer-removed`.
    CustomerRemoved,
    /// `customer-plan-changed`.
    CustomerPlanChanged,
    /// `customer-topup-granted`.
    CustomerTopupGranted,
    /// `customer-cap-added`.
    CustomerCapAdded,
    /// `customer-cap-reset`.
    CustomerCapReset,
    /// `customer-cap-removed`.
    CustomerCapRemoved,
    /// `cap-limit`: a call was denied by a spend cap.
    CapLimit,
    /// `cap-threshold-crossed`.
    CapThresholdCrossed,
    /// An event fired by a declarative notification rule (its name is the rule's).
    Notification,
}

impl EventKind {
    /// Every kind with a fixed name, in bit order.
    pub const NAMED: [EventKind; 14] = [
        EventKind::MeterChanged,
        EventKind::MeterOverage,
        EventKind::MeterLimit,
        EventKind::MeterReset,
        EventKind::MeterGoverned,
        EventKind::CustomerSet,
        EventKind::CustomerRemoved,
        EventKind::CustomerPlanChanged,
        EventKind::CustomerTopupGranted,
        EventKind::CustomerCapAdded,
        EventKind::CustomerCapReset,
        EventKind::CustomerCapRemoved,
        EventKind::CapLimit,
        EventKind::CapThresholdCrossed,
    ];

    /// The event's name (`None` for notifications: their names are the rules').
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            EventKind::MeterChanged => "meter-changed",
            EventKind::MeterOverage => "meter-overage",
            EventKind::MeterLimit => "meter-limit",
            EventKind::MeterReset => "meter-reset",
            EventKind::MeterGoverned => "meter-governed",
            EventKind::CustomerSet => "customer-set",
            EventKind::CustomerRemoved => "customer-removed",
            EventKind::CustomerPlanChanged => "customer-plan-changed",
            EventKind::CustomerTopupGranted => "customer-topup-granted",
            EventKind::CustomerCapAdded => "customer-cap-added",
            EventKind::CustomerCapReset => "customer-cap-reset",
            EventKind::CustomerCapRemoved => "customer-cap-removed",
            EventKind::CapLimit => "cap-limit",
            EventKind::CapThresholdCrossed => "cap-threshold-crossed",
            EventKind::Notification => return None,
        })
    }

    /// The kind with this fixed name, if any.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::NAMED
            .into_iter()
            .find(|k| k.name() == Some(name))
    }

    /// The kind of an event called `name`: a fixed one, else a notification.
    pub fn of(name: &str) -> EventKind {
        EventKind::parse(name).unwrap_or(EventKind::Notification)
    }

    const fn bit(self) -> u32 {
        1 << self as u8
    }
}

/// A set of [`EventKind`]s (a bitset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventSet(u32);

impl EventSet {
    /// No event.
    pub const NONE: EventSet = EventSet(0);
    /// Every event.
    pub const ALL: EventSet = EventSet((1 << 15) - 1);
    /// The events a meter's change or denial sends (notification rules listen to these).
    pub const METER: EventSet = EventSet(
        EventKind::MeterChanged.bit()
            | EventKind::MeterOverage.bit()
            | EventKind::MeterLimit.bit()
            | EventKind::MeterReset.bit()
            | EventKind::MeterGoverned.bit(),
    );

    /// The set of one kind.
    pub const fn of(kind: EventKind) -> EventSet {
        EventSet(kind.bit())
    }
    /// Whether `kind` is in the set.
    #[inline]
    pub const fn has(self, kind: EventKind) -> bool {
        self.0 & kind.bit() != 0
    }
    /// Whether the set is empty.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Whether the set holds any kind.
    #[inline]
    pub const fn any(self) -> bool {
        self.0 != 0
    }
    /// Both sets together.
    #[inline]
    #[must_use]
    pub const fn union(self, other: EventSet) -> EventSet {
        EventSet(self.0 | other.0)
    }
    /// The kinds in both sets.
    #[inline]
    #[must_use]
    pub const fn intersect(self, other: EventSet) -> EventSet {
        EventSet(self.0 & other.0)
    }
    /// The set with `kind` added.
    #[inline]
    #[must_use]
    pub const fn with(self, kind: EventKind) -> EventSet {
        EventSet(self.0 | kind.bit())
    }
}

/// What a handler listens to: kinds with a fixed name, and notification rules by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    kinds: EventSet,
    rules: Vec<&'static str>,
}

impl Filter {
    /// A filter over event names: fixed names, or names of notification rules in `rules`. An
    /// unknown name is `INVALID_ARGUMENT` naming its place: `events[1]: unknown event "meter-limt"`.
    pub fn new<S: AsRef<str>>(names: &[S], rules: &[&'static str]) -> crate::Result<Filter> {
        let mut f = Filter::default();
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref();
            if let Some(k) = EventKind::parse(name) {
                f.kinds = f.kinds.with(k);
            } else if let Some(rule) = rules.iter().find(|r| **r == name) {
                f.kinds = f.kinds.with(EventKind::Notification);
                if !f.rules.contains(rule) {
                    f.rules.push(rule);
                }
            } else {
                return Err(crate::Error::invalid(
                    crate::notify::intern(&format!("events[{i}]")),
                    format!("unknown event {}", Value::String(name.to_string())),
                ));
            }
        }
        Ok(f)
    }

    /// The kinds it listens to.
    pub fn kinds(&self) -> EventSet {
        self.kinds
    }

    /// Whether it listens to the event called `name` of kind `kind`.
    pub fn accepts(&self, kind: EventKind, name: &str) -> bool {
        match kind {
            EventKind::Notification => self.rules.contains(&name),
            k => self.kinds.has(k),
        }
    }
}

/// A committed change (or a denial) worth telling the host about.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stable name: `meter-changed`, `meter-overage`, `meter-limit`, `meter-reset`, `customer-set`,
    /// `customer-removed`, `customer-plan-changed`, `customer-topup-granted`, … or a notification
    /// rule's name.
    pub name: &'static str,
    kind: EventKind,
    json: Arc<str>,
}

impl Event {
    /// An event with its payload as a value (written to JSON text here).
    pub fn new(name: &'static str, payload: Value) -> Event {
        Event {
            name,
            kind: EventKind::of(name),
            json: payload.to_string().into(),
        }
    }

    /// An event whose payload is already JSON text.
    pub(crate) fn from_json(name: &'static str, kind: EventKind, json: String) -> Event {
        Event {
            name,
            kind,
            json: json.into(),
        }
    }

    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The payload as JSON text (exact numbers, snake_case fields as in the reference engine).
    pub fn payload_json(&self) -> &str {
        &self.json
    }

    /// The payload text, shared (no copy).
    pub fn payload_shared(&self) -> Arc<str> {
        self.json.clone()
    }

    /// The payload parsed into a value (a parse per call: handlers on hot paths read
    /// [`payload_json`](Self::payload_json)).
    pub fn payload(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }
}

/// Receives events. Implemented for closures `Fn(&Event) -> Result<(), String>`.
pub trait Handler: Send + Sync {
    /// Handles one event. An error does not undo the decision nor stop other handlers; it is
    /// passed to the engine's error reporter.
    fn handle(&self, event: &Event) -> Result<(), String>;
}

impl<F> Handler for F
where
    F: Fn(&Event) -> Result<(), String> + Send + Sync,
{
    fn handle(&self, event: &Event) -> Result<(), String> {
        self(event)
    }
}

/// Called with (handler name, event name, error) when a handler fails.
pub type ErrorReporter = Arc<dyn Fn(&str, &str, &str) + Send + Sync>;

struct Entry {
    name: String,
    handler: Arc<dyn Handler>,
    /// `None`: every event.
    filter: Option<Filter>,
}

type List = Arc<Vec<Arc<Entry>>>;

/// Named handlers, run in registration order.
#[derive(Default)]
pub struct Handlers {
    list: RwLock<List>,
    /// The union of what the handlers listen to.
    wanted: AtomicU32,
    reporter: RwLock<Option<ErrorReporter>>,
    /// Events sent by calls that handlers made while this thread delivers, by thread: they are
    /// delivered after the events before them, so every handler sees commit order.
    nested: parking_lot::Mutex<Vec<(std::thread::ThreadId, std::collections::VecDeque<Event>)>>,
}

/// The text of a handler's panic, reported like a handler error.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".into());
    format!("handler panicked: {what}")
}

impl Handlers {
    /// Adds (or replaces, keeping its place) the handler called `name`; it receives every event.
    pub fn add(&self, name: &str, handler: Arc<dyn Handler>) {
        self.add_filtered(name, handler, None);
    }

    /// Adds (or replaces, keeping its place) the handler called `name`, receiving the events
    /// `filter` accepts (every event with `None`).
    pub fn add_filtered(&self, name: &str, handler: Arc<dyn Handler>, filter: Option<Filter>) {
        let mut list = self.list.write();
        let entry = Arc::new(Entry {
            name: name.to_string(),
            handler,
            filter,
        });
        let mut next: Vec<Arc<Entry>> = list.as_ref().clone();
        match next.iter_mut().find(|e| e.name == name) {
            Some(slot) => *slot = entry,
            None => next.push(entry),
        }
        self.publish(&mut list, next);
    }

    /// Removes the handler called `name`; true if there was one.
    pub fn remove(&self, name: &str) -> bool {
        let mut list = self.list.write();
        let before = list.len();
        let next: Vec<Arc<Entry>> = list.iter().filter(|e| e.name != name).cloned().collect();
        let removed = next.len() != before;
        self.publish(&mut list, next);
        removed
    }

    /// Removes every handler.
    pub fn clear(&self) {
        let mut list = self.list.write();
        self.publish(&mut list, Vec::new());
    }

    fn publish(&self, list: &mut List, next: Vec<Arc<Entry>>) {
        let wanted = next.iter().fold(EventSet::NONE, |acc, e| {
            acc.union(e.filter.as_ref().map_or(EventSet::ALL, Filter::kinds))
        });
        *list = Arc::new(next);
        self.wanted.store(wanted.0, Ordering::Release);
    }

    /// Whether any handler is registered that listens to something.
    pub fn active(&self) -> bool {
        self.wanted().any()
    }

    /// The kinds some handler listens to (one atomic load).
    #[inline]
    pub fn wanted(&self) -> EventSet {
        EventSet(self.wanted.load(Ordering::Acquire))
    }

    /// Whether some handler listens to the event called `name` of kind `kind`.
    pub fn delivers(&self, kind: EventKind, name: &str) -> bool {
        if !self.wanted().has(kind) {
            return false;
        }
        if kind != EventKind::Notification {
            return true;
        }
        self.list
            .read()
            .iter()
            .any(|e| e.filter.as_ref().is_none_or(|f| f.accepts(kind, name)))
    }

    /// Sets the function told about handler failures (by default they are dropped: the core does no I/O).
    pub fn set_error_reporter(&self, reporter: Option<ErrorReporter>) {
        *self.reporter.write() = reporter;
    }

    /// Delivers events in order to every handler listening to them, in registration order. Call
    /// with no lock held.
    pub fn dispatch(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        // a call made by a handler while this thread delivers: its events wait for the events
        // committed before them (delivered by the outer dispatch, in order)
        let me = std::thread::current().id();
        {
            let mut nested = self.nested.lock();
            if let Some((_, queue)) = nested.iter_mut().find(|(t, _)| *t == me) {
                queue.extend(events.iter().cloned());
                return;
            }
            nested.push((me, std::collections::VecDeque::new()));
        }
        // whatever happens below (a panicking error reporter), this thread stops queueing
        struct Done<'h>(&'h Handlers, std::thread::ThreadId);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.nested.lock().retain(|(t, _)| *t != self.1);
            }
        }
        let _done = Done(self, me);
        self.deliver(events);
        loop {
            let next = {
                let mut nested = self.nested.lock();
                let Some(at) = nested.iter().position(|(t, _)| *t == me) else {
                    break;
                };
                nested.get_mut(at).and_then(|(_, q)| q.pop_front())
            };
            match next {
                Some(event) => self.deliver(std::slice::from_ref(&event)),
                None => break,
            }
        }
    }

    /// Runs every handler on each event; an error or a panic is reported and the rest still run.
    fn deliver(&self, events: &[Event]) {
        let list = self.list.read().clone();
        let reporter = self.reporter.read().clone();
        for event in events {
            for e in list.iter() {
                if e.filter
                    .as_ref()
                    .is_some_and(|f| !f.accepts(event.kind, event.name))
                {
                    continue;
                }
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    e.handler.handle(event)
                }))
                .unwrap_or_else(|panic| Err(panic_text(panic.as_ref())));
                if let (Err(err), Some(r)) = (outcome, &reporter) {
                    r(&e.name, event.name, &err);
                }
            }
        }
    }
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.list.read().iter().map(|e| e.name.clone()).collect();
        f.debug_struct("Handlers").field("names", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_name_parses_back_to_its_kind_and_sets_its_own_bit() {
        let mut seen = EventSet::NONE;
        for k in EventKind::NAMED {
            let name = k.name().unwrap_or_default();
            assert_eq!(EventKind::parse(name), Some(k));
            assert!(!seen.has(k), "{name} shares a bit");
            seen = seen.with(k);
            assert!(EventSet::ALL.has(k));
        }
        assert!(EventSet::ALL.has(EventKind::Notification));
        assert_eq!(EventKind::of("chat-80"), EventKind::Notification);
    }

    #[test]
    fn an_unknown_name_in_a_filter_is_an_invalid_argument_naming_its_place() {
        let err = Filter::new(&["meter-limit", "meter-limt"], &[]).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert_eq!(err.to_string(), r#"events[1]: unknown event "meter-limt""#);
        let f = Filter::new(&["meter-limit", "chat-80"], &["chat-80"]).unwrap();
        assert!(f.accepts(EventKind::MeterLimit, "meter-limit"));
        assert!(f.accepts(EventKind::Notification, "chat-80"));
        assert!(!f.accepts(EventKind::Notification, "chat-90"));
        assert!(!f.accepts(EventKind::MeterChanged, "meter-changed"));
    }

    #[test]
    fn the_wanted_set_is_the_union_of_the_filters_and_follows_removals() {
        let h = Handlers::default();
        let noop: Arc<dyn Handler> = Arc::new(|_: &Event| Ok(()));
        assert!(h.wanted().is_empty());
        let limit = Filter::new(&["meter-limit"], &[]).unwrap();
        h.add_filtered("a", noop.clone(), Some(limit));
        assert_eq!(h.wanted(), EventSet::of(EventKind::MeterLimit));
        h.add("b", noop.clone());
        assert_eq!(h.wanted(), EventSet::ALL);
        assert!(h.remove("b"));
        assert_eq!(h.wanted(), EventSet::of(EventKind::MeterLimit));
        h.clear();
        assert!(!h.active());
    }
}
