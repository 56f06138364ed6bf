#!/bin/bash
# Issue 15 target 2: HTTP/2 downstream, gangway vs nginx (http2 on), 2 workers each, in
# front of one nginx `return 200` upstream over HTTP/1.1 keep-alive, on loopback. The
# load is h2load: h2c (prior knowledge) and h2 over TLS (ALPN). Rounds alternate the two.
# Prints req/s, mean request time, CPU per request, failed requests, the median ratio.
# Usage: bash bench/issue15-h2.sh [seconds=6] [clients=8] [streams=16] [rounds=3]
# Needs: nginx, h2load (apt-get install -y nginx-light nghttp2-client).
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
S=${1:-6}; CL=${2:-8}; M=${3:-16}; R=${4:-3}
W=$(mktemp -d /tmp/gangway-i15-h2.XXXXXX)
UPSTREAM=18380; GW=18381; GWS=18382; NG=18383; NGS=18384; ADMIN=18385

bench_config "$W" # certificates, the Secret bench-credential, ServiceEntry hello.local -> $UPSTREAM
bench_gateway_both "$W"
upstream_conf "$W" $UPSTREAM
cat >"$W/nginx.conf" <<NGINX
worker_processes 2; daemon off; error_log $W/nginx-error.log warn; pid $W/nginx.pid;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 100000000;
  upstream hello { server 127.0.0.1:$UPSTREAM; keepalive 64; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$NG http2 reuseport backlog=4096;
    listen 127.0.0.1:$NGS ssl http2 reuseport backlog=4096;
    ssl_certificate $W/httpbin.example.com.crt;
    ssl_certificate_key $W/httpbin.example.com.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    $NGX_TO_HELLO } }
NGINX
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
nginx -c "$W/nginx.conf" -p "$W/" & NGP=$!
$BUN src/main.ts --config "$W/config" --port-map 80:$GW,443:$GWS --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers 2 --access-log off >"$W/gangway.log" 2>&1 & GWP=$!
trap 'kill $UPP $NGP $GWP 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_ready "$ADMIN" || { cat "$W/gangway.log"; exit 1; }
for u in https://127.0.0.1:$NGS/ https://127.0.0.1:$GWS/; do wait_http "$u"; done
for p in $NG $GW; do curl -fsS --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$p/"; done
NGW=$(pgrep -P $NGP | tr '\n' ' ')

# h2_run URL PIDS: 1 s warm-up inside h2load, then S seconds; prints "rps mean_ms cpu_us failed"
h2_run() {
  local a b out rps done_ fail mean
  a=$(cpu $2)
  out=$(h2load -t2 -c"$CL" -m"$M" --warm-up-time=1 -D"$S" "$1" 2>&1)
  b=$(cpu $2)
  rps=$(echo "$out" | awk '/^finished in/ { print $4 }')
  done_=$(echo "$out" | awk '/^requests:/ { print $8 }')
  fail=$(echo "$out" | awk '/^requests:/ { print $10 + $12 }')
  mean=$(ms "$(echo "$out" | awk '/^time for request:/ { print $6 }')")
  echo "$rps $mean $(( (b - a) * 1000000 / TICK / (done_ > 0 ? done_ : 1) )) $fail"
}
echo "load at start: $(cat /proc/loadavg)"
declare -A RPS
for round in $(seq 1 "$R"); do
  for t in "nginx h2c http://127.0.0.1:$NG/" "gangway h2c http://127.0.0.1:$GW/" \
           "nginx h2 https://127.0.0.1:$NGS/" "gangway h2 https://127.0.0.1:$GWS/"; do
    set -- $t
    pids=$GWP; [ "$1" = nginx ] && pids=$NGW
    read -r rps mean cpuus fail < <(h2_run "$3" "$pids")
    printf "round %d %-8s %-4s req/s %9s  mean %7s ms  cpu/req %4s us  failed %s  (load %s)\n" "$round" "$1" "$2" "$rps" "$mean" "$cpuus" "$fail" "$(load1)"
    RPS[$1$2]+="$rps "
  done
done
echo "medians over $R rounds (h2load -t2 -c$CL -m$M -D$S), load at end: $(cat /proc/loadavg)"
for k in h2c h2; do
  g=$(median ${RPS[gangway$k]}); n=$(median ${RPS[nginx$k]})
  awk -v k=$k -v g="$g" -v n="$n" 'BEGIN { printf "  %-4s gangway %9.0f  nginx %9.0f  ratio gangway/nginx %.2f (target >= 1.0)\n", k, g, n, g / n }'
done
