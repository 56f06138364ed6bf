#!/bin/bash
# Where the worker's user-space time goes, JS and Bun's own native code: perf record -g of
# bench/http-proxy-inproc.ts (or SCRIPT, e.g. a main-thread splice) under wrk, summarized per request.
# Usage: flock /tmp/gangway-bench.lock bash bench/perf-native.sh [SCRIPT=bench/http-proxy-inproc.ts] [seconds=8] [connections=32]
# Needs: perf (apt-get install linux-perf), nginx, wrk, python3. Known ids in Bun 1.4.4 (bun.exe 588d7307…):
# bun:376ccf0 socket.write, bun:2584170 performance.now, bun:1a45620 mi_malloc, bun:28f2aa0 Buffer.allocUnsafe,
# bun:2a6b060 Buffer#copy, bun:3633fa0 latin1Slice, bun:2a682c0 Buffer#indexOf, bun:1dcc420 GC allocation slow path.
set -u
cd "$(dirname "$0")/.."
SCRIPT=${1:-bench/http-proxy-inproc.ts}; S=${2:-8}; C=${3:-32}
W=$(mktemp -d /tmp/gangway-perf-native.XXXXXX); UP=18680; PX=18683
cat >"$W/up.conf" <<NG
worker_processes 1; daemon off; error_log $W/up-error.log warn; pid $W/up.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:$UP backlog=4096; location / { return 200 "Hello, World!"; } } }
NG
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
BUN_JSC_useJITDump=1 BUN_JSC_jitDumpDirectory=$W node_modules/.bin/bun "$SCRIPT" $PX $UP $((S + 6)) >"$W/proxy.log" 2>&1 & GP=$!
trap 'kill $UPP $GP 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -fs -o /dev/null http://127.0.0.1:$PX/ && break; sleep 0.2; done
wrk -t2 -c"$C" -d2s http://127.0.0.1:$PX/ >/dev/null
perf record -k mono -g -F 1999 -p $GP -o "$W/perf.data" -- sleep "$S" >"$W/perf.log" 2>&1 & PP=$!
out=$(wrk -t2 -c"$C" -d"${S}s" http://127.0.0.1:$PX/)
wait $PP
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s, $reqs requests, load $(cut -d' ' -f1 /proc/loadavg)"
python3 bench/lib/perf-native.py jitmap "$(ls "$W"/jit-*.dump | head -1)" $GP
perf script -i "$W/perf.data" --comm bun -F ip,sym,dso 2>/dev/null >"$W/perf.script"
python3 bench/lib/perf-native.py report "$W/perf.script" "$reqs"
rm -f "/tmp/perf-$GP.map"; echo "data: $W"
