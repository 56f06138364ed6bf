#!/bin/bash
# Issue 15 target 5, no unbounded growth: a mixed soak of gangway (2 workers) in front of one
# nginx `return 200` upstream for MINUTES minutes: wrk plain keep-alive, wrk plain with
# `Connection: close` (a new connection per request), wrk over TLS, and h2load h2c, all
# running the whole time and bounded by duration; a configuration change (churn.yaml rewritten,
# renamed into place) every INTERVAL seconds. Samples gangway's total RSS (primary + worker
# threads, and any child processes) every 10 s and prints the series, first/last/max and the
# verdict: mean RSS of the last minute against the mean of the first minute after WARMUP
# seconds, flat when within 10 %. Also prints failed requests (socket errors, non-2xx, h2
# failed/errored) and reloads applied (the gateway's "configuration reloaded" lines).
# Usage: bash bench/issue15-soak.sh [minutes=10] [reload-interval=10] [warmup=60]
# Needs: nginx, wrk, h2load (apt-get install -y nginx-light wrk nghttp2-client). Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
MINUTES=${1:-10}; INTERVAL=${2:-10}; WARMUP=${3:-60}
TOTAL=$((MINUTES * 60))
[ "$TOTAL" -ge $((WARMUP + 120)) ] || { echo "minutes must leave two minutes after the warm-up" >&2; exit 2; }
W=$(mktemp -d /tmp/gangway-i15-soak.XXXXXX)
UPSTREAM=18680; GW=18681; GWS=18682; ADMIN=18683

bench_config "$W"
bench_gateway_both "$W"
# churn V: a VirtualService whose direct response is "version V", written whole then renamed in
churn() {
  cat >"$W/churn.tmp" <<YAML
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: churn}
spec:
  hosts: [churn.example.com]
  gateways: [bench]
  http: [{directResponse: {status: 200, body: {string: "version $1"}}}]
YAML
  mv "$W/churn.tmp" "$W/config/churn.yaml"
}
churn 0
upstream_conf "$W" $UPSTREAM
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
$BUN src/main.ts --config "$W/config" --port-map 80:$GW,443:$GWS --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers 2 --access-log off --log-format json >"$W/gangway.log" 2>&1 & GWP=$!
LOADS=""
trap 'kill $UPP $GWP $LOADS 2>/dev/null; wait 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$W"' EXIT
wait_ready "$ADMIN" || { cat "$W/gangway.log"; exit 1; }
for u in http://127.0.0.1:$GW/ https://127.0.0.1:$GWS/; do wait_http "$u"; done
curl -fsS --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$GW/"
echo "load at start: $(cat /proc/loadavg)"

gw_pids() { echo "$GWP $(pgrep -P $GWP | tr '\n' ' ')"; }
reloads0=$(grep -c 'configuration reloaded' "$W/gangway.log" || true)
t0=$(date +%s)
wrk -t1 -c32 -d"${TOTAL}s" "http://127.0.0.1:$GW/" >"$W/wrk-plain.out" 2>&1 & LOADS="$LOADS $!"
wrk -t1 -c4 -d"${TOTAL}s" -H "Connection: close" "http://127.0.0.1:$GW/" >"$W/wrk-close.out" 2>&1 & LOADS="$LOADS $!"
wrk -t1 -c16 -d"${TOTAL}s" "https://127.0.0.1:$GWS/" >"$W/wrk-tls.out" 2>&1 & LOADS="$LOADS $!"
h2load -t1 -c8 -m10 -D "$TOTAL" "http://127.0.0.1:$GW/" >"$W/h2load.out" 2>&1 & LOADS="$LOADS $!"

# every second: a change each INTERVAL s, an RSS sample each 10 s (bounded by TOTAL)
times=(); rss=(); v=0
for s in $(seq 1 "$TOTAL"); do
  now=$(date +%s); [ $((t0 + s)) -gt "$now" ] && sleep $((t0 + s - now))
  if [ $((s % INTERVAL)) -eq 0 ] && [ "$s" -lt "$TOTAL" ]; then v=$((v + 1)); churn $v; fi
  if [ $((s % 10)) -eq 0 ]; then
    r=$(rss_kb $(gw_pids)); times+=("$s"); rss+=("$r")
    printf "t=%4ss RSS %4d MB  load %s\n" "$s" $((r / 1024)) "$(load1)"
  fi
done
wait $LOADS 2>/dev/null || true; LOADS=""
# the last change is served (reloads keep working after the soak): 30 s at most
served=""
for _ in $(seq 1 60); do
  served=$(curl -fsS -H "Host: churn.example.com" "http://127.0.0.1:$GW/" 2>/dev/null || true)
  [ "$served" = "version $v" ] && break; sleep 0.5
done
reloads=$(( $(grep -c 'configuration reloaded' "$W/gangway.log" || true) - reloads0 ))

# wrk_counts FILE: "requests failed" (failed: socket errors + non-2xx)
wrk_counts() {
  awk '/requests in/ { n = $1 } /Socket errors/ { gsub(",", ""); f += $4 + $6 + $8 + $10 } /Non-2xx/ { f += $NF }
       END { print n + 0, f + 0 }' "$1"
}
read -r pn pf < <(wrk_counts "$W/wrk-plain.out")
read -r cn cf < <(wrk_counts "$W/wrk-close.out")
read -r tn tf < <(wrk_counts "$W/wrk-tls.out")
read -r hn hf < <(awk '/^requests:/ { n = $8; f = $10 + $12 + $14 } /^status codes:/ { f += $5 + $7 + $9 } END { print n + 0, f + 0 }' "$W/h2load.out")
echo "requests (failed): wrk plain $pn ($pf), wrk Connection: close $cn ($cf), wrk TLS $tn ($tf), h2load h2c $hn ($hf);" \
  "total $((pn + cn + tn + hn)), failed $((pf + cf + tf + hf))"
echo "changes written $v, reloads applied $reloads; last change served: \"$served\" (want \"version $v\")"
grep -E '"level":"(error|warn)"' "$W/gangway.log" | head -3 || true
echo "RSS series (MB, every 10 s): $(for r in "${rss[@]}"; do printf '%d ' $((r / 1024)); done)"
printf '%s\n' "${times[@]}" | paste - <(printf '%s\n' "${rss[@]}") | awk -v w="$WARMUP" -v T="$TOTAL" '
  { t = $1; r = $2 / 1024; if (NR == 1) first = r; last = r; if (r > max) max = r
    if (t > w && t <= w + 60) { a += r; na++ } if (t > T - 60) { b += r; nb++ } }
  END { ma = a / na; mb = b / nb; d = (mb - ma) / ma * 100
        printf "RSS first %.0f MB, last %.0f MB, max %.0f MB; mean of the first minute after the %d s warm-up %.1f MB, of the last minute %.1f MB: %+.1f %% (%s)\n",
          first, last, max, w, ma, mb, d, (d <= 10 && d >= -10) ? "flat within 10 %" : "NOT flat within 10 %" }'
echo "load at end: $(cat /proc/loadavg)"
