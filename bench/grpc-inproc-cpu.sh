#!/bin/bash
# Usage: [ROOT=checkout] bash bench/grpc-inproc-cpu.sh [windows=5] [seconds=4] — gRPC unary CPU per call of the one-thread in-process gateway (bench/grpc-proxy-inproc.ts) in consecutive h2load windows (the first is JIT warm-up); alternate ROOT between two checkouts to compare them.
# One node:http2 backend (grpc-proxy-backend.mjs), h2load -t1 -c8 -m4 (content-length bodies), loopback only; prints calls, CPU µs per call and RSS per window.
# H1=1: the clients speak HTTP/1.1 (h2load --h1 -m1, keep-alive) to the same h2c upstream (the HTTP/1.1 client -> HTTP/2 upstream path).
set -e
cd "${ROOT:-$(dirname "$0")/..}" # ROOT=/other/checkout measures that one
W=${1:-5}
S=${2:-4}
T=/tmp/grpc-bench
mkdir -p $T
printf '\x00\x00\x00\x00\x04ping' >$T/unary.bin
node bench/grpc-proxy-backend.mjs 18290 >/dev/null 2>&1 & UP=$!
node_modules/.bin/bun bench/grpc-proxy-inproc.ts 18291 18290 $((W * S + 6)) >/dev/null & GW=$!
trap 'kill $GW $UP 2>/dev/null' EXIT
sleep 1.5
TICK=$(getconf CLK_TCK)
for i in $(seq 1 "$W"); do
  a=$(awk '{print $14+$15}' /proc/$GW/stat)
  out=$(h2load -t1 -c8 $([ -n "$H1" ] && echo "--h1 -m1" || echo "-m4") -D "$S" -d $T/unary.bin -H 'content-type: application/grpc' -H 'te: trailers' http://127.0.0.1:18291/bench.Echo/Unary)
  b=$(awk '{print $14+$15}' /proc/$GW/stat)
  n=$(echo "$out" | awk '/^requests:/ {print $8}')
  echo "window $i: calls $n  cpu/call $(awk -v a=$a -v b=$b -v n=$n -v t=$TICK 'BEGIN{printf "%.1f", (b-a)*1000000/t/n}') us  rss $(awk '/VmRSS/ {print $2}' /proc/$GW/status) kB  load $(cut -d' ' -f1 /proc/loadavg)"
done
