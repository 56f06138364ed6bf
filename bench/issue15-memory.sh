#!/bin/bash
# Issue 15 target 5: memory. RSS of gangway and of nginx (2 workers each, in front of one
# nginx `return 200` upstream) with N idle keep-alive client connections, plain and TLS,
# reported per connection ((RSS with N open - RSS before) / N); and gangway's idle RSS
# with 1 and with 2 workers (the difference is what one more idle worker costs).
# The clients are bench/idle-conns.ts (one request per connection, then idle). The Bun floor
# (bench/ceiling-idle.ts: a minimal Bun.listen server, plain and Bun-native TLS) is measured in
# the same run. Each server is warmed up first (500 connections opened, answered, closed), and
# every RSS is read once it has settled (samples 2 s apart within 1 %, at most 30 s) so garbage
# the GC has not collected yet is not counted as connection cost. Each idle line gives two
# figures: "settled" (no collection forced: it swings with where the last GC fell) and
# "after GC" (before and after, one full collection in every JS thread first, then settled:
# the reproducible one). gangway runs with GANGWAY_DEBUG_HEAP=gc (src/debug-heap.ts: each
# thread collects after applying a snapshot), and the collection is asked for by a
# one-VirtualService config change (gc-churn.yaml, a host nothing sends to); the Bun floor
# collects on SIGUSR2; nginx has no GC (its two figures differ by sampling only).
# Usage: bash bench/issue15-memory.sh [connections=10000]
#   ONLY=plain (or tls): just those three idle figures (no idle-worker figure): a shorter run for A/B rounds
# Needs: nginx (apt-get install -y nginx-light). Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
N=${1:-10000}
W=$(mktemp -d /tmp/gangway-i15-mem.XXXXXX)
UPSTREAM=18480; GW=18481; GWS=18482; NG=18483; NGS=18484; ADMIN=18485; GW1=18486; ADMIN1=18487; GW1S=18488
FLOOR=18489; FLOORS=18491

bench_config "$W"
bench_gateway_both "$W"
upstream_conf "$W" $UPSTREAM
idle_nginx_conf "$W" $UPSTREAM $NGS $NG
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
nginx -c "$W/nginx.conf" -p "$W/" & NGP=$!
GANGWAY_DEBUG_HEAP=gc $BUN src/main.ts --config "$W/config" --port-map 80:$GW,443:$GWS --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers 2 --access-log off >"$W/gangway.log" 2>&1 & GWP=$!
GANGWAY_DEBUG_HEAP=gc $BUN src/main.ts --config "$W/config" --port-map 80:$GW1,443:$GW1S --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN1 \
  --workers 1 --access-log off >"$W/gangway1.log" 2>&1 & GW1P=$!
$BUN bench/ceiling-idle.ts $FLOOR $FLOORS "$W/httpbin.example.com.crt" "$W/httpbin.example.com.key" >"$W/floor.log" 2>&1 & FLP=$!
CLIENT=""
trap 'kill $UPP $NGP $GWP $GW1P $FLP $CLIENT 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_ready "$ADMIN"; wait_ready "$ADMIN1"
for u in http://127.0.0.1:$NG/ https://127.0.0.1:$NGS/ http://127.0.0.1:$GW/ https://127.0.0.1:$GWS/ http://127.0.0.1:$GW1/ \
  http://127.0.0.1:$FLOOR/ https://127.0.0.1:$FLOORS/; do wait_http "$u"; done
NGW="$NGP $(pgrep -P $NGP | tr '\n' ' ')"
echo "load at start: $(cat /proc/loadavg)"

