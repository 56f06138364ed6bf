#!/bin/bash
# Side by side: wrk against nginx and gangway, both proxying to one Bun "hello"
# upstream on loopback. Reports req/s, p99 and the proxy's CPU time per request
# (utime+stime of its processes / requests), which is steadier than req/s on a
# shared 2-core machine. Rounds alternate nginx and gangway.
# Usage: [SPLICE=1] bash bench/http-proxy.sh [duration=10s] [connections=64] [rounds=3]
# SPLICE=1 adds a raw L4 splice (no HTTP) as the floor of what Bun's sockets cost.
set -e
cd "$(dirname "$0")/.."
. bench/lib/wrk-http.sh
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
for round in $(seq 1 "$R"); do
  run nginx 18082 $NGW
  run gangway 18081 $GW
  if [ -n "$SP" ]; then run splice 18084 $SP; fi
done
