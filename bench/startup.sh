#!/usr/bin/env bash
# Measures the time from starting `layan serve` (fresh data directory: includes creating the SQLite
# database and running migrations) to the first 200 from /healthz, and the idle resident memory
# (VmRSS) two seconds later. Loopback only; stops the server itself.
#   usage: bench/startup.sh [path/to/layan] [runs]
set -euo pipefail
BIN=${1:-target/release/layan}
RUNS=${2:-5}
PORT=${PORT:-18431}
for i in $(seq 1 "$RUNS"); do
  DATA=$(mktemp -d)
  start=$(date +%s%N)
  LAYAN_LOG=warn "$BIN" serve --listen 127.0.0.1:$PORT --data "$DATA" >/dev/null 2>&1 &
  pid=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; do sleep 0.001; done
  ready=$(date +%s%N)
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  kill -TERM $pid; wait $pid || true
  rm -rf "$DATA"
  echo "run $i: start→200 /healthz $(( (ready - start) / 1000000 )) ms, idle RSS $(( rss / 1024 )) MiB ($rss KiB)"
done
