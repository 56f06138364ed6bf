#!/bin/bash
# Upstream TLS keep-alive, side by side: wrk (plain HTTP) against nginx and
# gangway, both originating TLS to one Bun "hello" upstream over TLS, verified
# against its CA (gangway: DestinationRule tls SIMPLE). Same reporting as
# http-proxy.sh: req/s, p99 and the proxy's CPU time per request.
# Usage: bash bench/upstream-tls.sh [duration=10s] [connections=64] [rounds=3]
set -e
cd "$(dirname "$0")/.."
. bench/lib/wrk-http.sh
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
for round in $(seq 1 "$R"); do
  run nginx 18092 $NGW
  run gangway 18091 $GW
done
