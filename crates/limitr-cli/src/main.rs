//! `limitr`: check, convert, replay and bill Limitr policies on your own machine.
//!
//! Every subcommand reads files, runs the engine of `limitr-core` and prints a table for people or
//! JSON (`--json`) for scripts. Exit status: 0 when done, 1 when the input has errors (or the
//! command failed), 2 for a bad command line.

mod diff;
mod document;
mod explain;
mod failure;
mod fmt;
mod html;
mod invoice;
mod locate;
mod money;
mod replay;
mod report;
mod run;
mod simulate;
mod table;
mod tally;
mod usage;
mod validate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Check, convert, replay and bill Limitr policies.
#[derive(Debug, Parser)]
#[command(name = "limitr", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report every problem of a policy with its path and line (exit 1 on errors).
    Validate(validate::Args),
    /// Convert a policy between JSON, YAML and TOML.
    Fmt(fmt::Args),
    /// Replay a usage file through a policy into a margin report (tables, JSON, CSV, HTML).
    Simulate(simulate::Args),
    /// Replay usage under a policy and a candidate; report the customers whose revenue or decisions change.
    Diff(diff::Args),
    /// Why a call would pass or fail against a saved state: limit, grants, caps, the binding constraint.
    Explain(explain::Args),
    /// Invoice lines per customer from the meters of the current period in a saved state.
    Invoice(invoice::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Fmt(a) => fmt::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Invoice(a) => invoice::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
