#!/bin/bash
# Syscalls per new TLS passthrough connection: gangway (--workers 1, PASSTHROUGH config)
# and HAProxy (nbthread 1, mode tcp, req.ssl_sni), in front of bench/passthrough.ts's Bun
# backend, under its conns client (connect, ClientHello + 1 byte, 1 byte back, close).
# Counted with `perf stat` on the syscall tracepoints (in-kernel counters: the proxies run
# at full speed), over one bounded client run each, divided by the connections it made.
# Also reads that found nothing (-EAGAIN) and the proxy's CPU per connection (/proc).
# BASE=DIR adds a "base" column: the same gangway run from another checkout (an A/B's base).
# Usage: flock /tmp/gangway-bench.lock bash bench/passthrough-syscalls.sh [seconds=4] [loops=32] [names="gangway haproxy"]
# Needs: perf (linux-perf), haproxy; root (or perf_event_paranoid <= -1) for tracepoints.
set -e
cd "$(dirname "$0")/.."
. bench/wrk-https.sh
. bench/issue15-lib.sh
S=${1:-4}; C=${2:-32}; NAMES=${3:-"gangway haproxy${BASE:+ base}"}
W=$(mktemp -d /tmp/gangway-pt-sys.XXXXXX); mkdir "$W/config" # the config alone in its folder: logs and perf data written beside it do not wake the watcher
free_port() { $BUN -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
BACK=$(free_port); GWP=$(free_port); HAP=$(free_port); ADMIN=$(free_port); BP_=$(free_port); BADMIN=$(free_port)
$BUN bench/lib/passthrough-config.ts "*.example.com" bulk.example.com $BACK >"$W/config/config.yaml"
passthrough_haproxy "$W/haproxy.cfg" 1 "$HAP" bulk.example.com "$BACK"
$BUN bench/passthrough.ts backend $BACK & BKP=$!
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 & HAPID=$!
$BUN src/main.ts --config "$W/config" --bind 127.0.0.1 --port-map 443:$GWP --admin 127.0.0.1:$ADMIN --workers 1 --access-log off >"$W/gw.log" 2>&1 & GWPID=$!
BASEPID=""
if [ -n "${BASE:-}" ]; then
  ROOT=$(pwd)
  (cd "$BASE" && exec "$ROOT/$BUN" src/main.ts --config "$W/config" --bind 127.0.0.1 --port-map 443:$BP_ --admin 127.0.0.1:$BADMIN --workers 1 --access-log off) >"$W/base.log" 2>&1 & BASEPID=$!
fi
trap 'kill $BKP $HAPID $GWPID $BASEPID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_ready "$ADMIN"; [ -n "$BASEPID" ] && wait_ready "$BADMIN"
sleep 0.5
echo "load at start: $(cat /proc/loadavg)"
EV="-e raw_syscalls:sys_enter -e syscalls:sys_enter_*"
for name in $NAMES; do
  case $name in haproxy) port=$HAP pid=$HAPID ;; gangway) port=$GWP pid=$GWPID ;; base) port=$BP_ pid=$BASEPID ;; esac
  $BUN bench/passthrough.ts client conns $port "$C" 2 >/dev/null
  a=$(cpu $pid)
  perf stat -x, -o "$W/$name.stat" -p "$pid" $EV \
    -e syscalls:sys_exit_recvfrom --filter 'ret == -11' -e syscalls:sys_exit_read --filter 'ret == -11' &
  PS=$!
  sleep 0.3
  rate=$($BUN bench/passthrough.ts client conns $port "$C" "$S")
  kill -INT $PS; wait $PS 2>/dev/null || true
  b=$(cpu $pid)
  n=$(awk -v r="$rate" -v s="$S" 'BEGIN { printf "%d", r * s }')
  printf "%-8s %.0f conn/s, %s connections, CPU %s us per connection (perf attached), load %s\n" "$name" "$rate" "$n" \
    "$(( (b - a) * 1000000 / TICK / (n > 0 ? n : 1) ))" "$(load1)"
  awk -F, -v n="$n" '
    $3 ~ /sys_exit_(recvfrom|read)$/ { eagain[$3] = $1; next }
    $3 == "raw_syscalls:sys_enter" { total = $1; next }
    $3 ~ /sys_enter_/ && $1 + 0 > 0 { sub("syscalls:sys_enter_", "", $3); c[$3] = $1 }
    END {
      printf "  total %.2f per connection\n", total / n
      for (k in c) if (c[k] / n >= 0.005) printf "    %-16s %6.3f\n", k, c[k] / n | "sort -k2 -gr"
      close("sort -k2 -gr")
      for (k in eagain) { s = k; sub("syscalls:sys_exit_", "", s); printf "  %s EAGAIN %.3f per connection\n", s, eagain[k] / n }
    }' "$W/$name.stat"
done
