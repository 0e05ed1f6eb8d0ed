# Limitr: every task a developer runs. `just` alone lists them. `./run <recipe>` bootstraps first.

set shell := ["bash", "-euo", "pipefail", "-c"]

default:
    @just --list

# The quick start, end to end (the main job)
quickstart: quickstart-node

# The quick start through the Rust engine, printing the quick start's figures
quickstart-rust:
    cargo run -q -p limitr-core --example quickstart

# Every test (what CI runs)
test: lint test-rust test-redis test-cli test-node test-python test-wasm

# Formatting and lints
lint:
    cargo fmt --all --check
    cargo clippy --all-targets -- -D warnings

# Rust unit, integration, property, scenario and doc tests; the journal's restart, torn-tail and
# SIGKILL crash tests (20 kills of a child process, every acknowledged call checked)
test-rust:
    cargo test -p limitr-core
    cargo test -p limitr-journal
    cargo test -p limitr-host
    cargo build -q -p limitr-journal --examples
    cargo run -q -p limitr-journal --example crash -- 20 target/debug/examples/crash_child
    cargo run -q -p limitr-journal --example durable | grep "after restart: allow 1 → false" > /dev/null
    cargo run -q -p limitr-core --example quickstart | grep "Grant current value:  5.69" > /dev/null

# The Redis store against real redis-server processes the tests start on loopback: the scenario
# corpus, the overspend hammer (8 processes × 4 threads), idempotent retries, Redis killed mid-run
test-redis:
    scripts/bootstrap.sh redis
    cargo clippy -q -p limitr-redis --all-targets -- -D warnings
    cargo test -p limitr-redis

# Exact mode on Redis (release): PING floor, decision p50/p99, round trips per decision,
# decisions/s on one hot customer from several processes
bench-redis:
    scripts/bootstrap.sh redis
    cargo run -q --release -p limitr-redis --example bench

# Criterion benchmarks of the core (prints numbers)
bench:
    cargo bench -p limitr-core --bench engine

# The `limitr` CLI's tests: every subcommand on the shipped examples/cli files and on bad input
test-cli:
    cargo test -p limitr-cli

# `limitr simulate` rows/s on 1M generated usage rows (release build, CSV parsing included, one run)
bench-cli:
    cargo run -q --release -p limitr-cli --example usage_rows -- 1000000 "${TMPDIR:-/tmp}/limitr-bench-cli-usage.csv"
    cargo run -q --release -p limitr-cli --bin limitr -- simulate --policy examples/cli/policy.json --usage "${TMPDIR:-/tmp}/limitr-bench-cli-usage.csv" --customers examples/cli/customers.csv --top 0 > /dev/null

# The journal beside the in-memory store: allow per sync mode, bytes per allow, restart time
bench-journal:
    cargo bench -p limitr-journal --bench journal

# Build the Python package (debug) into .venv: maturin develop (editable, for working on it)
build-python:
    scripts/bootstrap.sh python
    cd python && ../.venv/bin/maturin develop -q

# Build the wheel users install (abi3, CPython >= 3.9; `abi=py310` for the cp310-abi3 one) and
# pip-install it into .venv (not editable); `profile=release` for benchmarks
install-python-wheel profile="debug" abi="py39":
    scripts/bootstrap.sh python
    rm -rf target/python-wheels python/limitr/_limitr*.so
    cd python && ../.venv/bin/maturin build -q {{ if profile == "release" { "--release" } else { "" } }} {{ if abi == "py39" { "" } else { "--no-default-features --features abi3-" + abi } }} -o ../target/python-wheels
    .venv/bin/pip install -q --disable-pip-version-check --no-deps --force-reinstall target/python-wheels/limitr-*.whl

# Python tests against the installed wheel (pytest + pytest-asyncio, run with -P so the source tree
# is not importable), stubs checked against the installed binary, typed example under mypy --strict
test-python: install-python-wheel
    scripts/bootstrap.sh redis
    cargo clippy -q -p limitr-python --all-targets -- -D warnings
    cd python && LIMITR_TEST_INSTALLED=1 ../.venv/bin/python -P -m pytest -q
    cd python && ../.venv/bin/python -P -m mypy.stubtest limitr
    cargo build -q -p limitr-journal --example crash
    cargo run -q -p limitr-journal --example crash -- 20 .venv/bin/python -P python/tests/crash_child.py
    cd python && ../.venv/bin/python -m mypy --strict limitr examples

# Operations per second of the installed Python wheel (release build), sync and awaited allow;
# `abi=py310` measures the cp310-abi3 wheel
bench-python abi="py39": (install-python-wheel "release" abi)
    .venv/bin/python -P python/examples/bench.py

# The quick start through the installed Python package
quickstart-python: install-python-wheel
    .venv/bin/python -P python/examples/quickstart.py

# Build the npm package @formata/limitr into npm/ (native addon + dist/); `profile=release` for benchmarks
build-node profile="debug":
    scripts/bootstrap.sh node
    cd bindings/node && ../../node_modules/.bin/napi build --platform {{ if profile == "release" { "--release" } else { "" } }} --output-dir ../../npm/native --js index.js --dts index.d.ts
    cd npm && rm -rf dist && ../node_modules/.bin/tsc -p . && mkdir -p dist/esm && cp esm/* dist/esm/

# Node and Bun tests of the npm package: API, errors, events, the scenario corpus, the packed tarball
test-node: build-node
    scripts/bootstrap.sh redis
    cargo clippy -p limitr-node --all-targets -- -D warnings
    node --import tsx --test npm/test/unit/*.test.ts npm/test/package.test.ts
    node_modules/.bin/bun test --timeout 60000 npm/test/unit
    cargo build -q -p limitr-journal --example crash
    cargo run -q -p limitr-journal --example crash -- 20 node npm/test/crash/child.mjs

# The quick start in Bun, as a user runs it: fresh project, `bun add` of the built package, each index.ts
quickstart-node: build-node
    npm/scripts/quickstart.sh bun

# Operations per second of sync and awaited `allow` (release build), under Node and Bun
bench-node: (build-node "release")
    node npm/bench/allow.mjs
    node_modules/.bin/bun npm/bench/allow.mjs

# Build the WASM engine (wasm-release, wasm-bindgen --target web, wasm-opt) and the npm package's WASM entries (npm/dist/wasm); prints the gzipped .wasm size
build-wasm: build-node
    scripts/bootstrap.sh wasm
    bindings/wasm/build.sh

# WASM tests: clippy for wasm32, the scenario corpus under Node and Bun, a real workerd (miniflare), headless Chromium
test-wasm: build-wasm
    scripts/bootstrap.sh wasm browser
    cargo clippy -p limitr-wasm --target wasm32-unknown-unknown -- -D warnings
    node --test tests/wasm/scenarios.test.mjs tests/wasm/scratch.test.mjs tests/wasm/journal.test.mjs tests/wasm/idempotency.test.mjs tests/wasm/workerd.test.mjs tests/wasm/browser.test.mjs
    node_modules/.bin/bun test --timeout 60000 ./tests/wasm/scenarios.test.mjs ./tests/wasm/scratch.test.mjs ./tests/wasm/journal.test.mjs ./tests/wasm/idempotency.test.mjs

# Operations per second of sync and awaited `allow` on the WASM build, in Node (and Bun)
bench-wasm: build-wasm
    node tests/wasm/bench.mjs
    node_modules/.bin/bun tests/wasm/bench.mjs
