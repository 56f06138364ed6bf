# Shared by the plain-HTTP side-by-side scripts (http-proxy.sh, upstream-tls.sh;
# source it): one wrk load against a loopback port. Needs C (connections) and
# D (duration) set.
. bench/lib/cpu.sh

# run NAME PORT PID...: a 2 s warm-up, then the measured load; prints req/s,
# p99 and the CPU the processes spent per request (steadier than req/s on a
# shared machine), with wrk's error lines if any.
run() {
  local name=$1 port=$2; shift 2
  wrk -t2 -c"$C" -d2s "http://127.0.0.1:$port/" >/dev/null # warm-up
  local a; a=$(cpu "$@")
  local out; out=$(wrk -t2 -c"$C" -d"$D" --latency "http://127.0.0.1:$port/")
  local b; b=$(cpu "$@")
  local rps reqs p99 errs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(echo "$out" | awk '/ 99%/ {print $2}')
  errs=$(echo "$out" | grep -E "Non-2xx|Socket errors" | tr '\n' ' ')
  printf "%-8s req/s %9s  p99 %8s  cpu/req %5s us %s\n" "$name" "$rps" "$p99" $(( (b - a) * 1000000 / TICK / reqs )) "$errs"
}
