//! `limitr fmt`: converts a policy between JSON, YAML and TOML with the core's format code
//! (numbers stay exact; unknown fields are kept; TOML has no null, so null fields are left out).

use crate::document::{self, Document};
use crate::failure::out;
use crate::failure::{Failure, Result};
use limitr_core::Format;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `limitr fmt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy file (.json, .yaml or .toml).
    pub policy: PathBuf,
    /// The format to write (default: the extension of `-o`, else the input's format).
    #[arg(long, value_parser = document::parse_format)]
    pub to: Option<Format>,
    /// The input's format, when the extension does not say it.
    #[arg(long, value_parser = document::parse_format)]
    pub format: Option<Format>,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<ExitCode> {
    let doc = Document::read(&args.policy, args.format)?;
    let to = match (args.to, &args.output) {
        (Some(f), _) => f,
        (None, Some(out)) => document::format_of(out)?,
        (None, None) => doc.format,
    };
    let value = doc.value()?;
    let mut text = to.write(&value).map_err(|e| {
        Failure::new(format!(
            "`{}`: cannot write as {}: {e}",
            doc.path.display(),
            to.name()
        ))
    })?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match &args.output {
        Some(out) => std::fs::write(out, text).map_err(|e| Failure::io("write", out, &e))?,
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
