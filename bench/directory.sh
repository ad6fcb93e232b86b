#!/usr/bin/env bash
# Directory benchmark (issue 4): 2,000 experts, 200 concurrent connections on loopback,
# release build. Reports requests/s and latency for the home listing, the API listing, and
# a bare response (/healthz) served by the same binary in the same run.
# Needs wrk (apt-get install wrk).
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
for path in /healthz / /api/v1/experts; do
  echo "== $path"
  wrk -t2 -c200 -d15s --latency "http://127.0.0.1:18080$path" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
done
