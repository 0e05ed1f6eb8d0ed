#!/usr/bin/env bash
# The quick start as a user follows it: a fresh project, `bun add` of the package built from this repo,
# policy.json, then each index.ts of the quick start in turn. Usage: npm/scripts/quickstart.sh [bun|node]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNTIME=${1:-bun}
BUN="$ROOT/node_modules/.bin/bun"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/limitr-quickstart.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
# what `bun init -y` writes that matters here: an ES module project (top-level await)
printf '{ "name": "limitr-quickstart", "private": true, "type": "module" }\n' > package.json
"$BUN" add --silent "$ROOT/npm" >/dev/null
cp "$ROOT/tests/policies/quickstart.json" policy.json
for script in "$ROOT"/npm/test/quickstart/*.ts; do
  cp "$script" index.ts
  echo "\$ $RUNTIME run index.ts   # $(basename "$script")"
  case "$RUNTIME" in
    bun) "$BUN" run index.ts ;;
    node) node --import "file://$ROOT/node_modules/tsx/dist/loader.mjs" index.ts ;;
    *) echo "unknown runtime $RUNTIME" >&2; exit 2 ;;
  esac
  echo
done
