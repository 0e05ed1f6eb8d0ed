//! `limitr validate`: every problem of a policy with its path and line; exit 1 on errors.

use crate::document::{self, Document};
use crate::failure::outln;
use crate::failure::{Failure, Result};
use crate::locate::{self, Locator, Position};
use limitr_core::{Error, Format, Issue, Limitr, Severity};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `limitr validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy file (.json, .yaml or .toml).
    pub policy: PathBuf,
    /// The document's format, when the extension does not say it.
    #[arg(long, value_parser = document::parse_format)]
    pub format: Option<Format>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// One reported problem.
#[derive(Debug, serde::Serialize)]
struct Found {
    severity: Severity,
    code: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u64>,
    message: String,
}

impl Found {
    fn of(issue: &Issue, locator: Option<&Locator>) -> Found {
        let at = locator.and_then(|l| l.find(&issue.path));
        Found::at(issue.severity, issue.code, &issue.path, at, &issue.message)
    }

    fn at(
        severity: Severity,
        code: &'static str,
        path: &str,
        at: Option<Position>,
        message: &str,
    ) -> Found {
        Found {
            severity,
            code,
            path: path.to_string(),
            line: at.map(|p| p.line),
            column: at.map(|p| p.column),
            message: message.to_string(),
        }
    }
}

/// Runs the command.
pub fn run(args: &Args) -> Result<ExitCode> {
    let doc = Document::read(&args.policy, args.format)?;
    let found = check(&doc)?;
    let errors = found
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = found.len() - errors;
    if args.json {
        let out = serde_json::json!({
            "file": doc.path.display().to_string(),
            "format": doc.format.name(),
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "issues": found,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| Failure::new(e.to_string()))?
        );
    } else {
        let file = doc.path.display().to_string();
        for f in &found {
            let place = match (f.line, f.column) {
                (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
                _ => file.clone(),
            };
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            if f.path.is_empty() {
                outln!("{place}: {sev}[{}] {}", f.code, f.message);
            } else {
                outln!("{place}: {sev}[{}] {}: {}", f.code, f.path, f.message);
            }
        }
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        outln!(
            "{file}: {}, {}{}",
            plural(errors, "error"),
            plural(warnings, "warning"),
            if errors == 0 { " — valid" } else { "" }
        );
        if errors > 0 {
            // the core reports warnings only for documents that load
            outln!("(warnings such as unknown fields are listed once the errors are fixed)");
        }
    }
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Every problem of the document, errors first in document order, then warnings.
fn check(doc: &Document) -> Result<Vec<Found>> {
    let locator = Locator::new(&doc.text, doc.format);
    match Limitr::load(&doc.text, doc.format) {
        Ok(engine) => Ok(engine
            .lint()
            .iter()
            .map(|i| Found::of(i, locator.as_ref()))
            .collect()),
        Err(Error::PolicyInvalid(issues)) => {
            let mut found: Vec<Found> = issues
                .iter()
                .map(|i| Found::of(i, locator.as_ref()))
                .collect();
            // warnings are only known from a document that loads; report those of the rules
            // alone when the customers were what failed
            if let Ok(v) = doc.value()
                && let Some(mut rules) = v.get("policy").and_then(|p| p.as_object()).cloned()
            {
                rules.remove("customers");
                let only = serde_json::json!({ "policy": rules });
                if let Ok(engine) = Limitr::from_value(&only) {
                    found.extend(engine.lint().iter().map(|i| Found::of(i, locator.as_ref())));
                }
            }
            Ok(found)
        }
        Err(e @ Error::PolicyParse { .. }) => {
            let at = locate::parse_error_position(&doc.text, doc.format);
            Ok(vec![Found::at(
                Severity::Error,
                e.code(),
                "",
                at,
                &e.to_string(),
            )])
        }
        Err(e) => Err(doc.failure(&e)),
    }
}
