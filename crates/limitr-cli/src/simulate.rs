//! `limitr simulate`: replays a usage file through a policy into a margin report.

use crate::document::{self, Document};
use crate::failure::{Failure, Result};
use crate::failure::{out, outln};
use crate::money::Currency;
use crate::replay::{self, Options, Seen};
use crate::run::Run;
use crate::usage::Usage;
use crate::{html, report};
use limitr_core::Format;
use serde_json::{Map, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `limitr simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy file.
    #[arg(long)]
    pub policy: PathBuf,
    /// The policy's format, when the extension does not say it.
    #[arg(long, value_parser = document::parse_format)]
    pub format: Option<Format>,
    /// The usage file: CSV with a header, or JSON lines (`.jsonl`, `.ndjson`).
    #[arg(long)]
    pub usage: PathBuf,
    /// A CSV of `id,plan`: each customer's plan (others get the default plan).
    #[arg(long)]
    pub customers: Option<PathBuf>,
    /// Write the report as a self-contained HTML page with charts.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the report as JSON instead of tables.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Write the report as CSV to this file (`-` for standard output).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Stop at the first malformed row (by default it is reported and skipped).
    #[arg(long)]
    pub strict: bool,
    /// Customers shown in the tables (most revenue first).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Digits of the currency's minor unit (default: from its ISO code, 2 otherwise).
    #[arg(long)]
    pub minor_digits: Option<u32>,
    /// Write the customers' state after the replay (the engine's `stringify`, JSON) to this
    /// file: the input of `explain` and `invoice`.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// The header fields of a JSON report.
pub fn head(policy: &Path, usage: &Path, seen: &Seen) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("policy".into(), Value::String(policy.display().to_string()));
    o.insert("usage".into(), Value::String(usage.display().to_string()));
    o.insert("rows".into(), seen.rows.into());
    o.insert("skipped".into(), seen.skipped.into());
    o
}

/// Writes `text` to `path`, or standard output for `-`.
pub fn emit(path: &Path, text: &str) -> Result<()> {
    if path.as_os_str() == "-" {
        out!("{text}");
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| Failure::io("write", path, &e))
}

/// Runs the command.
pub fn run(args: &Args) -> Result<ExitCode> {
    let doc = Document::read(&args.policy, args.format)?;
    let engine = doc.load()?;
    let plans = replay::assignments(args.customers.as_deref(), &[&engine])?;
    let money = Currency::of(&engine, args.minor_digits);
    let mut runs = [Run::new(engine)];
    let mut usage = Usage::open(&args.usage)?;
    let options = Options {
        strict: args.strict,
        progress: std::io::stderr().is_terminal(),
    };
    let started = std::time::Instant::now();
    let seen = replay::replay(&mut runs, &mut usage, &plans, &options, |_, _| {})?;
    let elapsed = started.elapsed();
    let [run] = &runs;
    let secs = elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss, reason = "a rate for people")]
    let rate = if secs > 0.0 {
        seen.rows as f64 / secs
    } else {
        0.0
    };
    let summary = format!(
        "{} rows replayed from {} through {} ({} skipped) in {secs:.2} s ({:.2}M rows/s)",
        seen.rows,
        args.usage.display(),
        args.policy.display(),
        seen.skipped,
        rate / 1e6
    );
    if let Some(path) = &args.report {
        let page = html::page(run, &money, "Limitr margin report", &summary);
        emit(path, &page)?;
    }
    if let Some(path) = &args.csv {
        emit(path, &report::csv(run, &money)?)?;
    }
    if let Some(path) = &args.state {
        let text = run
            .engine
            .stringify(Format::Json)
            .map_err(|e| Failure::new(e.to_string()))?;
        emit(path, &text)?;
    }
    if args.json {
        let v = report::json(run, &money, head(&args.policy, &args.usage, &seen));
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| Failure::new(e.to_string()))?
        );
    } else if args.csv.as_deref().is_none_or(|p| p.as_os_str() != "-") {
        out!("{}", report::tables(run, &money, args.top));
    }
    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}
