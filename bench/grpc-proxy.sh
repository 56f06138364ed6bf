#!/bin/bash
# gRPC unary, side by side: h2load sends gRPC-framed unary calls (POST, a
# 5-byte-prefixed message, content-type application/grpc, te: trailers) over
# h2c to nginx (`grpc_pass`) and gangway (a GRPC ServiceEntry), both with 2
# workers in front of one h2c gRPC backend (grpc-proxy-backend.mjs, node:http2).
# Rounds alternate the two; each prints req/s, p99 (from h2load's per-request
# log), the proxy's CPU time per request and h2load's 2xx count, and a node
# client checks one call through each proxy ends with grpc-status 0 (h2load
# sees only HTTP statuses, and gRPC errors are HTTP 200). Then the median of
# the per-round ratios gangway/nginx. Loopback only; the defaults take ~1.5 min.
# Usage: bash bench/grpc-proxy.sh [duration=10s] [clients=8] [streams=4] [rounds=3]
# Needs h2load (apt-get install -y nghttp2-client) and nginx (nginx-light).
set -e
cd "$(dirname "$0")/.."
. bench/lib/cpu.sh
BUN=${BUN:-node_modules/.bin/bun}
BACKEND_JS=${BACKEND_JS:-node} # the backend's runtime: node or $BUN
D=${1:-10s}
C=${2:-8}
M=${3:-4}
R=${4:-3}
T=/tmp/grpc-bench
mkdir -p $T
printf '\x00\x00\x00\x00\x04ping' >$T/unary.bin # one gRPC message, "ping"
$BACKEND_JS bench/grpc-proxy-backend.mjs 18190 >/dev/null 2>$T/backend.log & UP=$!
nginx -c "$PWD/bench/grpc-proxy-nginx.conf" -p $T/ & NG=$!
$BUN bench/grpc-proxy-gangway.ts 18191 18190 2 >/dev/null & GW=$!
trap 'kill $UP $NG $GW 2>/dev/null' EXIT
sleep 2
check() { node bench/grpc-proxy-check.mjs "$1" >/dev/null; }
check 18192 && check 18191
NGW=$(pgrep -P $NG | tr '\n' ' ')

h2() { # h2 PORT DURATION [h2load options]: gRPC unary load
  local port=$1 d=$2; shift 2
  h2load -t1 -c"$C" -m"$M" -D "$d" -d $T/unary.bin -H 'content-type: application/grpc' -H 'te: trailers' "$@" \
    "http://127.0.0.1:$port/bench.Echo/Unary"
}

# run NAME PORT PID...: a 2 s warm-up, the measured load, then the sample check;
# prints one line and appends "NAME req/s" to $T/rps
run() {
  local name=$1 port=$2; shift 2
  kill -0 $UP 2>/dev/null || { echo "the backend died: $T/backend.log"; tail -5 $T/backend.log; exit 1; }
  h2 "$port" 2s >/dev/null
  local a; a=$(cpu "$@")
  local ua; ua=$(cpu $UP)
  local out; out=$(h2 "$port" "$D" --log-file=$T/$name.log)
  local b; b=$(cpu "$@")
  local ub; ub=$(cpu $UP)
  local rps done ok bad p99 ok_grpc
  rps=$(echo "$out" | awk '/^finished in/ {print $4}')
  done=$(echo "$out" | awk '/^requests:/ {print $6}')
  bad=$(echo "$out" | awk '/^requests:/ {print $10 + $12 + $14}') # failed + errored + timeout
  ok=$(echo "$out" | awk '/^status codes:/ {print $3}')
  # the log: start time, HTTP status, request time in µs (-1 if none)
  p99=$(awk -F'\t' '$3 >= 0 {print $3}' $T/$name.log | sort -n | awk '{v[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.2fms", v[i]/1000}')
  if check "$port"; then ok_grpc="grpc-status 0"; else ok_grpc="GRPC CHECK FAILED"; fi
  local n=$((done > 0 ? done : 1))
  printf "%-8s req/s %9s  p99 %9s  cpu/req %4s us (backend %3s us)  done %s, 2xx %s, failed %s  %s\n" "$name" "$rps" "$p99" \
    $(( (b - a) * 1000000 / TICK / n )) $(( (ub - ua) * 1000000 / TICK / n )) "$done" "$ok" "$bad" "$ok_grpc"
  echo "$name $rps" >>$T/rps
}

: >$T/rps
echo "h2load -t1 -c$C -m$M -D $D, $R rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$R"); do
  run nginx 18192 $NGW
  run gangway 18191 $GW
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
paste -d' ' <(awk '$1 == "gangway" {print $2}' $T/rps) <(awk '$1 == "nginx" {print $2}' $T/rps) |
  awk '{print $1 / $2}' | sort -n |
  awk '{r[NR]=$1} END {m = NR % 2 ? r[(NR+1)/2] : (r[NR/2] + r[NR/2+1]) / 2
    printf "median ratio gangway/nginx (req/s): %.2f (rounds, sorted:", m; for (i=1;i<=NR;i++) printf " %.2f", r[i]; print ")"}'
