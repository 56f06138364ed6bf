#!/bin/bash
# Usage: bash bench/h2-inproc.sh [seconds=6] [clients=8] [streams=16] [PROF=dir] — gangway's data plane in one thread
# (bench/http-proxy-inproc.ts) proxying h2c from h2load to an nginx `return 200` upstream over HTTP/1.1; prints
# req/s and CPU per request of that thread; PROF=dir also writes a --cpu-prof profile there (count samples: the md form charges idle gaps to the next sample). STRACE=1: strace -c -f instead.
# CEIL=1: bench/ceiling-h2-proxy.ts (the least h2 -> h1 proxy on node:http2 + Bun sockets) instead of gangway.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
BUN=$PWD/$BUN
[ -n "$ROOT" ] && cd "$ROOT" # ROOT=another checkout: run its data plane (A/B)
S=${1:-6}; CL=${2:-8}; M=${3:-16}; UP=18396; PORT=18397
W=$(mktemp -d /tmp/gangway-h2inproc.XXXXXX)
upstream_conf "$W" $UP
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
ARGS=()
[ -n "$PROF" ] && ARGS=(--cpu-prof --cpu-prof-dir="$PROF")
MAIN=bench/http-proxy-inproc.ts; [ -n "$CEIL" ] && MAIN=bench/ceiling-h2-proxy.ts
$BUN "${ARGS[@]}" $MAIN $PORT $UP $((S + 6)) >"$W/gw.log" 2>&1 & P=$!
trap 'kill $UPP 2>/dev/null; kill $P 2>/dev/null; kill $SP 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 50); do curl -fsS --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break; sleep 0.2; done
h2load -t2 -c"$CL" -m"$M" -D1 "http://127.0.0.1:$PORT/" >/dev/null 2>&1
if [ -n "$STRACE" ]; then strace -c -f -p $P -o "$W/strace.txt" & SP=$!; sleep 0.5; fi
a=$(cpu $P); ua=$(cpu_user $P)
out=$(h2load -t2 -c"$CL" -m"$M" -D"$S" "http://127.0.0.1:$PORT/" 2>&1)
b=$(cpu $P); ub=$(cpu_user $P)
done_=$(echo "$out" | awk '/^requests:/ { print $8 }')
if [ -n "$STRACE" ]; then kill -INT $SP; wait $SP 2>/dev/null || true; echo "requests $done_"; head -25 "$W/strace.txt"; fi
rps=$(echo "$out" | awk '/^finished in/ { print $4 }')
fail=$(echo "$out" | awk '/^requests:/ { print $10 + $12 }')
[ -n "$PROF" ] && echo "requests $done_"
echo "${CEIL:+ceiling-h2-proxy }inproc h2c (1 thread, h2load -t2 -c$CL -m$M -D$S): req/s $rps  cpu/req $(( (b - a) * 1000000 / TICK / (done_ > 0 ? done_ : 1) )) us (user $(( (ub - ua) * 1000000 / TICK / (done_ > 0 ? done_ : 1) )))  failed $fail  (load $(load1))"
wait $P 2>/dev/null || true
