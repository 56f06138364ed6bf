# Shared by the issue 15 side-by-side scripts (source it). Loopback only.
# Every load is bounded by wrk/h2load duration; every wait by a count.
BUN=${BUN:-node_modules/.bin/bun}
TICK=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# cpu PID...: utime + stime of the processes (all their threads), in clock ticks
cpu() { local t=0 p; for p in "$@"; do read -r -a f <"/proc/$p/stat"; t=$((t + f[13] + f[14])); done; echo $t; }
# cpu_user PID...: utime alone (user space; cpu minus this is the kernel's share)
cpu_user() { local t=0 p; for p in "$@"; do read -r -a f <"/proc/$p/stat"; t=$((t + f[13])); done; echo $t; }
# rss_kb PID...: summed VmRSS
rss_kb() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status"))); done; echo $t; }
# load1: the 1-minute load average now
load1() { cut -d' ' -f1 /proc/loadavg; }
# ms VALUE: wrk's latency (us/ms/s) in milliseconds
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# wait_http URL: until it answers (10 s at most)
wait_http() { for _ in $(seq 1 50); do curl -fsSk -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "not answering: $1" >&2; return 1; }

# wrk_run URL PIDS [wrk args...]: 2 s warm-up, then wrk -t2 -c$C -d$D --latency.
# Prints "rps p99_ms cpu_us_per_req errors" (errors: socket errors + non-2xx).
wrk_run() {
  local url=$1 pids=$2; shift 2
  wrk -t2 -c"$C" -d2s "$@" "$url" >/dev/null 2>&1
  local a b out rps reqs p99 errs
  a=$(cpu $pids)
  out=$(wrk -t2 -c"$C" -d"$D" --latency "$@" "$url")
  b=$(cpu $pids)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(ms "$(echo "$out" | awk '/ 99%/ {print $2}')")
  errs=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  echo "$rps $p99 $(( (b - a) * 1000000 / TICK / (reqs > 0 ? reqs : 1) )) $errs"
}

# wrk_run_side URL PIDS SIDE_PIDS [wrk args...]: like wrk_run, and also the CPU per request
# of SIDE_PIDS (the upstream) and of wrk itself (its rusage, from `times` in the subshell).
# Prints "rps p99_ms cpu_us_per_req errors side_us_per_req wrk_us_per_req user_us_per_req"
# (user: the proxy's user-space share of its CPU; the rest is the kernel's).
wrk_run_side() {
  local url=$1 pids=$2 side=$3; shift 3
  wrk -t2 -c"$C" -d2s "$@" "$url" >/dev/null 2>&1
  local a b sa sb ua ub out rps reqs p99 errs wrkt n
  a=$(cpu $pids); sa=$(cpu $side); ua=$(cpu_user $pids)
  out=$(wrk -t2 -c"$C" -d"$D" --latency "$@" "$url"; times)
  b=$(cpu $pids); sb=$(cpu $side); ub=$(cpu_user $pids)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  n=$((reqs > 0 ? reqs : 1))
  p99=$(ms "$(echo "$out" | awk '/ 99%/ {print $2}')")
  errs=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  # `times` prints the shell's own line, then its children's: "0m1.234s 0m0.567s"
  wrkt=$(echo "$out" | tail -1 | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); t += p[1] * 60 + p[2] } printf "%d", t * 1000000 }')
  echo "$rps $p99 $(( (b - a) * 1000000 / TICK / n )) $errs $(( (sb - sa) * 1000000 / TICK / n )) $(( wrkt / n )) $(( (ub - ua) * 1000000 / TICK / n ))"
}
