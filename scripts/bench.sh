#!/usr/bin/env bash
# Runs every benchmark (snapbridge beside the peer libraries, in one run) and prints one
# markdown table of criterion medians, then the scaling table. Figures and their reading:
# docs/BENCHMARKS.md. `SNAPBRIDGE_BENCH_1M=1 scripts/bench.sh` adds 1M series where it applies.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for b in pipeline peers otlp document; do
    cargo bench --bench "$b" 2>/dev/null | tee -a "$out" >&2
done
echo
echo "| benchmark | median |"
echo "|---|---|"
awk '
    /time:/ {
        name = ($1 == "time:") ? prev : $1
        for (i = 1; i <= NF; i++) if ($i ~ /^\[/) { printf "| %s | %s %s |\n", name, $(i + 2), $(i + 3); break }
        next
    }
    NF > 0 { prev = $1 }
' "$out"
echo
cargo bench --bench scale 2>/dev/null
