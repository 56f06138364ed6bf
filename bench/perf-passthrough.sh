#!/bin/bash
# Where gangway's CPU goes per new TLS passthrough connection: perf record -g of the real
# process (one worker, PASSTHROUGH config) under bench/passthrough.ts's conns client
# (connect, ClientHello + 1 byte, 1 byte back, close), summarized per connection by
# bench/lib/perf-native.py (JS frames named from JSC's jitdump, Bun's by address).
# checkout "ceiling": bench/ceiling-passthrough.ts (one worker, PARSE=1) instead of gangway.
# Usage: flock /tmp/gangway-bench.lock bash bench/perf-passthrough.sh [seconds=6] [loops=32] [checkout=.|ceiling]
# Needs: perf (apt-get install linux-perf), python3.
set -u
cd "$(dirname "$0")/.."
S=${1:-6}; C=${2:-32}; GWDIR=${3:-.}
BUN=$(pwd)/node_modules/.bin/bun
W=$(mktemp -d /tmp/gangway-perf-pt.XXXXXX); mkdir "$W/config" # the config alone in its folder: logs, perf and JIT dumps written beside it do not wake the watcher
free_port() { $BUN -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
BACK=$(free_port); GWP=$(free_port); ADMIN=$(free_port)
$BUN bench/lib/passthrough-config.ts "*.example.com" bulk.example.com $BACK >"$W/config/config.yaml"
$BUN bench/passthrough.ts backend $BACK & BP=$!
if [ "$GWDIR" = ceiling ]; then
  WORKERS=1 PARSE=1 BUN_JSC_useJITDump=1 BUN_JSC_jitDumpDirectory=$W $BUN bench/ceiling-passthrough.ts $GWP $BACK >"$W/gw.log" 2>&1 & GP=$!
else
  (cd "$GWDIR" && BUN_JSC_useJITDump=1 BUN_JSC_jitDumpDirectory=$W exec $BUN src/main.ts --config "$W/config" --bind 127.0.0.1 \
    --port-map 443:$GWP --admin 127.0.0.1:$ADMIN --workers 1 --access-log off) >"$W/gw.log" 2>&1 & GP=$!
fi
trap 'kill $BP $GP 2>/dev/null; wait 2>/dev/null' EXIT
if [ "$GWDIR" = ceiling ]; then sleep 1.5; else
  for _ in $(seq 1 75); do curl -fs -o /dev/null "http://127.0.0.1:$ADMIN/healthz/ready" && break; sleep 0.2; done
fi
sleep 0.5
$BUN bench/passthrough.ts client conns $GWP "$C" 2 >/dev/null
perf record -k mono -g -F 1999 -p $GP -o "$W/perf.data" -- sleep "$S" >"$W/perf.log" 2>&1 & PP=$!
rate=$($BUN bench/passthrough.ts client conns $GWP "$C" "$S")
wait $PP
n=$(awk -v r="$rate" -v s="$S" 'BEGIN { printf "%d", r * s }')
echo "$rate conn/s, $n connections, load $(cut -d' ' -f1 /proc/loadavg)"
python3 bench/lib/perf-native.py jitmap "$(ls -S "$W"/jit-*.dump | head -1)" $GP
perf script -i "$W/perf.data" --comm Worker -F ip,sym,dso 2>/dev/null >"$W/perf.script"
python3 bench/lib/perf-native.py report "$W/perf.script" "$n"
python3 bench/lib/perf-user.py "$W/perf.script" "$n"
rm -f "/tmp/perf-$GP.map"; echo "data: $W"
