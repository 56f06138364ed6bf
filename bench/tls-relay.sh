#!/bin/bash
# Issue 15 target 3 against its ceiling: HTTPS keep-alive (wrk -t2) through TLS-terminating proxies
# in front of one nginx `return 200` upstream (1 worker), side by side, 2 workers/threads each:
#   nginx        ssl listener, proxy_pass with upstream keepalive (bench/tls-proxy.sh's server)
#   gangway      src/main.ts of this checkout (access log off)
#   relay        the least Bun TLS proxy as gangway terminates: raw Bun.listen, upgradeTLS with the
#                first bytes, bytes relayed to one upstream connection per client (bench/ceiling-tls.ts)
#   relaylisten  the same on Bun.listen({ tls }) (no raw socket under the TLS one)
# PLAIN=1 also runs the plain HTTP/1.1 pair of each (nginx-plain, gangway-plain, splice:
# bench/http-proxy-splice.ts), so each stack's TLS share per request shows.
# Each round runs every proxy once (the order rotates per round): 2 s warm-up, then D; prints
# req/s, p99, CPU per request and its user part (µs, the proxy's process); at the end medians, and
# each proxy's req/s over nginx's (TLS) of the same round, per round and their median.
# Usage: flock /tmp/gangway-bench.lock bash bench/tls-relay.sh [duration=5s] [connections=64] [rounds=3] [names]
# Needs: nginx, wrk. Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
D=${1:-5s}; C=${2:-64}; R=${3:-3}
NAMES=${4:-"nginx gangway relay relaylisten"}
[ -n "${PLAIN:-}" ] && NAMES="$NAMES nginx-plain gangway-plain splice"
W=$(mktemp -d /tmp/gangway-tls-relay.XXXXXX)
UPSTREAM=18780; NG=18781; GW=18782; RL=18783; RLL=18784; NGP=18785; GWP=18786; SP=18787; ADMIN=18788
bench_config "$W"
bench_gateway_both "$W"
upstream_conf "$W" $UPSTREAM
cat >"$W/nginx.conf" <<NGINX
worker_processes 2; daemon off; error_log $W/nginx-error.log warn; pid $W/nginx.pid;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 100000000;
  upstream hello { server 127.0.0.1:$UPSTREAM; keepalive 64; keepalive_requests 100000000; }
  server { listen 127.0.0.1:$NG ssl reuseport backlog=4096;
    ssl_certificate $W/httpbin.example.com.crt; ssl_certificate_key $W/httpbin.example.com.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    $NGX_TO_HELLO }
  server { listen 127.0.0.1:$NGP reuseport backlog=4096;
    $NGX_TO_HELLO } }
NGINX
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
nginx -c "$W/nginx.conf" -p "$W/" & NGX=$!
$BUN src/main.ts --config "$W/config" --port-map 443:$GW,80:$GWP --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers 2 --access-log off >"$W/gangway.log" 2>&1 & GWX=$!
T=$(( (${D%s} + 3) * R * 7 + 60 ))
CRT=$W/httpbin.example.com.crt; KEY=$W/httpbin.example.com.key
UPSTREAM=$UPSTREAM WORKERS=2 $BUN bench/ceiling-tls.ts relay $RL "$CRT" "$KEY" $T >"$W/relay.log" 2>&1 & RLX=$!
UPSTREAM=$UPSTREAM WORKERS=2 $BUN bench/ceiling-tls.ts relaylisten $RLL "$CRT" "$KEY" $T >"$W/relaylisten.log" 2>&1 & RLLX=$!
$BUN bench/http-proxy-splice.ts $SP $UPSTREAM 2 >"$W/splice.log" 2>&1 & SPX=$!
trap 'kill $UPP $NGX $GWX $RLX $RLLX $SPX 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_ready $ADMIN
for u in https://127.0.0.1:$NG/ https://127.0.0.1:$GW/ https://127.0.0.1:$RL/ https://127.0.0.1:$RLL/ http://127.0.0.1:$NGP/ http://127.0.0.1:$GWP/ http://127.0.0.1:$SP/; do wait_http "$u"; done
NGW=$(pgrep -P $NGX | tr '\n' ' ')
url() { case $1 in nginx) echo https://127.0.0.1:$NG/ ;; gangway) echo https://127.0.0.1:$GW/ ;; relay) echo https://127.0.0.1:$RL/ ;;
  relaylisten) echo https://127.0.0.1:$RLL/ ;; nginx-plain) echo http://127.0.0.1:$NGP/ ;; gangway-plain) echo http://127.0.0.1:$GWP/ ;; splice) echo http://127.0.0.1:$SP/ ;; esac; }
pids() { case $1 in nginx|nginx-plain) echo "$NGW" ;; gangway|gangway-plain) echo $GWX ;; relay) echo $RLX ;; relaylisten) echo $RLLX ;; splice) echo $SPX ;; esac; }
# one NAME: "rps p99 cpu_us user_us"
one() {
  local u p a ua b ub out rps reqs p99
  u=$(url $1); p=$(pids $1)
  wrk -t2 -c"$C" -d2s "$u" >/dev/null 2>&1
  a=$(cpu $p); ua=$(cpu_user $p)
  out=$(wrk -t2 -c"$C" -d"$D" --latency "$u")
  b=$(cpu $p); ub=$(cpu_user $p)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}'); reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(ms "$(echo "$out" | awk '/ 99%/ {print $2}')")
  awk -v r="$rps" -v p="$p99" -v c=$((b - a)) -v u=$((ub - ua)) -v n="$reqs" -v t="$TICK" \
    'BEGIN { n = n > 0 ? n : 1; printf "%s %s %.2f %.2f\n", r, p, c * 1e6 / t / n, u * 1e6 / t / n }'
}
echo "load at start: $(cat /proc/loadavg)"
declare -A RPS CPU USR P99 ROUND RAT
set -- $NAMES; N=$#
for round in $(seq 1 "$R"); do
  order=""; for i in $(seq 0 $((N - 1))); do j=$(( (i + round - 1) % N + 1 )); order+="${!j} "; done
  for n in $order; do
    read -r r p c u < <(one $n)
    printf "round %d %-13s req/s %9s p99 %6s ms cpu/req %6s us user %6s us (load %s)\n" "$round" $n "$r" "$p" "$c" "$u" "$(load1)"
    RPS[$n]+="$r "; CPU[$n]+="$c "; USR[$n]+="$u "; P99[$n]+="$p "; ROUND[$n.$round]=$r
  done
  # req/s over nginx's in the same round (the machine moves whole rounds)
  for n in $NAMES; do if [ -n "${ROUND[nginx.$round]:-}" ]; then RAT[$n]+="$(awk -v a="${ROUND[$n.$round]}" -v b="${ROUND[nginx.$round]}" 'BEGIN { printf "%.3f", a / b }') "; fi; done
done
echo "medians over $R rounds (wrk -t2 -c$C -d$D), load at end: $(cat /proc/loadavg)"
for n in $NAMES; do
  printf "  %-13s req/s %9s p99 %6s ms cpu/req %6s us user %6s us  vs nginx per round: %s(median %s)\n" $n "$(median ${RPS[$n]})" "$(median ${P99[$n]})" "$(median ${CPU[$n]})" "$(median ${USR[$n]})" \
    "${RAT[$n]:-- }" "$( [ -n "${RAT[$n]:-}" ] && median ${RAT[$n]} || echo -)"
done
