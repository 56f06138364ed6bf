#!/bin/bash
# Target 1 A/B: two gangway builds (checkouts A and B, 2 workers each, access log off) in front of
# one nginx `return 200` upstream (1 worker), run side by side with wrk rounds alternating A, B
# (B first in even rounds), so both see the same machine. Per round and as medians: req/s, p99,
# CPU per request and its user-space part in µs (2 decimals: utime/stime of the proxy's process
# over the measured run / requests), and B/A per pair.
# Usage: flock /tmp/gangway-bench.lock bash bench/h1-ab.sh ROOT_A ROOT_B [duration=6s] [connections=64] [rounds=6]
#   ENV_A / ENV_B (optional): VAR=value words set in that gateway's environment only, to A/B a
#   runtime setting on one checkout, e.g. ENV_B=MIMALLOC_PURGE_DELAY=-1 bash bench/h1-ab.sh . .
#   PORT0=N: the loopback ports used are N..N+6 (default 18380).
#   TLS=1: over HTTPS instead (issue 15 target 3): the gateways terminate TLS (an HTTPS server,
#   bench/wrk-https.sh's ECDSA certificate) and proxy HTTP/1.1 to the same upstream.
# Needs: nginx, wrk. ROOT_A / ROOT_B: checkouts with node_modules (e.g. a worktree of main).
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
A=$(cd "$1" && pwd); B=$(cd "$2" && pwd); D=${3:-6s}; C=${4:-64}; R=${5:-6}
W=$(mktemp -d /tmp/gangway-h1ab.XXXXXX)
P0=${PORT0:-18380} # PORT0: another base for the 7 ports (P0..P0+6) when these are taken
UP=$P0; PA=$((P0 + 1)); PB=$((P0 + 2)); ADA=$((P0 + 3)); ADB=$((P0 + 4))
http1_peers "$W" $UP $((P0 + 5)) $((P0 + 6))
SCHEME=http; GWPORT=80
if [ "${TLS:-}" = 1 ]; then
  . bench/wrk-https.sh
  SCHEME=https; GWPORT=443
  rm -rf "$W/config"; UPSTREAM=$UP bench_config "$W"
  bench_gateway "$W" <<YAML
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bench-credential}
YAML
fi
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
(cd "$A" && exec env $ENV_A "$A/node_modules/.bin/bun" src/main.ts --config "$W/config" --port-map $GWPORT:$PA --bind 127.0.0.1 \
  --admin 127.0.0.1:$ADA --workers 2 --access-log off) >"$W/a.log" 2>&1 & GA=$!
(cd "$B" && exec env $ENV_B "$B/node_modules/.bin/bun" src/main.ts --config "$W/config" --port-map $GWPORT:$PB --bind 127.0.0.1 \
  --admin 127.0.0.1:$ADB --workers 2 --access-log off) >"$W/b.log" 2>&1 & GB=$!
trap 'kill $UPP $GA $GB 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for p in $PA $PB; do wait_http "$SCHEME://127.0.0.1:$p/"; done
echo "A: $A ($(git -C "$A" rev-parse --short HEAD)$(git -C "$A" diff --quiet || echo +dirty))  B: $B ($(git -C "$B" rev-parse --short HEAD)$(git -C "$B" diff --quiet || echo +dirty))"
menv() { tr '\0' '\n' <"/proc/$1/environ" | grep '^MIMALLOC_' | tr '\n' ' ' || true; }
[ -z "${ENV_A:-}${ENV_B:-}" ] || echo "env A: ${ENV_A:--}  env B: ${ENV_B:--}  (MIMALLOC_ in the gateways' environ: A [$(menv $GA)] B [$(menv $GB)])"
# both warmed up first (JIT, pools), 3 s each
for p in $PA $PB; do wrk -t2 -c"$C" -d3s "$SCHEME://127.0.0.1:$p/" >/dev/null 2>&1; done
echo "load at start: $(cat /proc/loadavg)"

# one PORT PID: "rps p99 cpu_us user_us" for one measured wrk run (after a 2 s warm-up)
one() {
  wrk -t2 -c"$C" -d2s "$SCHEME://127.0.0.1:$1/" >/dev/null 2>&1
  local a ua b ub out rps reqs p99
  a=$(cpu "$2"); ua=$(cpu_user "$2")
  out=$(wrk -t2 -c"$C" -d"$D" --latency "$SCHEME://127.0.0.1:$1/")
  b=$(cpu "$2"); ub=$(cpu_user "$2")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(ms "$(echo "$out" | awk '/ 99%/ {print $2}')")
  awk -v r="$rps" -v p="$p99" -v c=$((b - a)) -v u=$((ub - ua)) -v n="$reqs" -v t="$TICK" \
    'BEGIN { n = n > 0 ? n : 1; printf "%s %s %.2f %.2f\n", r, p, c * 1e6 / t / n, u * 1e6 / t / n }'
}

RA=; RB=; CA=; CB=; UA=; UB=; PRA=; PRB=; RAT=; DU=
for round in $(seq 1 "$R"); do
  order="a b"; [ $((round % 2)) = 0 ] && order="b a"
  for s in $order; do
    if [ $s = a ]; then read -r ra pa ca ua < <(one $PA $GA); else read -r rb pb cb ub < <(one $PB $GB); fi
  done
  printf "round %d  A req/s %9s p99 %6s cpu/req %6s user %5s | B req/s %9s p99 %6s cpu/req %6s user %5s | B/A %s (load %s)\n" \
    "$round" "$ra" "$pa" "$ca" "$ua" "$rb" "$pb" "$cb" "$ub" "$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.3f", b / a }')" "$(load1)"
  RA+="$ra "; RB+="$rb "; CA+="$ca "; CB+="$cb "; UA+="$ua "; UB+="$ub "; PRA+="$pa "; PRB+="$pb "
  RAT+="$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.4f", b / a }') "; DU+="$(awk -v a="$ua" -v b="$ub" 'BEGIN { printf "%.2f", b - a }') "
done
echo "medians over $R rounds (wrk -t2 -c$C -d$D), load at end: $(cat /proc/loadavg)"
echo "  A req/s $(median $RA)  p99 $(median $PRA) ms  cpu/req $(median $CA) us  user $(median $UA) us"
echo "  B req/s $(median $RB)  p99 $(median $PRB) ms  cpu/req $(median $CB) us  user $(median $UB) us"
echo "  RSS at end: A $(($(rss_kb $GA) / 1024)) MB  B $(($(rss_kb $GB) / 1024)) MB"
echo "  B/A req/s per pair: $RAT(median $(median $RAT)); user B-A per pair: $DU(median $(median $DU))"
