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

# passthrough_haproxy FILE THREADS "PORT [bind options]" SNI BACK: HAProxy in mode tcp routing a
# ClientHello with SNI to 127.0.0.1:BACK (backend `tls`), as gangway's PASSTHROUGH does.
passthrough_haproxy() {
  cat >"$1" <<HAPCFG
global
  nbthread $2
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend passthrough
  bind 127.0.0.1:$3
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend tls if { req.ssl_sni -i $4 }
backend tls
  server s1 127.0.0.1:$5
HAPCFG
}

# passthrough_peers DIR BACK HAP [RAW]: the target-4 peers' configs in DIR: nginx TLS backend on BACK (1 worker,
# `/` says hello, /big is a 16 MB file) and HAProxy (nbthread 2, mode tcp) on HAP routing SNI localhost to it
# (and SNI raw.bench to the raw backend on RAW, bench/passthrough-bulk.ts, when given)
passthrough_peers() {
  local W=$1 BACK=$2 HAP=$3 RAW=${4:-}
  chmod 755 "$W"; mkdir -p "$W/www"
  head -c $((16 * 1024 * 1024)) /dev/zero >"$W/www/big"
  cat >"$W/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
error_log $W/nginx-error.log warn;
pid $W/nginx.pid;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  sendfile on;
  server {
    listen 127.0.0.1:$BACK ssl backlog=4096;
    ssl_certificate $W/httpbin.example.com.crt;
    ssl_certificate_key $W/httpbin.example.com.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:S:10m;
    root $W/www;
    location = / { return 200 "hello\n"; }
  }
}
NGINX
  passthrough_haproxy "$W/haproxy.cfg" 2 "$HAP backlog 4096" localhost "$BACK"
  if [ -n "$RAW" ]; then
    sed -i "s/^  use_backend tls if.*/&\n  use_backend raw if { req.ssl_sni -i raw.bench }/" "$W/haproxy.cfg"
    printf 'backend raw\n  server r1 127.0.0.1:%s\n' "$RAW" >>"$W/haproxy.cfg"
  fi
}

# nginx's location proxying everything to the upstream `hello` (keep-alive, Host and
# X-Forwarded-For passed), as gangway forwards: the peers' server blocks use it.
NGX_TO_HELLO='location / { proxy_pass http://hello; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }'

# The upstream every HTTP target measures against: nginx (1 worker) answering `return 200` on
# 127.0.0.1:PORT, written to W/up.conf. Usage: upstream_conf W PORT
upstream_conf() {
  cat >"$1/up.conf" <<NGINX
worker_processes 1; daemon off; error_log $1/up-error.log warn; pid $1/up.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:$2 backlog=4096; location / { return 200 "Hello, World!"; } } }
NGINX
}

# nginx for the idle-connection targets (issue15-memory.sh, tls-burst.sh): 2 workers, 15,000
# connections each, keep-alive 300 s, TLS on 127.0.0.1:NGS (W/httpbin.example.com.crt from
# bench_config) and, when NG is given, plain HTTP on 127.0.0.1:NG, both proxying to the upstream
# on 127.0.0.1:UPSTREAM; written to W/nginx.conf. Usage: idle_nginx_conf W UPSTREAM NGS [NG]
idle_nginx_conf() {
  local plain=""
  [ -n "${4:-}" ] && plain="listen 127.0.0.1:$4 reuseport backlog=4096;"
  cat >"$1/nginx.conf" <<NGINX
worker_processes 2; daemon off; error_log $1/nginx-error.log warn; pid $1/nginx.pid;
worker_rlimit_nofile 30000;
events { worker_connections 15000; }
http { access_log off; keepalive_timeout 300s;
  upstream hello { server 127.0.0.1:$2; keepalive 64; }
  server {
    $plain
    listen 127.0.0.1:$3 ssl reuseport backlog=4096;
    ssl_certificate $1/httpbin.example.com.crt;
    ssl_certificate_key $1/httpbin.example.com.key;
    location / { proxy_pass http://hello; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGINX
}

# Target 1's peers, written into W: the upstream nginx `return 200` (up.conf, port UP), nginx
# (nginx.conf, NG) and HAProxy (haproxy.cfg, HA) in front of it with 2 workers/threads each, and
# gangway's configuration (W/config) routing every host to it. Used by issue15-http1.sh and
# http1-syscalls.sh. Usage: http1_peers W UP NG HA
http1_peers() {
  local w=$1 up=$2 ng=$3 ha=$4
upstream_conf "$w" "$up"
cat >"$w/nginx.conf" <<NGINX
worker_processes 2; daemon off; error_log $w/nginx-error.log warn; pid $w/nginx.pid;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 100000000;
  upstream hello { server 127.0.0.1:$up; keepalive 64; keepalive_requests 100000000; }
  server { listen 127.0.0.1:$ng reuseport backlog=4096;
    $NGX_TO_HELLO } }
NGINX
cat >"$w/haproxy.cfg" <<HAPROXY
global
  nbthread 2
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:$ha
  default_backend hello
backend hello
  server up 127.0.0.1:$up
HAPROXY
mkdir -p "$w/config"
cat >"$w/config/bench.yaml" <<YAML
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: bench}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: hello}
spec:
  hosts: [hello.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: $up}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: bench}
spec:
  hosts: ["*"]
  gateways: [bench]
  http: [{route: [{destination: {host: hello.local, port: {number: 80}}}]}]
YAML
}
