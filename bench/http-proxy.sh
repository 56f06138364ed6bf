#!/bin/bash
# Side by side: wrk against nginx and gangway, both proxying to one Bun "hello"
# upstream on loopback. Reports req/s, p99 and the proxy's CPU time per request
# (utime+stime of its processes / requests), which is steadier than req/s on a
# shared 2-core machine. Rounds alternate nginx and gangway.
# Usage: [SPLICE=1] bash bench/http-proxy.sh [duration=10s] [connections=64] [rounds=3]
# SPLICE=1 adds a raw L4 splice (no HTTP) as the floor of what Bun's sockets cost.
set -e
cd "$(dirname "$0")/.."
BUN=${BUN:-node_modules/.bin/bun}
D=${1:-10s}
C=${2:-64}
R=${3:-3}
mkdir -p /tmp/nginx-bench
$BUN bench/http-proxy-upstream.ts 18080 >/dev/null & UP=$!
nginx -c "$PWD/bench/http-proxy-nginx.conf" -p /tmp/nginx-bench/ & NG=$!
$BUN bench/http-proxy-gangway.ts 18081 18080 2 >/dev/null & GW=$!
SP=""
if [ -n "$SPLICE" ]; then $BUN bench/http-proxy-splice.ts 18084 18080 2 >/dev/null & SP=$!; fi
trap 'kill $UP $NG $GW $SP 2>/dev/null' EXIT
sleep 2
curl -fsS -o /dev/null http://127.0.0.1:18081/ && curl -fsS -o /dev/null http://127.0.0.1:18082/
NGW=$(pgrep -P $NG | tr '\n' ' ')
TICK=$(getconf CLK_TCK)
cpu() { local t=0; for p in "$@"; do read -r -a f < /proc/$p/stat; t=$((t + f[13] + f[14])); done; echo $t; }
run() { # name port pids...
  local name=$1 port=$2; shift 2
  wrk -t2 -c"$C" -d2s "http://127.0.0.1:$port/" >/dev/null # warm-up
  local a; a=$(cpu "$@")
  local out; out=$(wrk -t2 -c"$C" -d"$D" --latency "http://127.0.0.1:$port/")
  local b; b=$(cpu "$@")
  local rps reqs p99 errs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(echo "$out" | awk '/ 99%/ {print $2}')
  errs=$(echo "$out" | grep -E "Non-2xx|Socket errors" | tr '\n' ' ')
  printf "%-8s req/s %9s  p99 %8s  cpu/req %5s us %s\n" "$name" "$rps" "$p99" $(( (b - a) * 1000000 / TICK / reqs )) "$errs"
}
for round in $(seq 1 "$R"); do
  run nginx 18082 $NGW
  run gangway 18081 $GW
  if [ -n "$SP" ]; then run splice 18084 $SP; fi
done
