#!/bin/bash
# Issue 15 target 1: HTTP/1.1 keep-alive, gangway vs nginx vs HAProxy, 2 workers each,
# in front of one nginx `return 200` upstream (1 worker), on loopback. Rounds alternate
# the three; prints per round req/s, p99, CPU per request (utime+stime of the proxy's
# processes over the measured run / requests), then the medians and the ratios. Each row
# also shows the CPU per request of the upstream nginx and of wrk, so the machine's whole
# budget is visible, and the user-space part of the proxy's CPU (the rest is the kernel's:
# the same sendto/recvfrom for every proxy). SPLICE=1 adds bench/http-proxy-splice.ts (2 Bun workers, raw L4 splice,
# no HTTP): the most Bun's sockets can do here, the ceiling for any Bun proxy.
# SPIN="1500 3000" (with SPLICE=1) adds one splice per value whose workers also spin that many ns
# of pure computation per client read (rows spin1500, ...): what a user-space cost per request
# alone takes from the ceiling, to compare with gangway's row.
# Usage: [SPLICE=1 [SPIN="ns ..."]] bash bench/issue15-http1.sh [duration=8s] [connections=64] [rounds=3]
# Needs: nginx, haproxy, wrk (apt-get install -y nginx-light haproxy wrk).
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
D=${1:-8s}; C=${2:-64}; R=${3:-3}
W=$(mktemp -d /tmp/gangway-i15-http1.XXXXXX)
UP=18280; GW=18281; NG=18282; HA=18283; ADMIN=18284; SP=18285
NAMES="nginx haproxy gangway"; [ "${SPLICE:-0}" = 1 ] && NAMES="$NAMES splice"
SPINS=; [ "${SPLICE:-0}" = 1 ] && SPINS=${SPIN:-}
for ns in $SPINS; do NAMES="$NAMES spin$ns"; done

http1_peers "$W" $UP $NG $HA

nginx -c "$W/up.conf" -p "$W/" & UPP=$!
nginx -c "$W/nginx.conf" -p "$W/" & NGP=$!
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 & HAP=$!
$BUN src/main.ts --config "$W/config" --port-map 80:$GW --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers 2 --access-log off >"$W/gangway.log" 2>&1 & GWP=$!
SPP=
if [ "${SPLICE:-0}" = 1 ]; then $BUN bench/http-proxy-splice.ts $SP $UP 2 >"$W/splice.log" 2>&1 & SPP=$!; fi
declare -A SPIN_PORT SPIN_PID; SPIN_PIDS=; i=0
for ns in $SPINS; do
  i=$((i + 1)); SPIN_PORT[$ns]=$((SP + 10 + i))
  SPLICE_SPIN_NS=$ns $BUN bench/http-proxy-splice.ts ${SPIN_PORT[$ns]} $UP 2 >"$W/spin$ns.log" 2>&1 & SPIN_PID[$ns]=$!
  SPIN_PIDS="$SPIN_PIDS $!"
done
trap 'kill $UPP $NGP $HAP $GWP $SPP $SPIN_PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for p in $GW $NG $HA ${SPP:+$SP} ${SPIN_PORT[@]}; do wait_http "http://127.0.0.1:$p/"; done
UPW=$(pgrep -P $UPP | tr '\n' ' ')
NGW=$(pgrep -P $NGP | tr '\n' ' ')
# the Bun proxies' first ~10 s under load still run partly unoptimized code (user CPU per request
# twice the steady one, notes h1tail): load each for 10 s before round 1
for p in $GW ${SPP:+$SP} ${SPIN_PORT[@]}; do wrk -t2 -c"$C" -d10s "http://127.0.0.1:$p/" >/dev/null 2>&1; done
echo "load at start: $(cat /proc/loadavg)"
declare -A RPS P99 CPU ERR UPC WRC USR
for round in $(seq 1 "$R"); do
  for name in $NAMES; do
    case $name in nginx) port=$NG pids=$NGW ;; haproxy) port=$HA pids=$HAP ;; gangway) port=$GW pids=$GWP ;; splice) port=$SP pids=$SPP ;; spin*) port=${SPIN_PORT[${name#spin}]} pids=${SPIN_PID[${name#spin}]} ;; esac
    read -r rps p99 cpuus errs upus wrkus usrus < <(wrk_run_side "http://127.0.0.1:$port/" "$pids" "$UPW")
    printf "round %d %-8s req/s %9s  p99 %8s ms  cpu/req %4s us (user %3s)  upstream %3s us  wrk %3s us  errors %s  (load %s)\n" \
      "$round" $name "$rps" "$p99" "$cpuus" "$usrus" "$upus" "$wrkus" "$errs" "$(load1)"
    RPS[$name]+="$rps "; P99[$name]+="$p99 "; CPU[$name]+="$cpuus "; UPC[$name]+="$upus "; WRC[$name]+="$wrkus "; USR[$name]+="$usrus "
    ERR[$name]=$(( ${ERR[$name]:-0} + errs ))
  done
done
echo "medians over $R rounds (wrk -t2 -c$C -d$D), load at end: $(cat /proc/loadavg)"
for name in $NAMES; do
  printf "  %-8s req/s %9s  p99 %8s ms  cpu/req %4s us (user %3s)  upstream %3s us  wrk %3s us  errors %s\n" $name "$(median ${RPS[$name]})" \
    "$(median ${P99[$name]})" "$(median ${CPU[$name]})" "$(median ${USR[$name]})" "$(median ${UPC[$name]})" "$(median ${WRC[$name]})" "${ERR[$name]}"
done
g=$(median ${RPS[gangway]}); n=$(median ${RPS[nginx]}); h=$(median ${RPS[haproxy]})
awk -v g="$g" -v n="$n" -v h="$h" 'BEGIN { printf "ratio req/s gangway/nginx %.2f (target >= 1.10)  gangway/haproxy %.2f (target >= 1.0)\n", g / n, g / h }'
if [ -n "$SPP" ]; then
  s=$(median ${RPS[splice]})
  awk -v s="$s" -v n="$n" -v h="$h" -v g="$g" 'BEGIN { printf "ceiling: Bun splice/nginx %.2f  splice/haproxy %.2f  gangway/splice %.2f (a Bun proxy cannot pass the splice)\n", s / n, s / h, g / s }'
fi
