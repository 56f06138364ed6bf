#!/bin/bash
# Issue 15 target 1, the p99 side: HTTP/1.1 keep-alive latency distribution (p50/p90/p99/max) of
# gangway builds beside the Bun splice (bench/http-proxy-splice.ts, the floor of any Bun proxy),
# splices that burn a known user time per request (spinN: N ns per client read, no allocation),
# HAProxy and nginx, in front of one nginx `return 200` upstream, alternating short rounds.
# Every round waits for an idle machine, then records the CPU used during the run by processes
# other than the proxy, the upstream and wrk ("foreign", from /proc/stat user+nice+system) and the
# hypervisor's steal time: a round with foreign > FOREIGN_MAX % or steal > STEAL_MAX % of the 2
# CPUs is flagged '*' and left out of the "clean" medians (on a shared 2-vCPU guest one such
# round moves p99 from 4 to 20-90 ms). Before round 1 each Bun proxy gets FIRST_WARM of load, so
# that JSC has finished compiling (gangway's first 6 s under load spend ~90 ms in the JIT thread
# and ~2x the user CPU per request of the later rounds).
#
# Names: gangway (this checkout), base (the checkout at BASE, e.g. a `git worktree add` of main),
# splice, spinN (N ns), haproxy, nginx. ENV_<name> adds environment to that proxy (gangway, base,
# splice), e.g. ENV_gangway="BUN_JSC_useConcurrentGC=0". ALT=NAME:ENV adds gangway once more as
# NAME with ENV, e.g. ALT="nogc:BUN_JSC_useGC=0".
# Usage: [NAMES="base gangway splice spin3000 haproxy"] [BASE=/tmp/base] bash bench/http1-tail.sh [duration=3s] [connections=64] [rounds=6]
# Needs: nginx, haproxy, wrk. Run it under the bench lock; keep duration × rounds × names short.
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
D=${1:-3s}; C=${2:-64}; R=${3:-6}
NAMES=${NAMES:-"gangway splice spin3000 haproxy"}
FOREIGN_MAX=${FOREIGN_MAX:-4}; STEAL_MAX=${STEAL_MAX:-2}; FIRST_WARM=${FIRST_WARM:-10s}; WARM=${WARM:-1s}
ALT_NAME=${ALT%%:*}; ALT_ENV=${ALT#*:}
[ -n "$ALT" ] && NAMES="$NAMES $ALT_NAME"
BUNX=$(realpath "$BUN")
W=$(mktemp -d /tmp/gangway-tail.XXXXXX)
UP=18370; NG=18371; HA=18372; SP=18373; PORT0=18374
http1_peers "$W" $UP $NG $HA
nginx -c "$W/up.conf" -p "$W/" & UPP=$!
PIDS=$UPP
declare -A PORT PID BUNS
i=0
gangway() { # NAME DIR ENV...: one gangway (2 workers) from checkout DIR on the next port
  local name=$1 dir=$2; shift 2
  local port=$((PORT0 + 2 * i)) admin=$((PORT0 + 2 * i + 1))
  (cd "$dir" && exec env "$@" "$BUNX" src/main.ts --config "$W/config" --port-map 80:$port --bind 127.0.0.1 \
    --admin 127.0.0.1:$admin --workers 2 --access-log off >"$W/$name.log" 2>&1) &
  PID[$name]=$!; PORT[$name]=$port; BUNS[$name]=1
}
for name in $NAMES; do
  i=$((i + 1))
  case $name in
    gangway) gangway gangway . ${ENV_gangway:-} ;;
    base) [ -d "${BASE:-}" ] || { echo "BASE=checkout needed for base" >&2; exit 2; }; gangway base "$BASE" ${ENV_base:-} ;;
    "$ALT_NAME") gangway "$name" . $ALT_ENV ;;
    splice) env ${ENV_splice:-} $BUN bench/http-proxy-splice.ts $SP $UP 2 >"$W/splice.log" 2>&1 & PID[$name]=$!; PORT[$name]=$SP; BUNS[$name]=1 ;;
    spin*) p=$((PORT0 + 2 * i)); SPLICE_SPIN_NS=${name#spin} $BUN bench/http-proxy-splice.ts $p $UP 2 >"$W/$name.log" 2>&1 & PID[$name]=$!; PORT[$name]=$p; BUNS[$name]=1 ;;
    haproxy) haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 & PID[$name]=$!; PORT[$name]=$HA ;;
    nginx) nginx -c "$W/nginx.conf" -p "$W/" & PID[$name]=$!; PORT[$name]=$NG ;;
    *) echo "unknown name $name" >&2; exit 2 ;;
  esac
  PIDS="$PIDS ${PID[$name]}"