# settled_rss PIDS: summed RSS in kB once two samples 2 s apart are within 1 % (30 s at most)
settled_rss() {
  local prev cur
  prev=$(rss_kb $1)
  for _ in $(seq 1 15); do
    sleep 2
    cur=$(rss_kb $1)
    [ $(( (cur > prev ? cur - prev : prev - cur) * 100 )) -le "$prev" ] && break
    prev=$cur
  done
  echo "$cur"
}
# warm PORT TLS: 500 connections opened, answered and closed (code paths, pools, buffers)
warm() {
  timeout 60 $BUN bench/idle-conns.ts "$1" 500 "$2" 0 >/dev/null 2>&1 || true
}
ONLY=${ONLY:-}
if [ -z "$ONLY" ]; then
for p in "$GW 0" "$GWS 1" "$GW1 0" "$GW1S 1"; do warm $p; done
g2=$(settled_rss $GWP); g1=$(settled_rss $GW1P)
echo "gangway idle RSS: 2 workers $((g2 / 1024)) MB, 1 worker $((g1 / 1024)) MB; one more worker $(((g2 - g1) / 1024)) MB (target <= 60 MB per idle worker); nginx idle $(($(rss_kb $NGW) / 1024)) MB (master + 2 workers)"
fi
kill $GW1P; GW1P=""

# collect NAME: one full collection in every JS thread of that server (see the header), then return
GCV=0
collect() {
  case $1 in
  gangway)
    GCV=$((GCV + 1))
    local seen want
    seen=$(grep -c 'heap version=' "$W/gangway.log" || true)
    want=$((seen + 3)) # the primary and the two workers each log one line after collecting
    printf 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: gc-churn}\nspec:\n  hosts: [gc-%d.invalid]\n  gateways: [bench]\n  http: [{route: [{destination: {host: hello.local, port: {number: 80}}}]}]\n' \
      "$GCV" >"$W/gc-churn.tmp"
    mv "$W/gc-churn.tmp" "$W/config/gc-churn.yaml"
    for _ in $(seq 1 100); do [ "$(grep -c 'heap version=' "$W/gangway.log" || true)" -ge "$want" ] && break; sleep 0.1; done ;;
  bun-floor) kill -USR2 $FLP; sleep 0.5 ;;
  esac
}
# idle NAME PIDS PORT TLS: RSS per connection with N idle connections (settled, and after GC)
idle() {
  local name=$1 pids=$2 port=$3 tls=$4 before after before_gc after_gc line
  warm "$port" "$tls"
  before=$(settled_rss "$pids")
  collect "$name"; before_gc=$(settled_rss "$pids")
  rm -f "$W/client.out"
  $BUN bench/idle-conns.ts "$port" "$N" "$tls" 120 >"$W/client.out" 2>&1 & CLIENT=$!
  for _ in $(seq 1 450); do grep -q '^ready' "$W/client.out" 2>/dev/null && break; sleep 0.2; done
  after=$(settled_rss "$pids")
  collect "$name"; after_gc=$(settled_rss "$pids")
  line=$(grep '^ready' "$W/client.out" || echo "ready ? ? (not ready in 90 s)")
  kill $CLIENT 2>/dev/null; wait $CLIENT 2>/dev/null || true; CLIENT=""
  printf "%-9s %-5s %s: settled RSS %6d -> %6d MB, %6d bytes per connection; after GC %6d -> %6d MB, %6d bytes per connection  (answered/failed: %s; load %s)\n" \
    "$name" "$([ "$tls" = 1 ] && echo TLS || echo plain)" "$N idle" $((before / 1024)) $((after / 1024)) \
    $(( (after - before) * 1024 / N )) $((before_gc / 1024)) $((after_gc / 1024)) $(( (after_gc - before_gc) * 1024 / N )) "${line#ready }" "$(load1)"
  sleep 3
}
if [ "$ONLY" != tls ]; then
  idle nginx "$NGW" $NG 0
  idle bun-floor "$FLP" $FLOOR 0
  idle gangway "$GWP" $GW 0
fi
if [ "$ONLY" != plain ]; then
  idle nginx "$NGW" $NGS 1
  idle bun-floor "$FLP" $FLOORS 1
  idle gangway "$GWP" $GWS 1
fi
echo "load at end: $(cat /proc/loadavg)"
