#!/bin/bash
# Upstream TLS keep-alive, side by side: wrk (plain HTTP) against nginx and
# gangway, both originating TLS to one Bun "hello" upstream over TLS, verified
# against its CA (gangway: DestinationRule tls SIMPLE). Same reporting as
# http-proxy.sh: req/s, p99 and the proxy's CPU time per request.
# Usage: bash bench/upstream-tls.sh [duration=10s] [connections=64] [rounds=3]
set -e
cd "$(dirname "$0")/.."
BUN=${BUN:-node_modules/.bin/bun}
D=${1:-10s}
C=${2:-64}
R=${3:-3}
mkdir -p /tmp/up-tls-bench
$BUN bench/upstream-tls-upstream.ts 18090 >/dev/null & UP=$!
sleep 2 # the upstream writes the CA the others read
nginx -c "$PWD/bench/upstream-tls-nginx.conf" -p /tmp/up-tls-bench/ & NG=$!
$BUN bench/upstream-tls-gangway.ts 18091 18090 2 >/dev/null & GW=$!
SP=""
trap 'kill $UP $NG $GW $SP 2>/dev/null' EXIT
sleep 2
curl -fsS -o /dev/null http://127.0.0.1:18091/ && curl -fsS -o /dev/null http://127.0.0.1:18092/
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
  run nginx 18092 $NGW
  run gangway 18091 $GW
done
