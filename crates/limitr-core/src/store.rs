//! Where customers live: a [`Store`] gives atomic read-modify-write per customer.
//!
//! The in-memory [`MemoryStore`] is the default. Stores that do I/O live in their own crates and
//! implement the same trait: `limitr-journal` wraps the memory store and appends, under each
//! customer's lock, the post-image of every customer a closure changed, before the call returns.
//! A closure given to [`Store::update`] or [`Store::update_many`] is therefore the unit of
//! atomicity: everything one call changes (its meters, its idempotency key) is changed inside one.
//!
//! A closure is a decision: a pure transition of the customers it is given (it is `Fn`, so it can
//! change nothing it captured). A store may therefore run it more than once: a shared store that
//! commits optimistically runs it on its cached copy, and when the commit finds that another
//! instance changed the customer first, runs it again on the fresh state the store returned. The
//! answer is the last run's. The memory store runs it exactly once, under the customer's lock.

mod memory;

pub use memory::MemoryStore;

use crate::customer::Customer;

/// Customer storage with an atomic update per customer.
pub trait Store: Send + Sync {
    /// Runs `f` on a customer without changing it.
    fn read<R>(&self, id: &str, f: impl FnOnce(&Customer) -> R) -> Option<R>;
    /// Runs `f` on a customer under its lock; what `f` leaves is what is stored.
    fn update<R>(&self, id: &str, f: impl Fn(&mut Customer) -> R) -> Option<R>;
    /// Runs `f` on several customers at once, each locked (in a global order, so concurrent calls
    /// cannot deadlock). `ids` may repeat; `f` gets each distinct customer once, in sorted id order.
    /// `None` when one of them does not exist.
    fn update_many<R>(&self, ids: &[&str], f: impl Fn(&mut [&mut Customer]) -> R) -> Option<R>;
    /// Inserts a customer, or runs `existing` on the stored one when the id is taken. Atomic.
    fn upsert<R>(&self, customer: Customer, existing: impl Fn(&mut Customer) -> R) -> Option<R>;
    /// Removes a customer, returning it.
    fn remove(&self, id: &str) -> Option<Customer>;
    /// Every customer id, sorted.
    fn ids(&self) -> Vec<String>;
    /// Number of customers.
    fn len(&self) -> usize;
    /// Whether there are no customers.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Why the last call on this thread answered `None` or nothing, when the store could not
    /// serve it (unreachable, timed out, refused), and clears it. The engine asks after each
    /// operation, so a failure is the operation's error and never reads as an unknown customer or
    /// a denial. Stores that cannot fail keep the default (`None`).
    fn take_failure(&self) -> Option<crate::Error> {
        None
    }
    /// Every customer, sorted by id, as one consistent cut: no multi-customer commit is half in.
    /// The default reads one customer at a time (consistent per customer only); stores that can
    /// do better override it.
    fn snapshot(&self) -> Vec<Customer> {
        self.ids()
            .iter()
            .filter_map(|id| self.read(id, Customer::clone))
            .collect()
    }
}
