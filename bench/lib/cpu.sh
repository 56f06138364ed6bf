# Shared by the side-by-side benchmark scripts (source it): the CPU time a set
# of processes has spent, read from /proc.

# cpu PID...: utime + stime of the processes, in clock ticks
cpu() { local t=0; for p in "$@"; do read -r -a f <"/proc/$p/stat"; t=$((t + f[13] + f[14])); done; echo $t; }
TICK=$(getconf CLK_TCK)
