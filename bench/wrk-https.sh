# Shared by the TLS benchmark scripts (source it): wait for the gateway, and one
# wrk load against an https port. Needs C (connections) and D (duration) set.

# wait_ready ADMIN_PORT: until the gateway's /ready answers 200 (10 s at most)
wait_ready() {
  for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$1/ready" 2>/dev/null && return 0; sleep 0.2; done
  return 1
}

# bench_config W: an ECDSA CA and server certificate for httpbin.example.com in W (made by
# `gateway certs`), the Secret bench-credential in W/config/, and W/config/hello.yaml: the
# ServiceEntry hello.local:80 -> 127.0.0.1:$UPSTREAM. Needs BUN and UPSTREAM.
bench_config() {
  $BUN src/main.ts certs ca --name example.com --org "example Inc." --out "$1" --key-type ec >/dev/null
  $BUN src/main.ts certs server --ca "$1/example.com" --name httpbin.example.com --out "$1" --key-type ec \
    --secret-name bench-credential --secret-format tls >/dev/null
  mkdir -p "$1/config"
  mv "$1/bench-credential.yaml" "$1/config/"
  cat >"$1/config/hello.yaml" <<YAML
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: hello}
spec:
  hosts: [hello.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: $UPSTREAM}}]
YAML
}

# bench_gateway W: W/config/gateway.yaml, the Gateway bench with the servers read
# from stdin (YAML list items, indented 2) and the VirtualService bench sending
# every host to hello.local:80.
bench_gateway() {
  {
    cat <<YAML
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: bench}
spec:
  selector: {istio: ingressgateway}
  servers:
YAML
    cat
    cat <<YAML
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: bench}
spec:
  hosts: ["*"]
  gateways: [bench]
  http:
  - route: [{destination: {host: hello.local, port: {number: 80}}}]
YAML
  } >"$1/config/gateway.yaml"
}

# bench_gateway_both W: bench_gateway with the two servers most runs use: HTTP on 80 and HTTPS on
# 443 (SIMPLE, bench-credential), every host.
bench_gateway_both() {
  bench_gateway "$1" <<YAML
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bench-credential}
YAML
}

. bench/lib/cpu.sh

# run LABEL PORT [wrk args...]: warm-up, then the measured load; prints a line to
# stderr and the req/s to stdout. With PIDS="pid ..." set, the line also has
# the CPU those processes spent per request (steadier than req/s on a shared machine).
run() {
  local label=$1 port=$2; shift 2
  wrk -t2 -c"$C" -d2s "$@" "https://127.0.0.1:$port/" >/dev/null 2>&1 # warm-up
  local a=0 b=0
  [ -n "$PIDS" ] && a=$(cpu $PIDS)
  local out; out=$(wrk -t2 -c"$C" -d"$D" --latency "$@" "https://127.0.0.1:$port/")
  [ -n "$PIDS" ] && b=$(cpu $PIDS)
  local rps reqs p99 errs per=""
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(echo "$out" | awk '/ 99%/ {print $2}')
  errs=$(echo "$out" | grep -E "Non-2xx|Socket errors" | tr '\n' ' ')
  [ -n "$PIDS" ] && [ "${reqs:-0}" -gt 0 ] && per="cpu/req $(( (b - a) * 1000000 / TICK / reqs )) us"
  printf "%-36s req/s %9s  p99 %8s  %s %s\n" "$label" "$rps" "$p99" "$per" "$errs" >&2
  echo "$rps"
}
