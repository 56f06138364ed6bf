#!/bin/bash
# Usage: bash bench/issue15-passthrough.sh [duration=5s] [conns=32] [rounds=3] [bulk conns=4]   (issue 15 target 4)
# TLS passthrough side by side, one run: gangway (2 workers, PASSTHROUGH server, tls
# route by SNI) vs HAProxy (nbthread 2, mode tcp, use_backend on req.ssl_sni), both in
# front of the same nginx TLS backend (1 worker) on loopback. wrk's URL host is
# "localhost", so its SNI is localhost and both proxies route on it. Legs, each round
# alternating which proxy goes first:
# - new connections: wrk -H "Connection: close", a TLS handshake (wrk resumes sessions
#   with the backend through the proxy: the proxy only splices) + 1 small request each;
# - bulk: wrk keep-alive GET of a 16 MB file over BULK_C connections; MB/s.
# - raw: bench/passthrough-bulk.ts, a ClientHello for SNI raw.bench and then only raw bytes over
#   BULK_C connections, download and upload, to a Bun raw backend (no TLS work behind the proxy:
#   the relay itself is measured); MB/s and the proxy's CPU per GB.
# LEGS (default "conns bulk raw") picks the legs. HA_SPLICE=1 gives HAProxy `option splice-auto`
# (its kernel splice(2) relay, not on by default).
# A direct (no proxy) run per round shows what the backend and wrk allow.
# Prints per round req/s or MB/s, proxy CPU per connection (µs) / per GB (ms), errors,
# load; then the median gangway/HAProxy ratios.
# Needs: nginx, haproxy, wrk (apt-get install -y nginx-light haproxy wrk). Loopback only.
set -e
cd "$(dirname "$0")/.."
. bench/wrk-https.sh
. bench/issue15-lib.sh
D=${1:-5s}
C=${2:-32}
R=${3:-3}
BULK_C=${4:-4}
W=$(mktemp -d /tmp/gangway-pt-bench.XXXXXX)
free_port() { $BUN -e 'const s=Bun.listen({hostname:"127.0.0.1",port:0,socket:{data(){}}});console.log(s.port);s.stop(true)'; }
BACK=$(free_port); GWP=$(free_port); HAP=$(free_port); ADMIN=$(free_port); RAW=$(free_port)
LEGS=${LEGS:-conns bulk raw}
leg() { case " $LEGS " in *" $1 "*) return 0 ;; esac; return 1; }
UPSTREAM=$BACK # bench_config's ServiceEntry (unused: the route below names its own)

bench_config "$W"
$BUN bench/lib/passthrough-config.ts "*" localhost $BACK $RAW >"$W/config/gateway.yaml"
rm -f "$W/config/hello.yaml"
passthrough_peers "$W" $BACK $HAP $RAW # nginx.conf (TLS backend, /big) and haproxy.cfg (+ raw.bench)
# (its pipes count against the fd limit: maxconn 4000 keeps it under 20000)
[ "${HA_SPLICE:-0}" = 1 ] && sed -i -e 's/^  mode tcp$/&\n  option splice-auto/' -e 's/^  maxconn 8000$/  maxconn 4000/' "$W/haproxy.cfg"

nginx -c "$W/nginx.conf" -p "$W/" & NG=$!
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 & HA=$!
$BUN bench/passthrough-bulk.ts backend $RAW >/dev/null & RB=$!
$BUN src/main.ts --config "$W/config" --port-map 443:$GWP --bind 127.0.0.1 --admin 127.0.0.1:$ADMIN \
  --workers ${GW_WORKERS:-2} --access-log off --drain-seconds 0 >"$W/gangway.log" 2>&1 & GW=$!
trap 'kill $NG $HA $GW $RB 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
wait_ready "$ADMIN"
for _ in $(seq 1 50); do curl -sk -o /dev/null "https://localhost:$HAP/" && break; sleep 0.2; done
for p in $GWP $HAP; do curl -fsSk -o /dev/null "https://localhost:$p/" || { echo "no answer through $p" >&2; cat "$W/gangway.log" >&2; exit 1; }; done

