#!/bin/bash
# TLS passthrough new connections, two gangway builds side by side (issue 15 target 4's load):
# this checkout ("new") and BASE ("base"), each --workers ${GW_WORKERS:-2} with the PASSTHROUGH
# config of issue15-passthrough.sh, in front of one nginx TLS backend; wrk -H "Connection: close"
# (a TLS handshake spliced + one small request per connection), rounds alternating the order.
# Per round and build: conn/s, the process's user and system CPU per connection (µs, /proc);
# medians and the new/base ratios of each round's pair; load average.
# Usage: flock /tmp/gangway-bench.lock bash bench/passthrough-ab-wrk.sh BASE [duration=4s] [conns=32] [rounds=8]
# Needs: nginx, wrk. Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/wrk-https.sh
. bench/issue15-lib.sh
BASE=$1; D=${2:-4s}; C=${3:-32}; R=${4:-8}
W=$(mktemp -d /tmp/gangway-pt-abw.XXXXXX)
free_port() { $BUN -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
BACK=$(free_port); P1=$(free_port); P2=$(free_port); A1=$(free_port); A2=$(free_port)
UPSTREAM=$BACK
bench_config "$W"
rm -f "$W/config/hello.yaml"
$BUN bench/lib/passthrough-config.ts "*" localhost $BACK >"$W/config/gateway.yaml"
passthrough_peers "$W" $BACK 1
nginx -c "$W/nginx.conf" -p "$W/" & NG=$!
ROOT=$(pwd)
(cd "$BASE" && exec "$ROOT/$BUN" src/main.ts --config "$W/config" --port-map 443:$P1 --bind 127.0.0.1 --admin 127.0.0.1:$A1 \
  --workers ${GW_WORKERS:-2} --access-log off --drain-seconds 0) >"$W/base.log" 2>&1 & G1=$!
$BUN src/main.ts --config "$W/config" --port-map 443:$P2 --bind 127.0.0.1 --admin 127.0.0.1:$A2 \
  --workers ${GW_WORKERS:-2} --access-log off --drain-seconds 0 >"$W/new.log" 2>&1 & G2=$!
trap 'kill $NG $G1 $G2 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_ready "$A1"; wait_ready "$A2"
for p in $P1 $P2; do curl -fsSk -o /dev/null "https://localhost:$p/" || { echo "no answer through $p" >&2; exit 1; }; done
# one PORT PID: prints "conn/s user_us sys_us errors"
one() {
  local u0 t0 u1 t1 out n
  u0=$(cpu_user $2); t0=$(cpu $2)
  out=$(wrk -t2 -c"$C" -d"$D" -H "Connection: close" "https://localhost:$1/")
  u1=$(cpu_user $2); t1=$(cpu $2)
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  awk -v r="$(echo "$out" | awk '/Requests\/sec/ {print $2}')" -v n="$n" -v u=$((u1 - u0)) -v t=$((t1 - t0)) -v k="$TICK" \
    -v e="$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')" \
    'BEGIN { n = n > 0 ? n : 1; printf "%.0f %.1f %.1f %d\n", r, u * 1e6 / k / n, (t - u) * 1e6 / k / n, e }'
}
wrk -t2 -c"$C" -d2s -H "Connection: close" "https://localhost:$P1/" >/dev/null 2>&1
wrk -t2 -c"$C" -d2s -H "Connection: close" "https://localhost:$P2/" >/dev/null 2>&1
echo "passthrough A/B (wrk new connections): base $BASE, new $ROOT; gangway --workers ${GW_WORKERS:-2}, wrk -c$C $D, $R rounds; load $(cat /proc/loadavg)"
BR=""; NR_=""; BU=""; NU=""; BT=""; NT=""; RR=""; RC=""; RU=""
for r in $(seq 1 "$R"); do
  if [ $((r % 2)) = 1 ]; then read -r br bu bs be < <(one $P1 $G1); read -r nr nu ns ne < <(one $P2 $G2)
  else read -r nr nu ns ne < <(one $P2 $G2); read -r br bu bs be < <(one $P1 $G1); fi
  echo "round $r: base $br/s user $bu sys $bs µs ($be errors)  new $nr/s user $nu sys $ns µs ($ne errors)  (load $(load1))"
  BR+="$br "; NR_+="$nr "; BU+="$bu "; NU+="$nu "
  BT+="$(awk -v a="$bu" -v b="$bs" 'BEGIN { print a + b }') "; NT+="$(awk -v a="$nu" -v b="$ns" 'BEGIN { print a + b }') "
  RR+="$(awk -v a="$nr" -v b="$br" 'BEGIN { printf "%.3f", a / b }') "
  RC+="$(awk -v a="$nu" -v b="$ns" -v c="$bu" -v d="$bs" 'BEGIN { printf "%.3f", (a + b) / (c + d) }') "
  RU+="$(awk -v a="$nu" -v c="$bu" 'BEGIN { printf "%.3f", a / c }') "
done
echo "base: $(median $BR) conn/s, CPU per connection $(median $BT) µs (user $(median $BU))"
echo "new:  $(median $NR_) conn/s, CPU per connection $(median $NT) µs (user $(median $NU))"
echo "new/base per round, medians: conn/s $(median $RR) ($RR), CPU per connection $(median $RC) ($RC), user $(median $RU); load $(cat /proc/loadavg)"
