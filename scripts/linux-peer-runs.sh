#!/usr/bin/env bash
# Runs of chimney-sim's real-TCP part against the Linux kernel (needs root),
# interleaved between the binaries given (default: this tree's release
# build), over several link settings and seeds; prints per binary and
# setting the median and 90th-percentile time from handshake to the last
# byte, the 90th percentile of the close (last byte to the graceful
# disconnect's completion), the median retransmissions each way and how
# many runs came out OK.
#   scripts/linux-peer-runs.sh [BIN...]      SEEDS="1 2 3" to choose seeds
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  cargo build --release -q -p ndis-sim --bin chimney-sim
  set -- target/release/chimney-sim
fi
SEEDS=${SEEDS:-"1 2 3 4 5 6 7 8 9"}
out=$(mktemp -d)
settings=("clean:" "loss1:--loss 1" "mixed2:--loss 2 --dup 1 --reorder 2")
for seed in $SEEDS; do
  for s in "${settings[@]}"; do
    name=${s%%:*}; args=${s#*:}
    for bin in "$@"; do
      tag=$(basename "$bin")
      # shellcheck disable=SC2086
      "$bin" --quiet --peer linux --seed "$seed" $args --json "$out/$tag.$name.$seed.json" >/dev/null 2>&1 || true
    done
  done
done
python3 - "$out" "$@" <<'PY'
import json, os, statistics, sys
out, bins = sys.argv[1], [os.path.basename(b) for b in sys.argv[2:]]
print(f"{'binary':<14} {'link':<8} {'runs OK':>8} {'median ms':>10} {'p90 ms':>9} {'close p90':>10} {'driver rexmit':>14} {'Linux rexmit':>13}")
for b in bins:
    for name in ["clean", "loss1", "mixed2"]:
        rs = []
        for f in sorted(os.listdir(out)):
            if f.startswith(f"{b}.{name}."):
                rs.append(json.load(open(os.path.join(out, f))))
        if not rs:
            continue
        ok = sum(r["ok"] for r in rs)
        ts = sorted(r["timeline_ms"]["reply_done"] - r["timeline_ms"]["handshake"] for r in rs)
        t = statistics.median(ts)
        p90 = ts[int(0.9 * (len(ts) - 1))]
        cs = sorted(r["timeline_ms"]["closed"] - r["timeline_ms"]["reply_done"] for r in rs)
        c90 = cs[int(0.9 * (len(cs) - 1))]
        d = statistics.median(r["driver_retransmitted"] for r in rs)
        l = statistics.median(r["server"]["total_retrans"] for r in rs)
        print(f"{b:<14} {name:<8} {ok:>4}/{len(rs):<3} {t:>10.1f} {p90:>9.1f} {c90:>10.1f} {d:>14} {l:>13}")
PY
rm -rf "$out"