# conns PORT PIDS: new connections; prints "conn/s cpu_us_per_conn errors"
conns() {
  wrk -t2 -c"$C" -d2s -H "Connection: close" "https://localhost:$1/" >/dev/null 2>&1
  local a b out n rps errs
  a=$(cpu $2)
  out=$(wrk -t2 -c"$C" -d"$D" -H "Connection: close" "https://localhost:$1/")
  b=$(cpu $2)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  errs=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  echo "$rps $(( (b - a) * 1000000 / TICK / (n > 0 ? n : 1) )) $errs"
}
# bulk PORT PIDS: keep-alive GET /big on BULK_C connections; prints "MB/s cpu_ms_per_GB errors"
bulk() {
  local a b out reqs mbs errs
  a=$(cpu $2)
  out=$(wrk -t2 -c"$BULK_C" -d"$D" "https://localhost:$1/big")
  b=$(cpu $2)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  mbs=$(awk -v n="$reqs" -v d="${D%s}" 'BEGIN { printf "%.0f", n * 16 / d }')
  errs=$(echo "$out" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  echo "$mbs $(( (b - a) * 1000 * 1024 / TICK / (reqs > 0 ? reqs * 16 : 1) )) $errs"
}

# raw PORT PID D|U: raw bytes over BULK_C connections for D; prints "MB/s cpu_ms_per_GB"
raw() {
  local a b out mbs bytes
  a=$(cpu $2)
  read -r mbs bytes < <($BUN bench/passthrough-bulk.ts client "$1" raw.bench "$3" "${D%s}" "$BULK_C")
  b=$(cpu $2)
  echo "$mbs $(awk -v c=$((b - a)) -v t="$TICK" -v n="$bytes" 'BEGIN { printf "%.0f", c * 1000 / t / (n > 0 ? n / 1073741824 : 1) }')"
}

echo "passthrough: gangway ${GW_WORKERS:-2} workers vs HAProxy nbthread 2$([ "${HA_SPLICE:-0}" = 1 ] && echo " splice-auto"), nginx TLS backend; wrk -c$C (new conns) / -c$BULK_C (bulk 16 MB GETs), $D, $R rounds; load at start $(cat /proc/loadavg)" >&2
# both FN [ARG]: FN for gangway and for HAProxy, which goes first alternating by round; their lines in G and H
both() {
  if [ $((round % 2)) = 1 ]; then
    G=$($1 $GWP "$GW" $2); H=$($1 $HAP "$HA" $2)
  else
    H=$($1 $HAP "$HA" $2); G=$($1 $GWP "$GW" $2)
  fi
}
# ratio A B [decimals=3]: A / B (a B of 0 counts as 1)
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { printf "%." d "f", a / (b > 0 ? b : 1) }'; }

NC=""; BK=""; CC=""; CB=""; RD=""; RU=""; RDC=""; RUC=""
for round in $(seq 1 "$R"); do
  if leg raw; then
    for dir in D U; do
      read -r rb _ < <(raw $RAW "$RB" $dir)
      both raw $dir
      read -r gr gcpu <<<"$G"; read -r hr hcpu <<<"$H"
      name=$([ $dir = D ] && echo download || echo upload)
      printf "round %d raw %-8s gangway %6s MB/s (%s ms cpu per GB)  haproxy %6s MB/s (%s ms cpu per GB)  ratio %s  direct %s MB/s  (load %s)\n" \
        "$round" "$name:" "$gr" "$gcpu" "$hr" "$hcpu" "$(ratio "$gr" "$hr" 2)" "$rb" "$(load1)" >&2
      if [ $dir = D ]; then
        RD+="$(ratio "$gr" "$hr") "; RDC+="$(ratio "$gcpu" "$hcpu") "
      else
        RU+="$(ratio "$gr" "$hr") "; RUC+="$(ratio "$gcpu" "$hcpu") "
      fi
    done
  fi
  leg conns || leg bulk || continue
  read -r dc _ derr < <(conns $BACK "$NG")
  read -r db _ dberr < <(bulk $BACK "$NG")
  echo "round $round direct to the backend (reference): $dc conn/s ($derr errors), $db MB/s ($dberr errors)" >&2
  if leg conns; then
    both conns
    read -r gc gcpu gerr <<<"$G"; read -r hc hcpu herr <<<"$H"
    printf "round %d new conns: gangway %8s/s (%s us cpu each, %s errors)  haproxy %8s/s (%s us cpu each, %s errors)  ratio %s  (load %s)\n" \
      "$round" "$gc" "$gcpu" "$gerr" "$hc" "$hcpu" "$herr" "$(ratio "$gc" "$hc" 2)" "$(load1)" >&2
    NC+="$(ratio "$gc" "$hc") "; CC+="$(ratio "$gcpu" "$hcpu") "
  fi
  leg bulk || continue
  both bulk
  read -r gb gbcpu gberr <<<"$G"; read -r hb hbcpu hberr <<<"$H"
  printf "round %d bulk:      gangway %8s MB/s (%s ms cpu per GB, %s errors)  haproxy %8s MB/s (%s ms cpu per GB, %s errors)  ratio %s  (load %s)\n" \
    "$round" "$gb" "$gbcpu" "$gberr" "$hb" "$hbcpu" "$hberr" "$(ratio "$gb" "$hb" 2)" "$(load1)" >&2
  BK+="$(ratio "$gb" "$hb") "; CB+="$(ratio "$gbcpu" "$hbcpu") "
done
leg conns && echo "median ratio gangway/haproxy over $R rounds: new connections $(median $NC) (CPU per connection $(median $CC)); load $(cat /proc/loadavg)" >&2
leg bulk && echo "median ratio gangway/haproxy over $R rounds: bulk $(median $BK) (CPU per GB $(median $CB)); load $(cat /proc/loadavg)" >&2
if leg raw; then
  echo "median raw ratio gangway/haproxy over $R rounds: download $(median $RD) (CPU per GB $(median $RDC)), upload $(median $RU) (CPU per GB $(median $RUC)); load $(cat /proc/loadavg)" >&2
fi
