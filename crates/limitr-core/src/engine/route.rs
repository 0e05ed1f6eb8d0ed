//! Whose meter a call moves: the caller's own, or (for scoped entitlements) the nearest customer
//! of the scope's type through refs; and which plan applies (the caller's, else one inherited
//! through refs, else the default plan). Alternative ids resolve to their customer.

use super::Limitr;
use crate::customer::Customer;
use crate::decision::{self, Reason};
use crate::idempotency::{Keyed, Outcome};
use crate::policy::plan::{Entitlement, Plan};
use crate::store::Store;
use std::collections::VecDeque;

/// The most customers a refs walk visits (a guard against huge or cyclic graphs).
const MAX_WALK: usize = 10_000;

enum Fast<R> {
    Done(R),
    Missing,
    Slow,
}

/// Reads and decisions tidy grants (expired removed, resetting ones refilled), as the original
/// engine does, so a refill seen once is kept.
fn tidy_grants(c: &mut Customer, now: crate::time::Timestamp) {
    if !c.grants.is_empty() && crate::grant::untidy(&c.grants, now) {
        c.grants = crate::grant::tidy(&c.grants, now);
    }
}

/// Where the caller's own plan puts an entitlement: on the caller's own meter, nowhere, or with
/// someone else (no own plan, or a scope the caller is not): the slow path finds the owner.
enum Own<'p> {
    Here(&'p Plan, &'p Entitlement),
    Missing,
    Elsewhere,
}

