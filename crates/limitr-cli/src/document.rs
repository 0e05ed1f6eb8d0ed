//! Policy files: read from disk, their format from the extension (or `--format`), loaded into the
//! engine with every problem reported against the file, path and line.

use crate::failure::{Failure, Result};
use crate::locate::{self, Locator};
use limitr_core::{Error, Format, Issue, Limitr};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A policy document's text and format.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Its format.
    pub format: Format,
}

/// The format a file's extension names (`.json`, `.yaml`/`.yml`, `.toml`).
pub fn format_of(path: &Path) -> Result<Format> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    Format::parse(ext).map_err(|_| {
        Failure::new(format!(
            "`{}`: cannot tell the format from the extension `{ext}`; name the file .json, .yaml \
             or .toml, or pass --format",
            path.display()
        ))
    })
}

/// A `--format` value.
pub fn parse_format(name: &str) -> std::result::Result<Format, String> {
    Format::parse(name).map_err(|e| e.to_string())
}

impl Document {
    /// Reads `path`; `format` overrides the extension.
    pub fn read(path: &Path, format: Option<Format>) -> Result<Document> {
        let format = match format {
            Some(f) => f,
            None => format_of(path)?,
        };
        let text = std::fs::read_to_string(path).map_err(|e| Failure::io("read", path, &e))?;
        Ok(Document {
            path: path.to_path_buf(),
            text,
            format,
        })
    }

    /// The document as a value tree.
    pub fn value(&self) -> Result<Value> {
        self.format
            .read(
                &self.text,
                limitr_core::policy::format::DEFAULT_MAX_DOCUMENT_BYTES,
            )
            .map_err(|e| self.failure(&e))
    }

    /// Loads the engine from the document.
    pub fn load(&self) -> Result<Limitr> {
        Limitr::load(&self.text, self.format).map_err(|e| self.failure(&e))
    }

    /// Loads the engine from the document's rules with the customers (and learned estimates and
    /// alternative ids) of `state`, a document written by the engine's `stringify`.
    pub fn load_with_state(&self, state: &Document) -> Result<Limitr> {
        let mut doc = self.value()?;
        let saved = state.value()?;
        let saved_policy = saved
            .get("policy")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                Failure::new(format!(
                    "`{}`: a state file is a document written by `stringify`: expected a top-level \
                 `policy` object",
                    state.path.display()
                ))
            })?;
        let Some(target) = doc.get_mut("policy").and_then(Value::as_object_mut) else {
            return Err(self.failure(&Error::PolicyInvalid(vec![Issue {
                path: "policy".into(),
                code: "MISSING_FIELD",
                message: "the document must have a top-level `policy` object".into(),
                severity: limitr_core::Severity::Error,
            }])));
        };
        for key in ["customers", "estimates", "alt_customer_ids"] {
            if let Some(v) = saved_policy.get(key) {
                target.insert(key.into(), v.clone());
            }
        }
        Limitr::from_value(&doc).map_err(|e| {
            Failure::new(format!(
                "`{}` with the state of `{}`: {e}",
                self.path.display(),
                state.path.display()
            ))
        })
    }

    /// `file:line:column` of a document path (just the file when it cannot be placed).
    pub fn place(&self, locator: Option<&Locator>, path: &str) -> String {
        match locator.and_then(|l| l.find(path)) {
            Some(p) => format!("{}:{}:{}", self.path.display(), p.line, p.column),
            None => self.path.display().to_string(),
        }
    }

    /// An engine error on this document as a failure naming the file, and for each validation
    /// issue its line and path.
    pub fn failure(&self, e: &Error) -> Failure {
        match e {
            Error::PolicyInvalid(issues) => {
                let locator = Locator::new(&self.text, self.format);
                let lines: Vec<String> = issues
                    .iter()
                    .map(|i| {
                        format!(
                            "{}: {}: {}",
                            self.place(locator.as_ref(), &i.path),
                            i.path,
                            i.message
                        )
                    })
                    .collect();
                Failure::new(format!(
                    "`{}`: invalid policy ({} {}):\n  {}",
                    self.path.display(),
                    issues.len(),
                    if issues.len() == 1 {
                        "problem"
                    } else {
                        "problems"
                    },
                    lines.join("\n  ")
                ))
            }
            Error::PolicyParse { .. } => {
                match locate::parse_error_position(&self.text, self.format) {
                    Some(p) => Failure::new(format!(
                        "{}:{}:{}: cannot parse: {e}",
                        self.path.display(),
                        p.line,
                        p.column
                    )),
                    None => Failure::new(format!("`{}`: cannot parse: {e}", self.path.display())),
                }
            }
            other => Failure::new(format!("`{}`: {other}", self.path.display())),
        }
    }
}
