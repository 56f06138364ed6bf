#!/bin/bash
# Issue 15 target 6: reload at scale. gangway (2 workers) serving 10,000 VirtualServices
# (the route-lookup configuration, bench/route-config.ts) plus load.local → one nginx
# `return 200` upstream. wrk on load.local: first STEADY seconds with no change, then
# CHURN seconds while churn.yaml is rewritten (renamed into place) every second, each a
# new compiled configuration. Prints failed requests (socket errors + non-2xx: must be
# 0), p99 steady vs during reloads, and each reload's took_ms (files read → every worker
# applied, from the gateway's "configuration reloaded" log lines).
# Usage: bash bench/issue15-reload.sh [hosts=10000] [steady=10] [churn=20] [connections=32]
# Needs: nginx, wrk. Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
HOSTS=${1:-10000}; STEADY=${2:-10}; CHURN=${3:-20}; C=${4:-32}
W=$(mktemp -d /tmp/gangway-i15-reload.XXXXXX)
UP=18580; GW=18581; ADMIN=18582
mkdir -p "$W/config"
$BUN bench/reload-config.ts "$W/config" $UP "$HOSTS"
upstream_conf "$W" $UP
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
t0=$(date +%s%N)
$BUN src/main.ts --config "$W/config" --port-map 80:$GW --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers 2 --access-log off --log-format json >"$W/gangway.log" 2>&1 & GWP=$!
CH=""
trap 'kill $UPP $GWP $CH 2>/dev/null; wait 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$W"' EXIT
for _ in $(seq 1 300); do curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN/ready" 2>/dev/null && break; sleep 0.2; done
echo "start-up with $HOSTS VirtualServices: $(( ($(date +%s%N) - t0) / 1000000 )) ms to ready; RSS $(( $(rss_kb $GWP) / 1024 )) MB"
curl -fsS -o /dev/null -H "Host: load.local" "http://127.0.0.1:$GW/"
echo "load at start: $(cat /proc/loadavg)"

# load SECONDS: wrk on load.local; prints "rps p99_ms failed requests"
load() {
  local out
  out=$(wrk -t2 -c"$C" -d"$1"s --latency -H "Host: load.local" "http://127.0.0.1:$GW/")
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(ms "$(echo "$out" | awk '/ 99%/ {print $2}')")" \
    "$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')" \
    "$(echo "$out" | awk '/requests in/ {print $1}')"
}
wrk -t2 -c"$C" -d2s -H "Host: load.local" "http://127.0.0.1:$GW/" >/dev/null # warm-up
read -r srps sp99 sfail sreq < <(load "$STEADY")
printf "steady   %3ss: req/s %9s  p99 %8s ms  failed %s of %s\n" "$STEADY" "$srps" "$sp99" "$sfail" "$sreq"
before=$(grep -c '"configuration reloaded"' "$W/gangway.log" || true)
( for v in $(seq 1 "$CHURN"); do $BUN bench/reload-config.ts "$W/config" --churn "$v"; sleep 1; done ) & CH=$!
echo "RSS before the changes: $(( $(rss_kb $GWP) / 1024 )) MB"
read -r rrps rp99 rfail rreq < <(load "$CHURN")
wait $CH 2>/dev/null || true; CH=""; tend=$(date +%s%N)
# until the last change is served (a reload of this size takes seconds; 120 s at most)
served=""
for _ in $(seq 1 240); do
  served=$(curl -fsS -H "Host: churn.example.com" "http://127.0.0.1:$GW/" 2>/dev/null || true)
  [ "$served" = "version $CHURN" ] && break; sleep 0.5
done
echo "last change served after $(( ($(date +%s%N) - tend) / 1000000 )) ms past the load's end: \"$served\" (want \"version $CHURN\")"
printf "reloads  %3ss: req/s %9s  p99 %8s ms  failed %s of %s\n" "$CHURN" "$rrps" "$rp99" "$rfail" "$rreq"
took=$(grep '"configuration reloaded"' "$W/gangway.log" | tail -n +$((before + 1)) | grep -o '"took_ms":[0-9]*' | cut -d: -f2 | tr '\n' ' ')
n=$(echo $took | wc -w)
echo "$CHURN changes written, $n reloads applied by then (changes that land while a reload runs are taken together)"
[ "$n" -gt 0 ] && echo "reload took_ms (read + compile + every worker applied): median $(median $took), max $(printf '%s\n' $took | sort -n | tail -1); all: $took"
# per-phase medians from the same lines (read/decode/compile in the primary, then the slowest worker)
for f in read_ms decode_ms compile_ms diff_ms send_ms worker_receive_ms worker_apply_ms; do
  v=$(grep '"configuration reloaded"' "$W/gangway.log" | tail -n +$((before + 1)) | grep -o "\"$f\":[0-9.]*" | cut -d: -f2 | tr '\n' ' ')
  [ -n "$v" ] && printf "  %-18s median %8s  max %8s\n" "$f" "$(median $v)" "$(printf '%s\n' $v | sort -g | tail -1)"
done
grep '"configuration reloaded"' "$W/gangway.log" | tail -1 | grep -o '"workers_delta":[0-9]*,"workers_full":[0-9]*,"vhosts_sent":[0-9]*' || true
grep -E '"level":"(error|warn)"' "$W/gangway.log" | head -3
awk -v r="$rp99" -v s="$sp99" -v f="$rfail" 'BEGIN { printf "p99 during reloads / steady p99: %.2f (target <= 2), failed requests during reloads: %d (target 0)\n", r / s, f }'
echo "RSS after: $(( $(rss_kb $GWP) / 1024 )) MB; load at end: $(cat /proc/loadavg)"
