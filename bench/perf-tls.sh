#!/bin/bash
# Where the worker's CPU goes per request on HTTPS keep-alive against plain HTTP/1.1 (issue 15
# target 3): one config (a Gateway with an HTTPS server and an HTTP server, both routed to an nginx
# `return 200` upstream), its data plane in one thread (bench/tls-proxy-inproc.ts), perf record -g
# under wrk on each port in turn, summarized per request by bench/lib/perf-native.py (JS, Bun's
# native code, kernel). Also prints the process's CPU per request (user/system from /proc).
# SYSCALLS=1: syscalls per request instead (perf stat on the tracepoints, as bench/http1-syscalls.sh).
# Usage: [SYSCALLS=1] flock /tmp/gangway-bench.lock bash bench/perf-tls.sh [seconds=6] [connections=32] [kinds="tls plain"]
# Needs: perf, nginx, wrk, python3. Loopback only.
set -u
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
S=${1:-6}; C=${2:-32}; KINDS=${3:-tls plain}
W=$(mktemp -d /tmp/gangway-perf-tls.XXXXXX); UPSTREAM=18690; TP=18691; HP=18692
bench_config "$W"
bench_gateway_both "$W"
upstream_conf "$W" $UPSTREAM
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
GP=""
trap 'kill $UPP $GP 2>/dev/null; wait 2>/dev/null; rm -f "/tmp/perf-$GP.map"' EXIT
for k in $KINDS; do
  if [ $k = tls ]; then URL=https://127.0.0.1:$TP/; else URL=http://127.0.0.1:$HP/; fi
  BUN_JSC_useJITDump=1 BUN_JSC_jitDumpDirectory=$W $BUN bench/tls-proxy-inproc.ts "$W/config" "443:$TP,80:$HP" $((S + 20)) >"$W/proxy-$k.log" 2>&1 & GP=$!
  wait_http "$URL" || exit 1
  wrk -t2 -c"$C" -d2s "$URL" >/dev/null
  a=$(cpu $GP); ua=$(cpu_user $GP)
  if [ -n "${SYSCALLS:-}" ]; then
    perf stat -x, -o "$W/$k.stat" -p $GP -e raw_syscalls:sys_enter -e 'syscalls:sys_enter_*' \
      -e syscalls:sys_exit_recvfrom --filter 'ret == -11' -e syscalls:sys_exit_sendto --filter 'ret == -11' & PP=$!
    sleep 0.3
    out=$(wrk -t2 -c"$C" -d"${S}s" "$URL")
    kill -INT $PP; wait $PP 2>/dev/null
  else
    perf record -k mono -g -F 1999 -p $GP -o "$W/perf-$k.data" -- sleep "$S" >"$W/perf.log" 2>&1 & PP=$!
    out=$(wrk -t2 -c"$C" -d"${S}s" "$URL")
    wait $PP
  fi
  b=$(cpu $GP); ub=$(cpu_user $GP)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "== $k: $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s, $reqs requests, cpu/req $(awk -v c=$((b - a)) -v u=$((ub - ua)) -v n="$reqs" -v t=$TICK 'BEGIN { printf "%.2f us (user %.2f, sys %.2f)", c * 1e6 / t / n, u * 1e6 / t / n, (c - u) * 1e6 / t / n }') (with perf attached), load $(load1)"
  if [ -n "${SYSCALLS:-}" ]; then
    awk -F, -v n="$reqs" '$3 == "raw_syscalls:sys_enter" { printf "  syscalls %.2f per request\n", $1 / n; next }
      $3 ~ /sys_exit_/ { s = $3; sub("syscalls:sys_exit_", "", s); printf "    %s EAGAIN %.3f\n", s, $1 / n; next }
      $3 ~ /sys_enter_/ && $1 / n >= 0.005 { s = $3; sub("syscalls:sys_enter_", "", s); printf "    %-16s %6.3f\n", s, $1 / n }' "$W/$k.stat"
    kill $GP 2>/dev/null; wait $GP 2>/dev/null; GP=""; continue
  fi
  python3 bench/lib/perf-native.py jitmap "$(ls -t "$W"/jit-*.dump | head -1)" $GP
  perf script -i "$W/perf-$k.data" --comm bun -F ip,sym,dso 2>/dev/null >"$W/perf-$k.script"
  python3 bench/lib/perf-native.py report "$W/perf-$k.script" "$reqs"
  kill $GP 2>/dev/null; wait $GP 2>/dev/null; rm -f "/tmp/perf-$GP.map"; GP=""
done
echo "data: $W"