impl<S: Store> Limitr<S> {
    /// Where `c`'s own plan puts `ent` (the fast path of [`on_target`](Self::on_target)).
    fn own_entitlement(&self, c: &Customer, ent: &str) -> Own<'_> {
        match decision::own_plan(&self.policy, c) {
            Some(plan) => match plan.entitlement(ent) {
                None => Own::Missing,
                Some(e) if e.scope.as_deref().is_none_or(|s| s == c.kind()) => Own::Here(plan, e),
                Some(_) => Own::Elsewhere,
            },
            None => Own::Elsewhere,
        }
    }

    /// The primary id of `id` (itself, or the customer an alternative id points to).
    pub(crate) fn primary_id(&self, id: &str) -> Option<String> {
        if self.store.read(id, |_| ()).is_some() {
            return Some(id.to_string());
        }
        self.alt_ids.read().get(id).cloned()
    }

    /// Breadth-first over refs from `start` (excluded), the first customer matching `pred`.
    pub(crate) fn walk_refs<T>(
        &self,
        start: &str,
        pred: impl FnMut(&Customer) -> Option<T>,
    ) -> Option<T> {
        let queue: VecDeque<String> = self
            .store
            .read(start, |c| c.refs().iter().cloned().collect())?;
        self.walk_from(start, queue, pred)
    }

    /// Breadth-first from `queue` (customers `start`, excluded, refers to), the first customer
    /// matching `pred`.
    fn walk_from<T>(
        &self,
        start: &str,
        mut queue: VecDeque<String>,
        mut pred: impl FnMut(&Customer) -> Option<T>,
    ) -> Option<T> {
        let mut seen: hashbrown::HashSet<String> = hashbrown::HashSet::new();
        seen.insert(start.to_string());
        while let Some(id) = queue.pop_front() {
            if seen.len() > MAX_WALK || !seen.insert(id.clone()) {
                continue;
            }
            let found = self.store.read(&id, |c| match pred(c) {
                Some(t) => Ok(t),
                None => Err(c.refs().to_vec()),
            });
            match found {
                Some(Ok(t)) => return Some(t),
                Some(Err(next)) => queue.extend(next),
                None => {}
            }
        }
        None
    }

    /// The plan that applies to a customer: its own, else the first found through refs, else the
    /// default plan.
    pub(crate) fn plan_for(&self, id: &str) -> Option<&Plan> {
        let own = self.store.read(id, |c| {
            decision::own_plan(&self.policy, c).map(|p| p.name.clone())
        })?;
        let name = own.or_else(|| {
            self.walk_refs(id, |c| {
                decision::own_plan(&self.policy, c).map(|p| p.name.clone())
            })
        });
        match name {
            Some(n) => self.policy.plan(&n),
            None => self.policy.plan(self.policy.default_plan.as_deref()?),
        }
    }

    /// The plan that would apply to `c`, a customer not yet stored: its own, else the first found
    /// through its refs, else the default plan.
    pub(crate) fn plan_of_new(&self, c: &Customer) -> Option<&Plan> {
        let own = decision::own_plan(&self.policy, c).map(|p| p.name.clone());
        let name = own.or_else(|| {
            self.walk_from(&c.id, c.refs().iter().cloned().collect(), |r| {
                decision::own_plan(&self.policy, r).map(|p| p.name.clone())
            })
        });
        match name {
            Some(n) => self.policy.plan(&n),
            None => self.policy.plan(self.policy.default_plan.as_deref()?),
        }
    }

    /// Runs `f` with the plan, the entitlement and the owner of the meter, under the owner's lock,
    /// with grants tidied as of `now` (the call's time: the clock is read once per call).
    /// Unknown customer, unknown entitlement and a scope with no owner are `Err(reason)`.
    pub(crate) fn on_target<R>(
        &self,
        caller: &str,
        ent: &str,
        now: crate::time::Timestamp,
        f: impl Fn(&Plan, &Entitlement, &mut Customer) -> R,
    ) -> Result<R, Reason> {
        let f = move |plan: &Plan, e: &Entitlement, c: &mut Customer| {
            tidy_grants(c, now);
            f(plan, e, c)
        };
        // fast path: the caller names its plan and the entitlement is its own
        let fast = self
            .store
            .update(caller, |c| match self.own_entitlement(c, ent) {
                Own::Here(plan, e) => Fast::Done(f(plan, e, c)),
                Own::Missing => Fast::Missing,
                Own::Elsewhere => Fast::Slow,
            });
        let id = match fast {
            Some(Fast::Done(r)) => return Ok(r),
            Some(Fast::Missing) => return Err(Reason::UnknownEntitlement),
            Some(Fast::Slow) => caller.to_string(),
            None => self.primary_id(caller).ok_or(Reason::UnknownCustomer)?,
        };
        let (plan, e, owner) = self.target(&id, ent)?;
        self.store
            .update(&owner, |o| f(plan, e, o))
            .ok_or(Reason::UnknownCustomer)
    }

    /// The plan, the entitlement and the meter's owner for a call by `id` (a primary id).
    fn target(&self, id: &str, ent: &str) -> Result<(&Plan, &Entitlement, String), Reason> {
        let plan = self.plan_for(id).ok_or(Reason::UnknownEntitlement)?;
        let e = plan.entitlement(ent).ok_or(Reason::UnknownEntitlement)?;
        let kind = self
            .store
            .read(id, |c| c.kind().to_string())
            .ok_or(Reason::UnknownCustomer)?;
        let owner = match e.scope.as_deref() {
            Some(scope) if scope != kind => self
                .walk_refs(id, |c| (c.kind() == scope).then(|| c.id.to_string()))
                .ok_or(Reason::Scope)?,
            _ => id.to_string(),
        };
        Ok((plan, e, owner))
    }

    /// [`on_target`](Self::on_target) for a mutating call that may carry an idempotency key. The
    /// key lives on the caller (its primary id): the caller's lock is taken with the owner's (one
    /// `update_many` when they differ), and inside it the key is checked, `f` runs, and the key is
    /// recorded with `answer(&r)`, all at once. A seen key answers [`Outcome::Replay`] without
    /// running `f`; an error from `f` records nothing. Without a key this is `on_target`.
    pub(crate) fn on_target_keyed<R>(
        &self,
        caller: &str,
        ent: &str,
        now: crate::time::Timestamp,
        keyed: Option<&Keyed>,
        f: impl Fn(&Plan, &Entitlement, &mut Customer) -> crate::Result<R>,
        answer: impl Fn(&R) -> serde_json::Value,
    ) -> Result<crate::Result<Outcome<R>>, Reason> {
        let Some(k) = keyed else {
            return self.on_target(caller, ent, now, |p, e, o| f(p, e, o).map(Outcome::Fresh));
        };
        match self.route_keyed(caller, ent, now, k, f, answer) {
            Err(reason) => match self.unrouted(caller, k, now) {
                Some(seen) => Ok(seen.map(Outcome::Replay)),
                None => Err(reason),
            },
            routed => routed,
        }
    }

    /// For a keyed call that found no meter to move (unknown entitlement, no scope owner): the
    /// caller's use of the key, if it holds it (the first answer, or the conflict).
    pub(crate) fn unrouted(
        &self,
        caller: &str,
        keyed: &Keyed,
        now: crate::time::Timestamp,
    ) -> Option<crate::Result<serde_json::Value>> {
        let id = self.primary_id(caller)?;
        self.store.read(&id, |c| keyed.replay(c, now))?.transpose()
    }

    fn route_keyed<R>(
        &self,
        caller: &str,
        ent: &str,
        now: crate::time::Timestamp,
        k: &Keyed,
        f: impl Fn(&Plan, &Entitlement, &mut Customer) -> crate::Result<R>,
        answer: impl Fn(&R) -> serde_json::Value,
    ) -> Result<crate::Result<Outcome<R>>, Reason> {
        let tidy = move |c: &mut Customer| tidy_grants(c, now);
        // fast path, as in `on_target`: the caller's own plan and an entitlement it owns
        let fast = self
            .store
            .update(caller, |c| match self.own_entitlement(c, ent) {
                Own::Here(plan, e) => {
                    tidy(c);
                    Fast::Done(Keyed::run(Some(k), c, now, |c| f(plan, e, c), &answer))
                }
                Own::Missing => Fast::Missing,
                Own::Elsewhere => Fast::Slow,
            });
        let id = match fast {
            Some(Fast::Done(r)) => return Ok(r),
            Some(Fast::Missing) => return Err(Reason::UnknownEntitlement),
            Some(Fast::Slow) => caller.to_string(),
            None => self.primary_id(caller).ok_or(Reason::UnknownCustomer)?,
        };
        let (plan, e, owner) = self.target(&id, ent)?;
        if owner == id {
            return self
                .store
                .update(&owner, |o| {
                    tidy(o);
                    Keyed::run(Some(k), o, now, |o| f(plan, e, o), &answer)
                })
                .ok_or(Reason::UnknownCustomer);
        }
        self.store
            .update_many(&[owner.as_str(), id.as_str()], |cs| {
                let mut o = None;
                let mut keeper = None;
                for c in cs.iter_mut() {
                    if *c.id == *owner {
                        o = Some(c);
                    } else if *c.id == *id {
                        keeper = Some(c);
                    }
                }
                let (Some(o), Some(keeper)) = (o, keeper) else {
                    return None;
                };
                tidy(o);
                Some(match k.replay(keeper, now) {
                    Err(e) => Err(e),
                    Ok(Some(v)) => Ok(Outcome::Replay(v)),
                    Ok(None) => f(plan, e, o).map(|r| {
                        k.record(keeper, answer(&r), now);
                        Outcome::Fresh(r)
                    }),
                })
            })
            .flatten()
            .ok_or(Reason::UnknownCustomer)
    }
}
