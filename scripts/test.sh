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

echo "== memcheck: every simulator test binary under valgrind (reads/writes outside C buffers, uninitialised bytes)"
if command -v valgrind >/dev/null 2>&1; then
  cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import sys, json
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])
' | while read -r bin; do
    # The 100,000-connection and memory-budget tests are too slow under
    # valgrind; the Linux-peer tests run in real time against the kernel.
    PROPTEST_CASES=16 SEND_STRESS_CONNS=100 SIM_SEEDS=2 FUZZ_REPLAY_RANDOM=4 FUZZ_REPLAY_SAMPLE=25 valgrind -q --error-exitcode=9 --leak-check=no "$bin" -q --test-threads=1 \
      --skip hundred_thousand --skip context_memory --skip linux_tcp >/dev/null \
      || { echo "valgrind found errors in $bin" >&2; exit 1; }
  done
else
  echo "valgrind not installed; skipped (.ci/run installs it)"
fi

echo "== model checking: the lock-free protocols and the spin-lock paths under loom and shuttle (tests/model_check.rs)"
# Each checker swaps the driver's atomics and the simulator's spin locks for
# its own (src/sync.rs, sim/src/checker.rs), so each builds the crates once
# more, in a target directory of its own; the code only those builds compile
# is linted there too.
for checker in loom shuttle; do
  RUSTFLAGS="--cfg chimney_$checker" CARGO_TARGET_DIR="target/$checker" \
    cargo clippy --release -p chimney-miniport -p ndis-sim --lib --test model_check -- -D warnings
  RUSTFLAGS="--cfg chimney_$checker" CARGO_TARGET_DIR="target/$checker" \
    cargo test --release --test model_check
done

echo "== fuzzing: every cargo fuzz target for FUZZ_SECONDS (default 30) from its committed corpus (scripts/fuzz.sh)"
# The fuzz crate is a workspace of its own (libFuzzer instrumentation):
# formatting and lints are checked here.
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
FUZZ_SECONDS="${FUZZ_SECONDS:-30}" ./scripts/fuzz.sh

echo "== benchmarks, each run once (criterion --test): their own checks of what they time"
# The send-path kernels assert that every NBL starts with its MSS and ends
# advanced to its end, so a harness that measured empty NBLs fails here.
cargo bench --bench send_path --bench state_tree -- --test

echo "== tests"
cargo test --workspace --doc -q
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
