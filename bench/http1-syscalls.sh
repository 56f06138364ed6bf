#!/bin/bash
# Syscalls per request of the target-1 proxies (issue15-http1.sh's setup: nginx `return 200`
# upstream, 2 workers each): gangway, the Bun splice ceiling, nginx, HAProxy. Counted with
# `perf stat` on the syscall tracepoints (in-kernel counters: the proxies run at full speed,
# unlike under strace, so their batching is what it is in the benchmark), over one bounded
# wrk run each, divided by the requests wrk completed. Also: reads that found nothing
# (recvfrom/read returning -EAGAIN), and the client-side epoll events per epoll wait.
# Usage: flock /tmp/gangway-bench.lock bash bench/http1-syscalls.sh [duration=5s] [connections=64] [names]
# Needs: perf (linux-perf), nginx, haproxy, wrk; root (or perf_event_paranoid <= -1) for tracepoints.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
D=${1:-5s}; C=${2:-64}; NAMES=${3:-"gangway splice nginx haproxy"}
W=$(mktemp -d /tmp/gangway-i15-sys.XXXXXX)
UP=18380; GW=18381; NG=18382; HA=18383; ADMIN=18384; SP=18385

http1_peers "$W" $UP $NG $HA

nginx -c "$W/up.conf" -p "$W/" & UPP=$!
nginx -c "$W/nginx.conf" -p "$W/" & NGP=$!
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 & HAP=$!
$BUN src/main.ts --config "$W/config" --port-map 80:$GW --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers 2 --access-log off >"$W/gangway.log" 2>&1 & GWP=$!
$BUN bench/http-proxy-splice.ts $SP $UP 2 >"$W/splice.log" 2>&1 & SPP=$!
trap 'kill $UPP $NGP $HAP $GWP $SPP 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for p in $GW $NG $HA $SP; do wait_http "http://127.0.0.1:$p/"; done
NGW=$(pgrep -P $NGP | paste -sd,)
echo "load at start: $(cat /proc/loadavg)"
EV="-e raw_syscalls:sys_enter -e syscalls:sys_enter_*"
for name in $NAMES; do
  case $name in nginx) port=$NG pids=$NGW ;; haproxy) port=$HA pids=$HAP ;; gangway) port=$GW pids=$GWP ;; splice) port=$SP pids=$SPP ;; esac
  wrk -t2 -c"$C" -d2s "http://127.0.0.1:$port/" >/dev/null 2>&1
  perf stat -x, -o "$W/$name.stat" -p "$pids" $EV \
    -e syscalls:sys_exit_recvfrom --filter 'ret == -11' -e syscalls:sys_exit_read --filter 'ret == -11' &
  PS=$!
  sleep 0.3
  out=$(wrk -t2 -c"$C" -d"$D" "http://127.0.0.1:$port/")
  kill -INT $PS; wait $PS 2>/dev/null || true
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  # perf counted 0.3 s before wrk started and until it was stopped: idle there (no load), so
  # those syscalls are the few timers of an idle proxy; reported per request of wrk's run
  printf "%-8s %s req/s, %s requests, load %s\n" "$name" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$reqs" "$(load1)"
  awk -F, -v n="$reqs" '
    $3 ~ /sys_exit_(recvfrom|read)$/ { eagain[$3] = $1; next }
    $3 == "raw_syscalls:sys_enter" { total = $1; next }
    $3 ~ /sys_enter_/ && $1 + 0 > 0 { sub("syscalls:sys_enter_", "", $3); c[$3] = $1 }
    END {
      printf "  total %.2f per request\n", total / n
      for (k in c) if (c[k] / n >= 0.005) printf "    %-16s %6.3f\n", k, c[k] / n | "sort -k2 -gr"
      close("sort -k2 -gr")
      for (k in eagain) { s = k; sub("syscalls:sys_exit_", "", s); printf "  %s EAGAIN %.3f per request\n", s, eagain[k] / n }
    }' "$W/$name.stat"
done
