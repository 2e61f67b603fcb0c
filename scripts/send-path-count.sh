#!/usr/bin/env bash
# Callgrind instruction counts per NBL: the driver's send queue against the
# Mutex<VecDeque<Box<…>>> baseline, each also without its lock (see
# examples/send_path_count.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-1000}
cargo build -q --release --example send_path_count
for v in driver baseline driver_unlocked baseline_unlocked mandated; do
  total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      --toggle-collect="*run_${v}*" target/release/examples/send_path_count "$v" "$ROUNDS" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  echo "$v: $total instructions for $((ROUNDS * 64)) NBLs = $((total / (ROUNDS * 64))) per NBL"
done
