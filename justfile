# Limitr: every task a developer runs. `just` alone lists them. `./run <recipe>` bootstraps first.

set shell := ["bash", "-euo", "pipefail", "-c"]

default:
    @just --list

# The quick start, end to end (the main job)
quickstart: quickstart-rust

# The quick start through the Rust engine, printing the quick start's figures
quickstart-rust:
    cargo run -q -p limitr-core --example quickstart

# Every test (what CI runs)
test: lint test-rust

# Formatting and lints
lint:
    cargo fmt --all --check
    cargo clippy --all-targets -- -D warnings

# Rust unit, integration, property, scenario and doc tests
test-rust:
    cargo test -p limitr-core

# Criterion benchmarks of the core (prints numbers)
bench:
    cargo bench -p limitr-core --bench engine
