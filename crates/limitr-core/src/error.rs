//! The one error type of the engine, with a stable code per kind.
//!
//! A *denial* is not an error: `allow` returning `false` is a normal answer. An [`Error`] means the
//! engine could not evaluate the request (bad document, bad argument, unknown plan, ...).

use crate::policy::issue::Issue;

/// `Result` with the engine's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can make the engine refuse a request. Each variant has a stable
/// [`code`](Error::code) that bindings expose (`err.code` in JS, one exception class per code in Python).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy document failed validation; every problem is listed with its path.
    #[error("invalid policy: {}", crate::policy::issue::join(.0))]
    PolicyInvalid(Vec<Issue>),
    /// The document text could not be parsed in the declared format.
    #[error("{format}: {message}")]
    PolicyParse {
        /// The format that was being parsed (`json`, `yaml`, `toml`).
        format: &'static str,
        /// The parser's message, with its line and column when known.
        message: String,
    },
    /// The document is larger than the configured maximum.
    #[error(
        "document is {size} bytes, over the maximum of {max} bytes (raise `max_document_bytes` to load it)"
    )]
    DocumentTooLarge {
        /// Size of the document in bytes.
        size: usize,
        /// Configured maximum in bytes.
        max: usize,
    },
    /// The requested document format is not supported.
    #[error("format `{0}` is not supported: use json, yaml or toml")]
    FormatUnsupported(String),
    /// An argument of a call is invalid (empty id, NaN, infinite amount, ...). Nothing changed.
    #[error("{name}: {message}")]
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A plan named in a call does not exist in the policy.
    #[error("unknown plan `{0}`")]
    UnknownPlan(String),
    /// A top-up named in a call does not exist on the customer's plan.
    #[error("unknown top-up `{topup}` on plan `{plan}`")]
    UnknownTopup {
        /// The top-up's name.
        topup: String,
        /// The plan it was looked up on.
        plan: String,
    },
    /// A credit or currency named in a call (an override's or a cap's) does not exist.
    #[error("unknown credit `{0}`")]
    UnknownCredit(String),
    /// A customer was required (not merely looked up) and does not exist.
    #[error("unknown customer `{0}`")]
    UnknownCustomer(String),
    /// An amount is too large for exact decimal arithmetic.
    #[error("{0}: amount out of range for exact decimal arithmetic")]
    Overflow(&'static str),
    /// The document could not be written in the requested format.
    #[error("{format}: {message}")]
    Serialize {
        /// Target format.
        format: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The durable store could not be opened, read or written (a damaged journal names its file
    /// and byte offset). A call that met it changed nothing.
    #[error("storage: {0}")]
    Storage(String),
    /// An idempotency key was used again with different arguments (another operation,
    /// entitlement, value or options) while its first use is remembered. Nothing changed.
    #[error(
        "idempotency key `{key}` was first used for a different call (`{operation}` with other arguments); use a new key for a new call"
    )]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The operation the key was first used for (`allow`, `reserve`, ...).
        operation: String,
    },
}

impl Error {
    /// The stable, documented code of this error (`POLICY_INVALID`, `INVALID_ARGUMENT`, ...).
    ///
    /// ```
    /// use limitr_core::Error;
    /// assert_eq!(Error::UnknownPlan("pro".into()).code(), "UNKNOWN_PLAN");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::PolicyInvalid(_) => "POLICY_INVALID",
            Error::PolicyParse { .. } => "POLICY_PARSE",
            Error::DocumentTooLarge { .. } => "DOCUMENT_TOO_LARGE",
            Error::FormatUnsupported(_) => "FORMAT_UNSUPPORTED",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::UnknownPlan(_) => "UNKNOWN_PLAN",
            Error::UnknownTopup { .. } => "UNKNOWN_TOPUP",
            Error::UnknownCredit(_) => "UNKNOWN_CREDIT",
            Error::UnknownCustomer(_) => "UNKNOWN_CUSTOMER",
            Error::Overflow(_) => "OVERFLOW",
            Error::Serialize { .. } => "SERIALIZE",
            Error::IdempotencyConflict { .. } => "IDEMPOTENCY_CONFLICT",
            Error::Storage(_) => "STORAGE",
        }
    }

    /// Every code an [`Error`] can carry, for bindings that build one exception class per code.
    pub const CODES: &'static [&'static str] = &[
        "POLICY_INVALID",
        "POLICY_PARSE",
        "DOCUMENT_TOO_LARGE",
        "FORMAT_UNSUPPORTED",
        "INVALID_ARGUMENT",
        "UNKNOWN_PLAN",
        "UNKNOWN_TOPUP",
        "UNKNOWN_CREDIT",
        "UNKNOWN_CUSTOMER",
        "OVERFLOW",
        "SERIALIZE",
        "STORAGE",
        "IDEMPOTENCY_CONFLICT",
    ];

    /// The validation problems, when this is [`Error::PolicyInvalid`].
    pub fn issues(&self) -> &[Issue] {
        match self {
            Error::PolicyInvalid(issues) => issues,
            _ => &[],
        }
    }

    pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            message: message.into(),
        }
    }
}
