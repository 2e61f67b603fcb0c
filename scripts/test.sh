#!/usr/bin/env bash
# The project's test command: formatting, lints, the no_std driver build,
# and every test (unit, simulator, conformance). Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

echo "== no_std driver build (no host feature: core + alloc only)"
cargo build -p chimney-miniport --lib
cargo build -p chimney-miniport --lib --release
# The no_std rlib must not depend on the std crate.
if cargo tree -p chimney-miniport -e normal --prefix none --edges normal 2>/dev/null | grep -qx 'std'; then
  echo "chimney-miniport pulls in std" >&2; exit 1
fi

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
cargo test --workspace --doc -q
