#!/bin/bash
# The TLS connection burst of bench/issue15-memory.sh (10,000 connections, 256 connecting at a
# time), against gangway (2 workers) and nginx (2 workers, `listen ... ssl backlog=4096` as in
# that script) alternately, with every failed connection classified by
# bench/tls-burst-client.ts, the kernel's listen-queue counters (nstat ListenOverflows /
# ListenDrops) and gangway's gangway_tls_refused_total{reason=hello_timeout} read around each
# round, and the listen backlogs as `ss -ltn` shows them (Send-Q of a listening socket).
# Usage: bash bench/tls-burst.sh [rounds=3] [connections=10000]
#   HOG=k: k busy-loop processes for the whole run (bounded by `timeout`), a loaded machine
#   CLIENT=node: the client is node:tls under Node instead of Bun.connect
#   GW_DIR=dir: the gangway checkout to run (default: this one)
#   CAPTURE=dir: tcpdump (headers only) of each round into dir/ROUND-WHO.pcap, then each read by
#     bench/tls-burst-phases.py: where the slow handshakes spent their time, packet by packet
# Loopback only; every process bounded by `timeout`.
set -e
cd "$(dirname "$0")/.."
. bench/issue15-lib.sh
. bench/wrk-https.sh
ROUNDS=${1:-3}
N=${2:-10000}
HERE=$(pwd)
GW_DIR=${GW_DIR:-$HERE}
W=$(mktemp -d /tmp/gangway-tlsburst.XXXXXX)
UPSTREAM=18580; GWS=18582; NGS=18584; ADMIN=18585; GW=18581

bench_config "$W"
bench_gateway_both "$W"
upstream_conf "$W" $UPSTREAM
idle_nginx_conf "$W" $UPSTREAM $NGS
LIMIT=$((ROUNDS * 200 + 120))
HOGS=""
for _ in $(seq 1 "${HOG:-0}"); do timeout "$LIMIT" sh -c 'while :; do :; done' & HOGS="$HOGS $!"; done
timeout "$LIMIT" nginx -c "$W/up.conf" -p "$W/" & UPP=$!
timeout "$LIMIT" nginx -c "$W/nginx.conf" -p "$W/" & NGP=$!
(cd "$GW_DIR" && exec timeout "$LIMIT" "$HERE/$BUN" src/main.ts --config "$W/config" --port-map 80:$GW,443:$GWS --bind 127.0.0.1 \
  --admin 127.0.0.1:$ADMIN --workers 2 --access-log off) >"$W/gangway.log" 2>&1 & GWP=$!
trap 'kill $UPP $NGP $GWP $HOGS 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_ready "$ADMIN"
for u in https://127.0.0.1:$NGS/ https://127.0.0.1:$GWS/; do wait_http "$u"; done
echo "somaxconn $(cat /proc/sys/net/core/somaxconn), tcp_max_syn_backlog $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog), syncookies $(cat /proc/sys/net/ipv4/tcp_syncookies); client nofile $(ulimit -n)"
echo "listen backlog (ss Send-Q): gangway $(ss -ltnH "sport = :$GWS" | awk '{print $3}' | tr '\n' ' ') nginx $(ss -ltnH "sport = :$NGS" | awk '{print $3}' | tr '\n' ' ')"
CL=(timeout 90 "$BUN" bench/tls-burst-client.ts)
if [ "${CLIENT:-}" = node ]; then
  "$BUN" build bench/tls-burst-client.ts --target node --outfile "$W/client.mjs" >/dev/null
  CL=(timeout 90 node "$W/client.mjs")
fi
counters() { nstat -az TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop TcpExtTCPReqQFullDoCookies 2>/dev/null | awk 'NR > 1 && $1 !~ /^#/ { printf "%s=%s ", $1, $2 }'; }
# refusals REASON: gangway_tls_refused_total{reason=REASON} summed over listeners
refusals() { curl -s "http://127.0.0.1:$ADMIN/stats/prometheus" | awk -v r="reason=\"$1\"" 'index($0, "gangway_tls_refused_total") == 1 && index($0, r) { s += $NF } END { print s + 0 }'; }
for r in $(seq 1 "$ROUNDS"); do
  for who in gangway nginx; do
    port=$GWS; [ $who = nginx ] && port=$NGS
    a=$(counters); h0=$(refusals hello_timeout); k0=$(refusals handshake_timeout)
    DUMP=""
    if [ -n "${CAPTURE:-}" ]; then
      mkdir -p "$CAPTURE"
      timeout 100 tcpdump -i lo -s 80 -B 65536 -w "$CAPTURE/$r-$who.pcap" "tcp port $port" 2>/dev/null & DUMP=$!
      sleep 1
    fi
    out=$("${CL[@]}" "$port" "$N" 2>&1 || true)
    [ -n "$DUMP" ] && { sleep 1; kill -INT $DUMP; wait $DUMP 2>/dev/null || true; }
    b=$(counters); h1=$(refusals hello_timeout); k1=$(refusals handshake_timeout)
    echo "round $r $who (load $(load1)): $(echo "$out" | head -1)"
    echo "$out" | tail -n +2
    echo "  kernel before: $a"
    echo "  kernel after:  $b"
    [ $who = gangway ] && echo "  gangway refusals: hello_timeout +$((h1 - h0)), handshake_timeout +$((k1 - k0)) (a build without that reason: 0)"
    [ -n "$DUMP" ] && python3 bench/tls-burst-phases.py "$CAPTURE/$r-$who.pcap" "$port"
    sleep 2
  done
done
grep -iE "error|EMFILE|uncaught" "$W/gangway.log" | head -5 || true
