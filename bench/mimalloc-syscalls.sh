#!/bin/bash
# Why MIMALLOC_PURGE_DELAY moves CPU per request: one gangway (2 workers, access log off) in
# front of one nginx `return 200` upstream, loaded by wrk (HTTP/1.1 keep-alive); during a
# measured run, `perf stat -p` counts the gateway's madvise/munmap/mmap calls, page faults and
# context switches (all threads), reported per 1000 requests, once per setting given: "unset"
# (mimalloc's defaults: purge_delay 100 ms in Bun 1.4.4's mimalloc v3.5.3), a bare number (a
# MIMALLOC_PURGE_DELAY value) or VAR=value[,VAR=value] (e.g. MIMALLOC_PURGE_HOLES=0). Each
# setting gets its own fresh gateway process (mimalloc reads its options once at process start).
# Usage: flock /tmp/gangway-bench.lock bash bench/mimalloc-syscalls.sh [duration=6] [connections=64] [settings="unset -1 1000"]
# Needs: nginx, wrk, perf (syscalls tracepoints). Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
D=${1:-6}; C=${2:-64}; VALUES=${3:-unset -1 1000}
W=$(mktemp -d /tmp/gangway-mimsys.XXXXXX)
UP=18390; GW=18391; ADM=18392
http1_peers "$W" $UP 18393 18394
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
GP=""
trap 'kill $UPP $GP 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
echo "load at start: $(cat /proc/loadavg)"
for v in $VALUES; do
  case $v in unset) e="" ;; *=*) e=${v//,/ } ;; *) e="MIMALLOC_PURGE_DELAY=$v" ;; esac
  env $e $BUN src/main.ts --config "$W/config" --port-map 80:$GW --bind 127.0.0.1 --admin 127.0.0.1:$ADM \
    --workers 2 --access-log off >"$W/gw.log" 2>&1 & GP=$!
  wait_http "http://127.0.0.1:$GW/"
  wrk -t2 -c"$C" -d5s "http://127.0.0.1:$GW/" >/dev/null 2>&1
  wrk -t2 -c"$C" -d"$((D + 2))s" "http://127.0.0.1:$GW/" >"$W/wrk.out" 2>&1 & WP=$!
  sleep 1
  perf stat -x, -e syscalls:sys_enter_madvise,syscalls:sys_enter_munmap,syscalls:sys_enter_mmap,page-faults,context-switches \
    -p $GP -o "$W/perf.out" -- sleep "$D" 2>/dev/null
  wait $WP
  rps=$(awk '/Requests\/sec/ {print $2}' "$W/wrk.out")
  rss=$(($(rss_kb $GP) / 1024))
  awk -F, -v v="$v" -v rps="$rps" -v d="$D" -v rss="$rss" '
    /^[0-9]/ { n = split($3, a, ":"); name = a[n]; sub(/sys_enter_/, "", name); c[name] = $1 }
    END { r = rps * d / 1000; printf "%-22s req/s %9s | per 1000 req: madvise %7.2f munmap %6.2f mmap %6.2f page-faults %7.2f ctx-switches %7.2f | RSS %d MB\n",
      v, rps, c["madvise"] / r, c["munmap"] / r, c["mmap"] / r, c["page-faults"] / r, c["context-switches"] / r, rss }' "$W/perf.out"
  kill $GP; wait $GP 2>/dev/null || true; GP=""
done
echo "load at end: $(cat /proc/loadavg)"
