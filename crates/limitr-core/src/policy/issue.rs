//! A problem found in a policy document, with its path.

use std::fmt;

/// How serious an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document is rejected.
    Error,
    /// The document loads; the problem is reported by [`crate::Limitr::lint`].
    Warning,
}

/// One validation problem: where it is, a stable code, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    /// Dotted path from the document root, e.g. `policy.plans.pro.entitlements.chat.limit.credit`.
    pub path: String,
    /// Stable code: `UNKNOWN_CREDIT`, `INVALID_NUMBER`, `INVALID_VALUE`, `INVALID_TYPE`,
    /// `MISSING_FIELD`, `CONFLICT`, `INVALID_RESET`, `BROKEN_EXCHANGE`, `UNKNOWN_FIELD`.
    pub code: &'static str,
    /// What is wrong, lowercase, user input in backticks.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Joins issues into one message, one per line after the first.
pub(crate) fn join(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
