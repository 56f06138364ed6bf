#!/bin/bash
# Usage: bash bench/ceiling-splice-ffi.sh [duration=4s] [conns=32] [rounds=3] [bulk conns=4]
# Is splice(2) through bun:ffi worth it for passthrough? bench/ceiling-splice-ffi.ts as a
# plain relay (one Bun process, no SNI peek) in front of the nginx TLS backend of
# bench/issue15-passthrough.sh: MODE=js (bytes through JS) vs MODE=splice (fds handed to
# bench/lib/splice-relay.c once both sides are up; HANDOFF bytes through JS first) vs
# HAProxy (nbthread 2). Rounds alternate js / splice / haproxy; wrk legs as in
# issue15-passthrough.sh (new connections with Connection: close; bulk 16 MB GETs).
# Run it under flock /tmp/gangway-bench.lock. Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/wrk-https.sh
. bench/issue15-lib.sh
D=${1:-4s}
C=${2:-32}
R=${3:-3}
BULK_C=${4:-4}
W=$(mktemp -d /tmp/gangway-splice-bench.XXXXXX)
free_port() { $BUN -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
BACK=$(free_port); JSP=$(free_port); SPP=$(free_port); HAP=$(free_port)
UPSTREAM=$BACK
bench_config "$W"
passthrough_peers "$W" $BACK $HAP # nginx.conf (TLS backend, /big) and haproxy.cfg
nginx -c "$W/nginx.conf" -p "$W/" & NG=$!
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 & HA=$!
MODE=js $BUN bench/ceiling-splice-ffi.ts $JSP $BACK >"$W/js.log" 2>&1 & JS=$!
MODE=splice HANDOFF=${HANDOFF:-0} $BUN bench/ceiling-splice-ffi.ts $SPP $BACK >"$W/splice.log" 2>&1 & SP=$!
# copy: the same native thread, read/write through a buffer (SR_CHUNK bytes) instead of splice
CPP=$(free_port)
SR_COPY=1 SR_CHUNK=${COPY_CHUNK:-262144} MODE=splice HANDOFF=${HANDOFF:-0} $BUN bench/ceiling-splice-ffi.ts $CPP $BACK >"$W/copy.log" 2>&1 & CP=$!
trap 'kill $NG $HA $JS $SP $CP 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for p in $HAP $JSP $SPP $CPP; do wait_http "https://localhost:$p/"; done

conns() {
  wrk -t2 -c"$C" -d2s -H "Connection: close" "https://localhost:$1/" >/dev/null 2>&1
  local a b out n rps errs
  a=$(cpu $2)
  out=$(wrk -t2 -c"$C" -d"$D" -H "Connection: close" "https://localhost:$1/")
  b=$(cpu $2)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  errs=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  echo "$rps $(( (b - a) * 1000000 / TICK / (n > 0 ? n : 1) )) $errs"
}
bulk() {
  local a b out reqs mbs errs
  a=$(cpu $2)
  out=$(wrk -t2 -c"$BULK_C" -d"$D" "https://localhost:$1/big")
  b=$(cpu $2)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  mbs=$(awk -v n="$reqs" -v d="${D%s}" 'BEGIN { printf "%.0f", n * 16 / d }')
  errs=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  echo "$mbs $(( (b - a) * 1000 * 1024 / TICK / (reqs > 0 ? reqs * 16 : 1) )) $errs"
}
echo "relay js vs splice (SR_CHUNK=${SR_CHUNK:-1048576}, HANDOFF=${HANDOFF:-0}) vs copy (${COPY_CHUNK:-262144}) vs haproxy; wrk -c$C / -c$BULK_C, $D, $R rounds; load $(cat /proc/loadavg)" >&2
for round in $(seq 1 "$R"); do
  for who in ${WHO:-js splice copy haproxy}; do
    case $who in js) p=$JSP; pid=$JS ;; splice) p=$SPP; pid=$SP ;; copy) p=$CPP; pid=$CP ;; haproxy) p=$HAP; pid=$HA ;; esac
    read -r c ccpu cerr < <(conns $p $pid)
    read -r b bcpu berr < <(bulk $p $pid)
    printf "round %d %-8s new conns %8s/s (%s us cpu each, %s err)  bulk %6s MB/s (%s ms cpu per GB, %s err)  load %s\n" \
      "$round" "$who" "$c" "$ccpu" "$cerr" "$b" "$bcpu" "$berr" "$(load1)" >&2
  done
done
