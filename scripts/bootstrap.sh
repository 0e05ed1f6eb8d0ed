#!/usr/bin/env bash
# Installs what the project needs on a fresh machine (only Rust, Node and Python preinstalled).
# Idempotent: each step is skipped when already satisfied. Usage: scripts/bootstrap.sh [rust|python|node|wasm|browser|redis|all]...
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '[bootstrap] %s\n' "$*" >&2; }

venv() {
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
  fi
  if ! cmp -s scripts/requirements-dev.txt .venv/.requirements-installed 2>/dev/null; then
    log "installing Python dev tools (just, maturin, pytest, mypy)"
    .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-dev.txt
    cp scripts/requirements-dev.txt .venv/.requirements-installed
  fi
}

node_deps() {
  if [ -f package-lock.json ] && ! cmp -s package-lock.json node_modules/.package-lock-installed 2>/dev/null; then
    log "installing npm dev dependencies"
    npm ci --no-fund --no-audit --loglevel=error
    cp package-lock.json node_modules/.package-lock-installed
  fi
}

wasm_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  if ! command -v wasm-bindgen >/dev/null 2>&1 || [ "$(wasm-bindgen --version)" != "wasm-bindgen 0.2.130" ]; then
    log "installing wasm-bindgen-cli 0.2.130 (compiles, a few minutes)"
    cargo install -q wasm-bindgen-cli --version 0.2.130
  fi
}

browser() {
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Debian chromium (headless browser tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing Debian redis-server (the Redis store's tests start their own)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(all)
for t in "${targets[@]}"; do
  case "$t" in
    rust) venv ;;
    python) venv ;;
    node) venv; node_deps ;;
    wasm) venv; node_deps; wasm_tools ;;
    browser) browser ;;
    redis) redis ;;
    all) venv; node_deps; wasm_tools; redis ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
done
