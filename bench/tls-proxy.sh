#!/bin/bash
# Side by side, one run: TLS-terminating reverse proxy, nginx (Debian) vs the
# real gangway process, both with 2 workers, in front of one Bun "hello" upstream
# on loopback. Two loads: keep-alive requests, and new handshakes (Connection:
# close; wrk resumes sessions), then handshakes alone with `openssl s_time` (2 clients
# in parallel per side): -new, a full handshake every time (nginx with session tickets
# and cache off), and -reuse, resumed. Prints req/s, p99, errors, the gangway/nginx
# ratio per load, and gangway's resumed/full split.
# Clean runs: ulimit -n raised, nginx listen backlog=4096 (its default is 511) and
# worker_rlimit_nofile, keepalive_requests unlimited (nginx closes after 1000 by default,
# wrk then reconnects mid-run), so the wrk "Socket errors" line must stay absent.
# Usage: bash bench/tls-proxy.sh [duration=5s] [connections=64] [rounds=3] [s_time seconds=4]
# (KA_ONLY=1: the keep-alive loads alone, no handshake loads)
# Needs: nginx, wrk (apt-get install -y nginx-light wrk). Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/wrk-https.sh
BUN=${BUN:-node_modules/.bin/bun}
D=${1:-5s}
C=${2:-64}
R=${3:-3}
ST=${4:-4}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
W=$(mktemp -d /tmp/gangway-tls-bench.XXXXXX)
UPSTREAM=18090; NGINX=18443; GANGWAY=18444; ADMIN=18445; NGINX_FULL=18446

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
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  upstream hello { server 127.0.0.1:$UPSTREAM; keepalive 64; }
  server { # full handshakes only: no tickets, no session cache
    listen 127.0.0.1:$NGINX_FULL ssl reuseport backlog=4096;
    ssl_certificate $W/httpbin.example.com.crt;
    ssl_certificate_key $W/httpbin.example.com.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache off;
    location / { proxy_pass http://hello; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$NGINX ssl reuseport backlog=4096;
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
echo "load at start: $(cat /proc/loadavg)" >&2
KA=""; NH=""
for round in $(seq 1 "$R"); do
  echo "round $round" >&2
  n=$(PIDS="$NGW" run "nginx   keep-alive" $NGINX)
  g=$(PIDS="$GW" run "gangway keep-alive" $GANGWAY)
  awk -v g="$g" -v n="$n" 'BEGIN { printf "  keep-alive ratio gangway/nginx: %.2f\n", g / n }' >&2
  KA+="$(awk -v g="$g" -v n="$n" 'BEGIN { printf "%.3f", g / n }') "
  [ -n "$KA_ONLY" ] && continue
  n=$(PIDS="$NGW" run "nginx   new handshakes" $NGINX -H "Connection: close")
  g=$(PIDS="$GW" run "gangway new handshakes" $GANGWAY -H "Connection: close")
  awk -v g="$g" -v n="$n" 'BEGIN { printf "  handshake ratio gangway/nginx: %.2f\n", g / n }' >&2
  NH+="$(awk -v g="$g" -v n="$n" 'BEGIN { printf "%.3f", g / n }') "
done
# s_time MODE PORT PIDS: 2 openssl s_time clients for ST seconds, one GET per connection
# (without it the client leaves before TLS 1.3's NewSessionTicket and -reuse never resumes); prints "handshakes/s cpu_us_per_handshake resumed%"
s_time() {
  local a b i total=0 secs=$ST r=0
  a=$(cpu $3)
  openssl s_time -connect "127.0.0.1:$2" "-$1" -time "$ST" -www / >"$W/s_time.1" 2>&1 & local p1=$!
  openssl s_time -connect "127.0.0.1:$2" "-$1" -time "$ST" -www / >"$W/s_time.2" 2>&1 & local p2=$!
  wait $p1 $p2 || true
  b=$(cpu $3)
  for i in 1 2; do
    total=$((total + $(awk '/connections in .* real seconds/ { n = $1 } END { print n + 0 }' "$W/s_time.$i")))
    r=$((r + $(grep -E '^[r*]+$' "$W/s_time.$i" | tr -cd r | wc -c))) # s_time prints r per resumed connection
  done
  echo "$((total / secs)) $(( (b - a) * 1000000 / TICK / (total > 0 ? total : 1) )) $((r * 100 / (total > 0 ? total : 1)))"
}
med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
if [ -n "$KA_ONLY" ]; then
  echo "median wrk keep-alive ratio gangway/nginx over $R rounds: $(med $KA); load $(cat /proc/loadavg)" >&2
  exit 0
fi
declare -A HS
for round in $(seq 1 "$R"); do
  for mode in new reuse; do
    nport=$NGINX; [ $mode = new ] && nport=$NGINX_FULL
    read -r n ncpu nres < <(s_time $mode $nport "$NGW")
    read -r g gcpu gres < <(s_time $mode $GANGWAY "$GW")
    printf "round %d s_time -%-5s nginx %5s/s (%s us cpu each, %s%% resumed)  gangway %5s/s (%s us cpu each, %s%% resumed)  ratio %s  (load %s)\n" \
      "$round" $mode "$n" "$ncpu" "$nres" "$g" "$gcpu" "$gres" \
      "$(awk -v g="$g" -v n="$n" 'BEGIN { printf "%.2f", g / (n > 0 ? n : 1) }')" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    HS[$mode]+="$(awk -v g="$g" -v n="$n" 'BEGIN { printf "%.3f", g / (n > 0 ? n : 1) }') "
  done
done
echo "median wrk ratio gangway/nginx over $R rounds: keep-alive $(med $KA), Connection: close (wrk resumes) $(med $NH)" >&2
echo "median handshake ratio gangway/nginx over $R rounds: full (-new) $(med ${HS[new]}), resumed (-reuse) $(med ${HS[reuse]}); load $(cat /proc/loadavg)" >&2
# how many of gangway's handshakes resumed a session (wrk resumes; a ticket from
# one worker cannot be opened by another: Bun has no shared ticket keys)
curl -fsS "http://127.0.0.1:$ADMIN/stats/prometheus" | grep '^gangway_tls_handshakes_total' >&2 || true