done
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
for name in $NAMES; do wait_http "http://127.0.0.1:${PORT[$name]}/" || exit 1; done
# user+nice+system jiffies of the machine (irq/softirq left out: loopback's softirq time is in no process)
busy() { awk '/^cpu / { print $2 + $3 + $4 }' /proc/stat; }
steal() { awk '/^cpu / { print $9 }' /proc/stat; }
quiet() { # until the machine is ≥ 90 % idle over 0.5 s (20 s at most)
  local a b
  for _ in $(seq 1 40); do a=$(busy); sleep 0.5; b=$(busy); [ $(((b - a) * 100 / TICK)) -le 10 ] && return 0; done
  echo "  (machine not quiet)"
}
for name in $NAMES; do [ -n "${BUNS[$name]:-}" ] && wrk -t2 -c"$C" -d"$FIRST_WARM" "http://127.0.0.1:${PORT[$name]}/" >/dev/null 2>&1; done
echo "load at start: $(cat /proc/loadavg)"
declare -A RPS P90 P99 USR CR CP
for round in $(seq 1 "$R"); do
  for name in $NAMES; do
    url="http://127.0.0.1:${PORT[$name]}/"
    mine="${PID[$name]} $(pgrep -P "${PID[$name]}" | tr '\n' ' ') $UPP"
    wrk -t2 -c"$C" -d"$WARM" "$url" >/dev/null 2>&1
    quiet
    a=$(busy); s0=$(steal); m0=$(cpu $mine); u0=$(cpu_user ${PID[$name]})
    out=$(wrk -t2 -c"$C" -d"$D" --latency "$url"; times)
    b=$(busy); s1=$(steal); m1=$(cpu $mine); u1=$(cpu_user ${PID[$name]})
    # `times` in the subshell: its children's (wrk's) user and system time, last line
    wrkt=$(echo "$out" | tail -1 | awk -v t=$TICK '{ s = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } printf "%d", s * t }')
    secs=$(echo "$out" | awk '/requests in/ { sub("s,", "", $4); print $4 }')
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    foreign=$(awk -v d=$((b - a - (m1 - m0) - wrkt)) -v s="$secs" -v t=$TICK 'BEGIN { printf "%.1f", d / t / s / 2 * 100 }')
    st=$(awk -v d=$((s1 - s0)) -v s="$secs" -v t=$TICK 'BEGIN { printf "%.1f", d / t / s / 2 * 100 }')
    usr=$(awk -v d=$((u1 - u0)) -v n="$reqs" -v t=$TICK 'BEGIN { printf "%.1f", d / t * 1e6 / (n > 0 ? n : 1) }')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(ms "$(echo "$out" | awk '/ 50%/ {print $2}')"); p90=$(ms "$(echo "$out" | awk '/ 90%/ {print $2}')")
    p99=$(ms "$(echo "$out" | awk '/ 99%/ {print $2}')"); mx=$(ms "$(echo "$out" | awk '/Latency/ && !/Distribution/ {print $4}')")
    flag=" "; awk -v f="$foreign" -v s="$st" -v fm="$FOREIGN_MAX" -v sm="$STEAL_MAX" 'BEGIN { exit !(f > fm || s > sm) }' && flag="*"
    printf "round %2d %-8s req/s %9s  p50 %5s  p90 %5s  p99 %6s  max %7s ms  user %5s us/req  foreign %5s%%  steal %4s%% %s\n" \
      "$round" "$name" "$rps" "$p50" "$p90" "$p99" "$mx" "$usr" "$foreign" "$st" "$flag"
    RPS[$name]+="$rps "; P90[$name]+="$p90 "; P99[$name]+="$p99 "; USR[$name]+="$usr "
    if [ "$flag" = " " ]; then CR[$name]+="$rps "; CP[$name]+="$p99 "; fi
  done
done
echo "medians over $R rounds (wrk -t2 -c$C -d$D), load at end: $(cat /proc/loadavg)"
for name in $NAMES; do
  n=$(echo ${CP[$name]:-} | wc -w)
  cr=-; cp=-; [ "$n" -gt 0 ] && cr=$(median ${CR[$name]}) && cp=$(median ${CP[$name]})
  printf "  %-8s req/s %9s  p90 %5s  p99 %6s ms  user %5s us/req | clean rounds %d: req/s %9s  p99 %6s ms | p99s: %s\n" "$name" \
    "$(median ${RPS[$name]})" "$(median ${P90[$name]})" "$(median ${P99[$name]})" "$(median ${USR[$name]})" "$n" "$cr" "$cp" "${P99[$name]}"
done
