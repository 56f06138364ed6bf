#!/bin/bash
# Usage: bash bench/ceiling-tls.sh [duration=6s] [connections=64] [h1|h2|both=h1] [MODES...]
# TLS ceilings, one thread each, no proxying (bench/ceiling-tls.ts): HTTP/1.1 keep-alive
# under wrk (-t2 -cC) against Bun.listen native TLS, gangway's bridge (raw Bun.listen +
# TLSSocket over RawDuplex), Bun.serve TLS, and nginx (1 worker, `return 200` over TLS);
# h2: h2load over TLS (ALPN h2, -t2 -c8 -m16) against node:http2 over native TLS, over the
# bridge, Bun.serve http2 and nginx http2 (1 worker). Prints req/s, p99 (wrk) and CPU per
# request of the server process. Same ECDSA P-256 certificate for all. Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
D=${1:-6s}; C=${2:-64}; WHAT=${3:-h1}; shift $(( $# > 3 ? 3 : $# ))
PORT=18470; NGPORT=18471
W=$(mktemp -d /tmp/gangway-ceiling-tls.XXXXXX)
UPSTREAM=1 bench_config "$W"
CRT=$W/httpbin.example.com.crt; KEY=$W/httpbin.example.com.key
cat >"$W/nginx.conf" <<NGINX
worker_processes 1; daemon off; error_log $W/nginx-error.log warn; pid $W/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:$NGPORT ssl http2 backlog=4096;
    ssl_certificate $CRT; ssl_certificate_key $KEY; ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 "Hello, World!"; } } }
NGINX
nginx -c "$W/nginx.conf" -p "$W/" & NG=$!
P=""
trap 'kill $NG $P 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_http "https://127.0.0.1:$NGPORT/"
NGW=$(pgrep -P $NG | tr '\n' ' ')
secs=${D%s}

# us1 TICKS REQS: CPU microseconds per request, one decimal
us1() { awk -v t="$1" -v n="$2" -v k="$TICK" 'BEGIN { printf "%.1f", t * 1000000 / k / (n > 0 ? n : 1) }'; }
h1() { # LABEL PORT PIDS
  local a b out rps reqs p99 errs
  wrk -t2 -c"$C" -d2s "https://127.0.0.1:$2/" >/dev/null 2>&1
  a=$(cpu $3)
  out=$(wrk -t2 -c"$C" -d"$D" --latency "https://127.0.0.1:$2/")
  b=$(cpu $3)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(ms "$(echo "$out" | awk '/ 99%/ {print $2}')")
  errs=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  printf "h1 %-9s req/s %9s  p99 %6s ms  cpu/req %4s us  errors %s  (load %s)\n" "$1" "$rps" "$p99" "$(us1 $((b - a)) "$reqs")" "$errs" "$(load1)"
}
h2() { # LABEL PORT PIDS
  local a b out rps done_ fail
  a=$(cpu $3)
  out=$(h2load -t2 -c8 -m16 --warm-up-time=1 -D"$secs" "https://127.0.0.1:$2/" 2>&1)
  b=$(cpu $3)
  rps=$(echo "$out" | awk '/^finished in/ { print $4 }')
  done_=$(echo "$out" | awk '/^requests:/ { print $8 }')
  fail=$(echo "$out" | awk '/^requests:/ { print $10 + $12 }')
  printf "h2 %-9s req/s %9s  cpu/req %4s us  failed %s  (load %s)\n" "$1" "$rps" "$(us1 $((b - a)) "$done_")" "$fail" "$(load1)"
}
one() { # KIND MODE
  if [ "$2" = nginx ]; then $1 nginx $NGPORT "$NGW"; return; fi
  $BUN bench/ceiling-tls.ts "$2" $PORT "$CRT" "$KEY" $(( secs * 2 + 20 )) >/dev/null & P=$!
  wait_http "https://127.0.0.1:$PORT/"
  $1 "$2" $PORT $P
  kill $P; wait $P 2>/dev/null || true; P=""
}
echo "load at start: $(cat /proc/loadavg)"
if [ "$WHAT" != h2 ]; then for m in ${@:-native upgrade bridge serve nginx}; do one h1 $m; done; fi
if [ "$WHAT" != h1 ]; then for m in ${@:-h2native h2upgrade h2bridge h2serve nginx}; do one h2 $m; done; fi
