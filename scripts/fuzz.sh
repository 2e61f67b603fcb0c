#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo fuzz) of the driver's
# handlers in the simulator: each target in fuzz/ runs FUZZ_SECONDS
# (default 30), starting from its committed corpus (fuzz/corpus/<target>,
# which it only reads: new inputs go to a scratch directory) and its named
# regression inputs (fuzz/regressions/<target>, one per bug found). A crash, a
# failed invariant, or a timeout fails the script and leaves the input in
# fuzz/artifacts/<target>/; `cargo fuzz run <target> <file>` replays it,
# and so does tests/fuzz_replay.rs once the file is added to
# fuzz/regressions/<target>/ under a name that says what it caught.
#
#   scripts/fuzz.sh                   every target, FUZZ_SECONDS each
#   scripts/fuzz.sh state_tree        one target
#   FUZZ_KEEP=1 scripts/fuzz.sh ...   merge what was found into the corpus
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
seconds="${FUZZ_SECONDS:-30}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(rx_frames state_tree oid_requests data_path ordinary_path forward)
fi
# No sanitizer: the toolchain is stable. The replay test runs the corpus
# under valgrind instead (scripts/test.sh).
cargo fuzz build -s none
for t in "${targets[@]}"; do
  scratch="$(mktemp -d)"
  echo "== fuzz $t (${seconds}s)"
  log="$scratch.log"
  seeds=("fuzz/corpus/$t")
  if [ -d "fuzz/regressions/$t" ]; then seeds+=("fuzz/regressions/$t"); fi
  if ! cargo fuzz run -s none "$t" "$scratch" "${seeds[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
    grep -v '^ *[0-9]*: \|^ *at ' "$log" | tail -n 40 >&2
    echo "fuzz target $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+ +DONE' "$log" || true
  if [ "${FUZZ_KEEP:-0}" = 1 ]; then
    # Merge what this run found into the corpus, then keep only the inputs
    # that add coverage.
    cargo fuzz run -s none "$t" "fuzz/corpus/$t" "$scratch" -- -merge=1 >/dev/null 2>&1
    cargo fuzz cmin -s none "$t" "fuzz/corpus/$t" >/dev/null 2>&1
  fi
  rm -rf "$scratch" "$log"
done
