#!/bin/bash
# A/B of a runtime environment setting on TLS downstream loads: two gangways from this checkout
# (2 workers each, access log off), A started with ENV_A and B with ENV_B (VAR=value words),
# in front of one nginx `return 200` upstream, side by side. Each round runs, for A and for B
# (B first in even rounds): wrk HTTPS keep-alive (HTTP/1.1 over TLS) and h2load h2 over TLS.
# Per load: req/s, CPU per request and its user part in µs (the gateway process, all threads),
# and B/A per round; medians at the end, with both gateways' RSS.
# Usage: ENV_A=... ENV_B=MIMALLOC_PURGE_DELAY=-1 flock /tmp/gangway-bench.lock bash bench/env-ab-tls.sh [seconds=6] [rounds=6]
#   wrk -t2 -c64; h2load -t2 -c8 -m16 (as bench/issue15-h2.sh)
# Needs: nginx, wrk, h2load. Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
S=${1:-6}; R=${2:-6}; C=64
W=$(mktemp -d /tmp/gangway-envab-tls.XXXXXX)
UPSTREAM=18370; PA=18371; PB=18372; ADA=18373; ADB=18374
bench_config "$W"
bench_gateway "$W" <<YAML
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bench-credential}
YAML
upstream_conf "$W" $UPSTREAM
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
env $ENV_A $BUN src/main.ts --config "$W/config" --port-map 443:$PA --bind 127.0.0.1 --admin 127.0.0.1:$ADA \
  --workers 2 --access-log off >"$W/a.log" 2>&1 & GA=$!
env $ENV_B $BUN src/main.ts --config "$W/config" --port-map 443:$PB --bind 127.0.0.1 --admin 127.0.0.1:$ADB \
  --workers 2 --access-log off >"$W/b.log" 2>&1 & GB=$!
trap 'kill $UPP $GA $GB 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_ready $ADA; wait_ready $ADB
for p in $PA $PB; do wait_http "https://127.0.0.1:$p/"; done
menv() { tr '\0' '\n' <"/proc/$1/environ" | grep '^MIMALLOC_' | tr '\n' ' ' || true; }
echo "env A: ${ENV_A:--} [$(menv $GA)]  env B: ${ENV_B:--} [$(menv $GB)]"
for p in $PA $PB; do wrk -t2 -c$C -d3s "https://127.0.0.1:$p/" >/dev/null 2>&1; done
echo "load at start: $(cat /proc/loadavg)"

# load KIND PORT PID: "rps cpu_us user_us" (KIND wrk: 2 s warm-up + S s; h2: 1 s warm-up + S s)
load() {
  local a ua b ub out rps n
  if [ $1 = wrk ]; then
    wrk -t2 -c$C -d2s "https://127.0.0.1:$2/" >/dev/null 2>&1
    a=$(cpu $3); ua=$(cpu_user $3)
    out=$(wrk -t2 -c$C -d"${S}s" "https://127.0.0.1:$2/")
    b=$(cpu $3); ub=$(cpu_user $3)
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}'); n=$(echo "$out" | awk '/requests in/ {print $1}')
  else
    a=$(cpu $3); ua=$(cpu_user $3)
    out=$(h2load -t2 -c8 -m16 --warm-up-time=1 -D"$S" "https://127.0.0.1:$2/" 2>&1)
    b=$(cpu $3); ub=$(cpu_user $3)
    rps=$(echo "$out" | awk '/^finished in/ { print $4 }'); n=$(echo "$out" | awk '/^requests:/ { print $8 }')
  fi
  awk -v r="$rps" -v c=$((b - a)) -v u=$((ub - ua)) -v n="$n" -v t="$TICK" \
    'BEGIN { n = n > 0 ? n : 1; printf "%s %.2f %.2f\n", r, c * 1e6 / t / n, u * 1e6 / t / n }'
}
declare -A V
for round in $(seq 1 "$R"); do
  for k in wrk h2; do
    order="a b"; [ $((round % 2)) = 0 ] && order="b a"
    for s in $order; do
      if [ $s = a ]; then read -r ra ca ua < <(load $k $PA $GA); else read -r rb cb ub < <(load $k $PB $GB); fi
    done
    rat=$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.4f", b / a }'); du=$(awk -v a="$ua" -v b="$ub" 'BEGIN { printf "%.2f", b - a }')
    printf "round %d %-3s A req/s %9s cpu/req %6s user %5s | B req/s %9s cpu/req %6s user %5s | B/A %s user B-A %s (load %s)\n" \
      "$round" $k "$ra" "$ca" "$ua" "$rb" "$cb" "$ub" "$rat" "$du" "$(load1)"
    V[${k}rat]+="$rat "; V[${k}du]+="$du "; V[${k}ca]+="$ca "; V[${k}cb]+="$cb "; V[${k}ra]+="$ra "; V[${k}rb]+="$rb "
  done
done
echo "medians over $R rounds (${S} s each), load at end: $(cat /proc/loadavg)"
for k in wrk h2; do
  echo "  $k: A req/s $(median ${V[${k}ra]}) cpu/req $(median ${V[${k}ca]})  B req/s $(median ${V[${k}rb]}) cpu/req $(median ${V[${k}cb]})  B/A $(median ${V[${k}rat]})  user B-A $(median ${V[${k}du]}) us"
done
echo "  RSS at end: A $(($(rss_kb $GA) / 1024)) MB  B $(($(rss_kb $GB) / 1024)) MB"
