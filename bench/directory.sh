#!/usr/bin/env bash
# Directory benchmark (issue 4): 2,000 experts, 200 concurrent connections on loopback,
# release build. Serves the home listing, the API listing and a bare response (/healthz)
# from the same binary in the same run, in ROUNDS alternating rounds, and prints each
# run's requests/s, p50 and p99 with its ratio to the bare response of the same round.
# wrk and the server share the machine's cores, so single runs vary by ±20%: compare
# ratios within a round, and look at the medians. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p augure -p augure-bench --bin augure --bin directory-seed >/dev/null
work=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
url="sqlite://$work/bench.db"
target=${CARGO_TARGET_DIR:-target}
"$target/release/directory-seed" "$url" "${EXPERTS:-2000}"
AUGURE_LOG=warn "$target/release/augure" serve --database-url "$url" --bind 127.0.0.1:18080 >/dev/null 2>&1 &
server=$!
until curl -sf http://127.0.0.1:18080/healthz >/dev/null; do sleep 0.05; done
# Warm-up: the first listing reads the store and renders every card once.
curl -sf http://127.0.0.1:18080/ >/dev/null && curl -sf http://127.0.0.1:18080/api/v1/experts >/dev/null
run() {
  wrk -t2 -c200 -d"${SECONDS_PER_RUN:-10}"s --latency "http://127.0.0.1:18080$1" |
    awk -v path="$1" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
      END {printf "%s %s %s %s %s\n", path, rps, p50, p99, (bad == "" ? 0 : bad)}'
}
printf "%-6s %-16s %12s %10s %10s %8s %8s\n" round path "requests/s" p50 p99 ratio non2xx
for round in $(seq 1 "${ROUNDS:-3}"); do
  read -r _ bare bp50 bp99 bbad < <(run /healthz)
  printf "%-6s %-16s %12s %10s %10s %8s %8s\n" "$round" /healthz "$bare" "$bp50" "$bp99" 1.00 "$bbad"
  for path in / /api/v1/experts; do
    read -r _ rps p50 p99 bad < <(run "$path")
    ratio=$(awk -v a="$rps" -v b="$bare" 'BEGIN {printf "%.2f", a / b}')
    printf "%-6s %-16s %12s %10s %10s %8s %8s\n" "$round" "$path" "$rps" "$p50" "$p99" "$ratio" "$bad"
  done
done
