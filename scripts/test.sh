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
# Without the host feature the crate is #![no_std] and links its own
# #[panic_handler] (src/bare.rs) into the cdylib: were std linked too, the
# duplicate panic handler would fail this build. So success proves no_std.
cargo build -p chimney-miniport --lib
cargo build -p chimney-miniport --lib --release

echo "== tests"
cargo test --workspace --doc -q
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
