#!/bin/bash
# Side by side, one run: TLS-terminating reverse proxy, nginx (Debian) vs the
# real gangway process, both with 2 workers, in front of one Bun "hello" upstream
# on loopback. Two loads: keep-alive requests, and new handshakes (Connection:
# close). Prints req/s, p99 and the gangway/nginx ratio per load.
# Usage: bash bench/tls-proxy.sh [duration=10s] [connections=64] [rounds=2]
# Needs: nginx, wrk (apt-get install -y nginx-light wrk). Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/wrk-https.sh
BUN=${BUN:-node_modules/.bin/bun}
D=${1:-10s}
C=${2:-64}
R=${3:-2}
W=$(mktemp -d /tmp/gangway-tls-bench.XXXXXX)
UPSTREAM=18090; NGINX=18443; GANGWAY=18444; ADMIN=18445

# the walkthrough's CA and server certificate, the credential Secret, the upstream's ServiceEntry
bench_config "$W"
bench_gateway "$W" <<YAML
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]   # wrk sends the IP as SNI
    tls: {mode: SIMPLE, credentialName: bench-credential}
YAML
cat >"$W/nginx.conf" <<NGINX
worker_processes 2;
daemon off;
error_log $W/nginx-error.log warn;
pid $W/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream hello { server 127.0.0.1:$UPSTREAM; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX ssl reuseport;
    ssl_certificate $W/httpbin.example.com.crt;
    ssl_certificate_key $W/httpbin.example.com.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://hello;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
NGINX

$BUN bench/http-proxy-upstream.ts $UPSTREAM >/dev/null & UP=$!
nginx -c "$W/nginx.conf" -p "$W/" & NG=$!
$BUN src/main.ts --config "$W/config" --port-map 443:$GANGWAY --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers ${GW_WORKERS:-2} --access-log off >"$W/gangway.log" 2>&1 & GW=$!
trap 'kill $UP $NG $GW 2>/dev/null; rm -rf "$W"' EXIT
wait_ready "$ADMIN"
curl -fsSk -o /dev/null "https://127.0.0.1:$NGINX/" && curl -fsSk -o /dev/null "https://127.0.0.1:$GANGWAY/"

NGW=$(pgrep -P $NG | tr '\n' ' ')
for round in $(seq 1 "$R"); do
  echo "round $round" >&2
  n=$(PIDS="$NGW" run "nginx   keep-alive" $NGINX)
  g=$(PIDS="$GW" run "gangway keep-alive" $GANGWAY)
  awk -v g="$g" -v n="$n" 'BEGIN { printf "  keep-alive ratio gangway/nginx: %.2f\n", g / n }' >&2
  n=$(PIDS="$NGW" run "nginx   new handshakes" $NGINX -H "Connection: close")
  g=$(PIDS="$GW" run "gangway new handshakes" $GANGWAY -H "Connection: close")
  awk -v g="$g" -v n="$n" 'BEGIN { printf "  handshake ratio gangway/nginx: %.2f\n", g / n }' >&2
done
# how many of gangway's handshakes resumed a session (wrk resumes; a ticket from
# one worker cannot be opened by another: Bun has no shared ticket keys)
curl -fsS "http://127.0.0.1:$ADMIN/stats/prometheus" | grep '^gangway_tls_handshakes_total' >&2 || true
