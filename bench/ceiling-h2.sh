#!/bin/bash
# Usage: bash bench/ceiling-h2.sh [seconds=6] [clients=8] [streams=16] — the node:http2-over-H2Duplex
# hello server (bench/ceiling-h2.ts, one thread, no proxying) under h2load h2c: req/s and CPU per
# request, the most any HTTP/2 downstream built on node:http2 under Bun can do per core here.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
S=${1:-6}; CL=${2:-8}; M=${3:-16}; PORT=18390
$BUN bench/ceiling-h2.ts $PORT $((S + 20)) >/dev/null & P=$!
trap 'kill $P 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -fsS --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break; sleep 0.2; done
h2load -t2 -c"$CL" -m"$M" -D1 "http://127.0.0.1:$PORT/" >/dev/null 2>&1
a=$(cpu $P)
out=$(h2load -t2 -c"$CL" -m"$M" -D"$S" "http://127.0.0.1:$PORT/" 2>&1)
b=$(cpu $P)
rps=$(echo "$out" | awk '/^finished in/ { print $4 }')
done_=$(echo "$out" | awk '/^requests:/ { print $8 }')
fail=$(echo "$out" | awk '/^requests:/ { print $10 + $12 }')
echo "ceiling node:http2 over H2Duplex (1 thread, h2c, h2load -t2 -c$CL -m$M -D$S): req/s $rps  cpu/req $(( (b - a) * 1000000 / TICK / (done_ > 0 ? done_ : 1) )) us  failed $fail  (load $(load1))"
