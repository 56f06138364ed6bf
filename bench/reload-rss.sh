#!/bin/bash
# RSS of gangway (2 workers, HOSTS VirtualServices) over N one-VirtualService reloads without
# traffic, one every 1.5 s; prints RSS after start-up and after every 5th applied reload.
# LOAD=1: with wrk (-t2 -c32, bounded by time) on an nginx upstream during the reloads.
# GANGWAY_DEBUG_HEAP=1|gc: also each worker's JS heap after its 5th, 10th… apply (gc: after a
# full collection, i.e. what is still reachable, with the count of live Generation objects).
# Usage: [LOAD=1] [GANGWAY_DEBUG_HEAP=gc] bash bench/reload-rss.sh [hosts=10000] [reloads=20]
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
HOSTS=${1:-10000}; N=${2:-20}
W=$(mktemp -d /tmp/gangway-reload-rss.XXXXXX)
GW=18591; ADMIN=18592
UP=18590; WRK=""; UPP=""
mkdir -p "$W/config"
$BUN bench/reload-config.ts "$W/config" $UP "$HOSTS"
if [ -n "$LOAD" ]; then
  upstream_conf "$W" $UP
  nginx -c "$W/up.conf" -p "$W/" & UPP=$!
fi
$BUN src/main.ts --config "$W/config" --port-map 80:$GW --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers 2 --access-log off --log-format json >"$W/gangway.log" 2>&1 & GWP=$!
trap 'kill $GWP $UPP $WRK 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 300); do curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN/ready" 2>/dev/null && break; sleep 0.2; done
echo "ready: RSS $(( $(rss_kb $GWP) / 1024 )) MB; load $(cat /proc/loadavg)"
if [ -n "$LOAD" ]; then
  wrk -t2 -c32 -d$((N * 4 + 10))s -H "Host: load.local" "http://127.0.0.1:$GW/" >"$W/wrk.out" 2>&1 & WRK=$!
  sleep 3; echo "under load: RSS $(( $(rss_kb $GWP) / 1024 )) MB"
fi
for v in $(seq 1 "$N"); do
  $BUN bench/reload-config.ts "$W/config" --churn "$v"
  for _ in $(seq 1 100); do [ "$(curl -fsS -H "Host: churn.example.com" "http://127.0.0.1:$GW/" 2>/dev/null)" = "version $v" ] && break; sleep 0.1; done
  sleep 1.5
  [ $((v % 5)) -eq 0 ] && echo "after $v reloads: RSS $(( $(rss_kb $GWP) / 1024 )) MB; took_ms $(grep '"configuration reloaded"' "$W/gangway.log" | tail -1 | grep -o '"took_ms":[0-9]*' | cut -d: -f2)" \
    && { grep -oE '(worker [0-9]+:|primary) heap version=[^"]*' "$W/gangway.log" | tail -3 || true; }
done
if [ -n "$WRK" ]; then
  kill -INT $WRK 2>/dev/null; wait $WRK 2>/dev/null || true; WRK=""
  grep -E "requests in|Socket errors|Non-2xx" "$W/wrk.out" || true
  echo "wrk stopped: RSS $(( $(rss_kb $GWP) / 1024 )) MB"; sleep 5; echo "5 s later: RSS $(( $(rss_kb $GWP) / 1024 )) MB"
fi
echo "reloads logged: $(grep -c '"configuration reloaded"' "$W/gangway.log"); load $(cat /proc/loadavg)"
