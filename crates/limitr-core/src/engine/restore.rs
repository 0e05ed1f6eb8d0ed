//! Customers read back from a document: every record checked, every problem reported with its
//! path, records parsed one at a time from a split JSON text.

use super::Limitr;
use crate::customer::Customer;
use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::policy::issue::{Issue, Severity};
use crate::policy::split::{Customers, Split};
use crate::store::Store;
use serde_json::Value;

/// Customers restored so far, and the problems found.
pub(super) struct Restore<'p> {
    policy: &'p Policy,
    loaded: Vec<Customer>,
    issues: Vec<Issue>,
}

impl<'p> Restore<'p> {
    pub(super) fn new(policy: &'p Policy) -> Self {
        Restore {
            policy,
            loaded: Vec::new(),
            issues: Vec::new(),
        }
    }

    /// Restores the customer `id` from its record.
    pub(super) fn record(&mut self, id: &str, record: &Value) {
        match Customer::from_record(record, self.policy) {
            Ok(c) => self.loaded.push(c),
            Err((field, message)) => self.issue(id, &field, message),
        }
    }

    fn issue(&mut self, id: &str, field: &str, message: String) {
        self.issues.push(Issue {
            path: if field.is_empty() {
                format!("policy.customers.{id}")
            } else {
                format!("policy.customers.{id}.{field}")
            },
            code: "INVALID_VALUE",
            message,
            severity: Severity::Error,
        });
    }

    /// The section is not an object of customers.
    pub(super) fn not_an_object(&mut self) {
        self.issues.push(Issue {
            path: "policy.customers".into(),
            code: "INVALID_TYPE",
            message: "expected an object of customers by id".into(),
            severity: Severity::Error,
        });
    }

    /// The customers, or every problem found.
    pub(super) fn finish(self) -> Result<Vec<Customer>> {
        if self.issues.is_empty() {
            Ok(self.loaded)
        } else {
            Err(Error::PolicyInvalid(self.issues))
        }
    }
}

/// The engine over a split JSON document: the policy from its tree, each customer parsed from
/// its own text and dropped once restored.
pub(super) fn from_split<S: Store>(split: Split<'_>, store: S) -> Result<Limitr<S>> {
    let (policy, _) = Policy::from_root(&split.root)?;
    let mut restore = Restore::new(&policy);
    match split.customers {
        Customers::None => {}
        Customers::Records(records) => {
            restore.loaded.reserve(records.len());
            for (id, raw) in records {
                match serde_json::from_str::<Value>(raw.get()) {
                    Ok(record) => restore.record(&id, &record),
                    Err(e) => restore.issue(&id, "", e.to_string()),
                }
            }
        }
        Customers::Other => restore.not_an_object(),
    }
    let loaded = restore.finish()?;
    Limitr::assemble(policy, loaded, store)
}
