#!/bin/bash
# JS per proxied request (http-proxy-loop.ts, issue15-http1.sh's configuration) with tracing
# off, on at 1 % and on at 100 % (a Telemetry naming a Zipkin provider), alternating runs in
# this checkout; prints each run and the medians. The collector is a closed loopback port:
# at 100 % every span is built and queued, and past the queue's bound dropped (the sockets
# never turn in the loop, so no report completes); what a report costs is not in it.
# Usage: flock /tmp/gangway-bench.lock bash bench/tracing-cost.sh [runs=5] [requests=200000]
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
R=${1:-5}; N=${2:-200000}
W=$(mktemp -d /tmp/gangway-tracing-cost.XXXXXX); trap 'rm -rf "$W"' EXIT
http1_peers "$W" 18280 18282 18283
cat >"$W/mesh.yaml" <<YAML
extensionProviders:
- name: zipkin
  zipkin: {service: zipkin.local, port: 9411}
YAML
cat >"$W/config/zipkin.yaml" <<YAML
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: zipkin}
spec:
  hosts: [zipkin.local]
  ports: [{number: 9411, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: 9}}]
YAML
tel() { cat >"$W/config/telemetry.yaml" <<YAML
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing: [{providers: [{name: zipkin}], randomSamplingPercentage: $1}]
YAML
}
run() { CONFIG="$W/config" "$@" node_modules/.bin/bun bench/http-proxy-loop.ts "$N" 7 | awk '{print $3}'; }
echo "load at start: $(cat /proc/loadavg)"
T0=; T1=; T100=
for i in $(seq 1 "$R"); do
  rm -f "$W/config/telemetry.yaml"; a=$(run env)
  tel 1; b=$(run env MESH="$W/mesh.yaml")
  tel 100; c=$(run env MESH="$W/mesh.yaml")
  echo "run $i  off $a us  1% $b us  100% $c us"; T0+="$a "; T1+="$b "; T100+="$c "
done
echo "medians: off $(median $T0) us  1% $(median $T1) us  100% $(median $T100) us per request (load at end: $(cat /proc/loadavg))"
