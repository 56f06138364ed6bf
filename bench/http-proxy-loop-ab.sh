#!/bin/bash
# http-proxy-loop.ts for two checkouts A and B in alternating runs (the script is copied into
# each), with issue15-http1.sh's configuration; prints each run and the medians.
# TLS=1: the client connections are TLS-terminated (http-proxy-loop.ts TLS=1; the configuration
# then has an HTTPS server, bench/wrk-https.sh's certificate; both checkouts need
# workers/tls/native.ts's nativeTlsHandlers export).
# Usage: [TLS=1] flock /tmp/gangway-bench.lock bash bench/http-proxy-loop-ab.sh ROOT_A ROOT_B [runs=5] [requests=200000]
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
A=$(cd "$1" && pwd); B=$(cd "$2" && pwd); R=${3:-5}; N=${4:-200000}
W=$(mktemp -d /tmp/gangway-loop-ab.XXXXXX); trap 'rm -rf "$W"' EXIT
http1_peers "$W" 18280 18282 18283
if [ "${TLS:-}" = 1 ]; then
  . bench/wrk-https.sh
  rm -rf "$W/config"; UPSTREAM=18280 bench_config "$W"
  bench_gateway "$W" <<YAML
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bench-credential}
YAML
fi
for r in "$A" "$B"; do [ "$r/bench/http-proxy-loop.ts" -ef bench/http-proxy-loop.ts ] || cp bench/http-proxy-loop.ts "$r/bench/"; done
echo "load at start: $(cat /proc/loadavg)"
TA=; TB=
for i in $(seq 1 "$R"); do
  a=$(cd "$A" && CONFIG="$W/config" "$A/node_modules/.bin/bun" bench/http-proxy-loop.ts "$N" 7 | awk '{print $3}')
  b=$(cd "$B" && CONFIG="$W/config" "$B/node_modules/.bin/bun" bench/http-proxy-loop.ts "$N" 7 | awk '{print $3}')
  echo "run $i  A $a us  B $b us"; TA+="$a "; TB+="$b "
done
echo "medians: A $(median $TA) us  B $(median $TB) us per request (load at end: $(cat /proc/loadavg))"
