#!/bin/bash
# What passthrough beside termination costs the terminated traffic: one gangway
# process, two HTTPS ports with the same SIMPLE server for "*" (wrk sends no
# SNI: the catch-all chain), one of them also with a PASSTHROUGH server for
# nginx.example.com. wrk alternates between them (keep-alive, then new
# handshakes with Connection: close); prints req/s and the mixed/termination-only ratio.
# Usage: bash bench/passthrough-mixed.sh [duration=10s] [connections=64] [rounds=3]
# Needs: wrk (apt-get install -y wrk). Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/wrk-https.sh
BUN=${BUN:-node_modules/.bin/bun}
D=${1:-10s}
C=${2:-64}
R=${3:-3}
W=$(mktemp -d /tmp/gangway-mixed-bench.XXXXXX)
free_port() { $BUN -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
UPSTREAM=$(free_port); ONLY=$(free_port); MIXED=$(free_port); ADMIN=$(free_port)

bench_config "$W"
bench_gateway "$W" <<YAML
  - port: {number: 8443, name: https-only, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bench-credential}
  - port: {number: 9443, name: https-mixed, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bench-credential}
  - port: {number: 9443, name: passthrough, protocol: HTTPS}
    hosts: [nginx.example.com]
    tls: {mode: PASSTHROUGH}
YAML
cat >>"$W/config/gateway.yaml" <<YAML
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: nginx}
spec:
  hosts: [nginx.example.com]
  gateways: [bench]
  tls:
  - match: [{sniHosts: [nginx.example.com]}]
    route: [{destination: {host: hello.local, port: {number: 80}}}]
YAML

$BUN bench/http-proxy-upstream.ts "$UPSTREAM" >/dev/null & UP=$!
$BUN src/main.ts --config "$W/config" --port-map "8443:$ONLY,9443:$MIXED" --bind 127.0.0.1 --admin "127.0.0.1:$ADMIN" \
  --workers 2 --access-log off >"$W/gangway.log" 2>&1 & GW=$!
trap 'kill $UP $GW 2>/dev/null; rm -rf "$W"' EXIT
wait_ready "$ADMIN"
curl -fsSk -o /dev/null "https://127.0.0.1:$ONLY/" && curl -fsSk -o /dev/null "https://127.0.0.1:$MIXED/"

for round in $(seq 1 "$R"); do
  echo "round $round" >&2
  o=$(run "termination-only keep-alive" "$ONLY")
  m=$(run "mixed (+ passthrough) keep-alive" "$MIXED")
  awk -v m="$m" -v o="$o" 'BEGIN { printf "  keep-alive ratio mixed/termination-only: %.2f\n", m / o }' >&2
  o=$(run "termination-only new handshakes" "$ONLY" -H "Connection: close")
  m=$(run "mixed (+ passthrough) new handshakes" "$MIXED" -H "Connection: close")
  awk -v m="$m" -v o="$o" 'BEGIN { printf "  handshake ratio mixed/termination-only: %.2f\n", m / o }' >&2
done
