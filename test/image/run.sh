#!/usr/bin/env bash
# The container image, built and run as a node would run it (run by .ci/run after
# the unit/e2e suite). Needs root, podman with runc, debootstrap and curl; where
# podman cannot run it prints "image test: SKIPPED: <why>" and exits 0.
#
# No registry image can be pulled here, so the Dockerfile's base (ARG BUN_IMAGE)
# is made locally: a Debian bookworm minbase rootfs (debootstrap, cached as a
# tarball under $GANGWAY_IMAGE_CACHE) plus the Bun binary from node_modules, with a
# `bun` user (uid 1000) and the host's CA bundle, imported with `podman import`.
#
# Then: build the image; run it read-only (a /tmp tmpfs, as the Deployment's
# emptyDir), all capabilities dropped, with a ConfigMap-like config volume and a
# Secret volume in the kubelet's layout and the demo httpbin in its network
# namespace; serve HTTP and TLS through it from the host on loopback published
# ports; check the user, the health check, the status port, a ..data swap reload,
# no private key in the image, and that `podman stop` drains and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
T0=$(date +%s)

skip() { echo "image test: SKIPPED: $*"; exit 0; }
say() { echo "image test: $*"; }
# a command that fails where no check reports it (set -e) says where, not only an exit code
trap 'rc=$?; say "FAIL: line $LINENO exited $rc: $BASH_COMMAND"' ERR

[ "$(id -u)" = 0 ] || skip "needs root (rootful podman with runc, debootstrap)"
command -v podman >/dev/null 2>&1 || skip "podman is not installed (apt-get install podman runc debootstrap)"
command -v runc >/dev/null 2>&1 || skip "runc is not installed"
PODMAN=(podman --runtime runc)
"${PODMAN[@]}" info >/dev/null 2>&1 || skip "podman cannot run here: $("${PODMAN[@]}" info 2>&1 | tail -n1)"
for tool in debootstrap curl; do
  command -v "$tool" >/dev/null 2>&1 || { say "FAIL: $tool is not installed"; exit 1; }
done

ID="gangway-image-test-$$"
BASE="localhost/$ID-bun:base"
IMAGE="localhost/$ID:latest"
GW="$ID-gw"
WORK=$(mktemp -d)
CACHE=${GANGWAY_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gangway-image}
ROOTFS_TAR="$CACHE/debian-bookworm-minbase.tar"

cleanup() {
  # the backend shares the gateway's network namespace: it goes first
  "${PODMAN[@]}" rm -f --ignore -t 0 "$ID-backend" >/dev/null 2>&1 || true
  "${PODMAN[@]}" rm -f --ignore -t 0 "$GW" >/dev/null 2>&1 || true
  "${PODMAN[@]}" rmi -f "$IMAGE" >/dev/null 2>&1 || true
  "${PODMAN[@]}" rmi -f "$BASE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" TERM INT

fail() {
  say "FAIL: $*"
  if "${PODMAN[@]}" container exists "$GW" 2>/dev/null; then
    echo "--- gateway container log"
    "${PODMAN[@]}" logs "$GW" 2>&1 | tail -n 40
  fi
  exit 1
}

# ---- the base image: Debian minbase + Bun + user bun -------------------------------
if [ ! -s "$ROOTFS_TAR" ]; then
  say "debootstrap --variant=minbase bookworm (cached in $CACHE)"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 20 "$WORK/debootstrap.log"; fail "debootstrap failed"; }
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  tar -C "$WORK/rootfs" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$WORK/rootfs"
fi
BUN_BIN=$(readlink -f node_modules/.bin/bun)
[ -x "$BUN_BIN" ] || fail "no Bun binary in node_modules (npm ci first)"
mkdir "$WORK/base"
tar -C "$WORK/base" -xf "$ROOTFS_TAR"
install -m 0755 "$BUN_BIN" "$WORK/base/usr/local/bin/bun"
ln -s bun "$WORK/base/usr/local/bin/bunx"
# downloads inside the build (bun install) trust the image's CA bundle: give it the host's
mkdir -p "$WORK/base/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$WORK/base/etc/ssl/certs/ca-certificates.crt"
# the official image's user: bun, uid/gid 1000, home /home/bun
echo 'bun:x:1000:1000::/home/bun:/bin/sh' >>"$WORK/base/etc/passwd"
echo 'bun:x:1000:' >>"$WORK/base/etc/group"
echo 'bun:!:20000::::::' >>"$WORK/base/etc/shadow"
install -d -o 1000 -g 1000 "$WORK/base/home/bun"
tar -C "$WORK/base" -c . | "${PODMAN[@]}" import -q \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["/usr/local/bin/bun"]' - "$BASE" >/dev/null || fail "podman import of the base"
rm -rf "$WORK/base"
say "base $BASE imported ($(( $(date +%s) - T0 )) s)"

# ---- build ----------------------------------------------------------------------------
# --layers=false: no intermediate images left behind (the deps stage is not kept)
"${PODMAN[@]}" build --format docker --layers=false --build-arg "BUN_IMAGE=$BASE" -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
  { tail -n 30 "$WORK/build.log"; fail "podman build"; }
say "built $IMAGE ($(( $(date +%s) - T0 )) s)"

# no demo private key in the image: no key file, and no line of one anywhere under /app
for key in config/certs/*.key; do
  line=$(sed -n 2p "$key")
  if "${PODMAN[@]}" run --rm --no-healthcheck --entrypoint sh "$IMAGE" -c "grep -rqF -- '$line' /app /etc/gangway /home/bun" 2>/dev/null; then
    fail "the private key of $key is in the image"
  fi
done
keys=$("${PODMAN[@]}" run --rm --no-healthcheck --entrypoint sh "$IMAGE" -c 'find /app /etc/gangway \( -name "*.key" -o -name "*.pem" \) | head -n 5' 2>&1) ||
  fail "podman run: $keys"
[ -z "$keys" ] || fail "key files in the image: $keys"
[ "$("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Config.User}}')" = bun ] || fail "the image's USER is not bun"

# the Dockerfile's old example: config/quickstart's relative links dangle in the container
out=$("${PODMAN[@]}" run --rm --no-healthcheck -v "$ROOT/config/quickstart:/etc/gangway/config:ro" --entrypoint bun "$IMAGE" src/main.ts analyze --config /etc/gangway/config 2>&1) || true
grep -q GW0008 <<<"$out" || fail "a dangling symlink is not reported (GW0008): $out"
grep -q GW0007 <<<"$out" || fail "a --config yielding no resources is not reported (GW0007): $out"
# the Dockerfile's example now: real folders mounted
EXAMPLE=(-v "$ROOT/config/backends:/etc/gangway/config/backends:ro" -v "$ROOT/config/walkthrough/01-http-gateway:/etc/gangway/config/gateway:ro")
out=$("${PODMAN[@]}" run --rm --no-healthcheck "${EXAMPLE[@]}" --entrypoint bun "$IMAGE" src/main.ts analyze --config /etc/gangway/config 2>&1) ||
  fail "analyze of the Dockerfile's example: $out"
grep -qE 'GW000[78]' <<<"$out" && fail "the Dockerfile's example yields nothing: $out"
# an admin bound beyond loopback (inside the container's own network namespace) is warned about
out=$("${PODMAN[@]}" run --rm --no-healthcheck "${EXAMPLE[@]}" --entrypoint sh "$IMAGE" -c '
  bun src/main.ts --config /etc/gangway/config --admin 0.0.0.0:15000 --port-map 80:8080 --workers 1 >/tmp/log 2>&1 & pid=$!
  for i in $(seq 200); do grep -q -e "not on loopback" -e "ready version" /tmp/log && break; sleep 0.1; done
  kill $pid; wait $pid; cat /tmp/log' 2>&1) || true
grep -q "warn.*the admin listener is not on loopback.*address=0.0.0.0:15000" <<<"$out" || fail "no warning for --admin 0.0.0.0: $out"

# ---- volumes in the kubelet's layout ------------------------------------------------------
# dir/..<stamp>/<key>, dir/..data -> ..<stamp>, dir/<key> -> ..data/<key>; update = ..data swap
n=0
kube_volume() { # dir key=file ...
  local dir=$1 stamp
  shift
  n=$((n + 1))
  stamp="..$(date +%Y_%m_%d_%H_%M_%S).$n"
  mkdir -p "$dir/$stamp"
  for kv in "$@"; do cp "${kv#*=}" "$dir/$stamp/${kv%%=*}"; done
  chmod -R a+rX "$dir"
  ln -sfn "$stamp" "$dir/..data_tmp"
  mv -T "$dir/..data_tmp" "$dir/..data"
  for kv in "$@"; do [ -L "$dir/${kv%%=*}" ] || ln -s "..data/${kv%%=*}" "$dir/${kv%%=*}"; done
}

gateway_yaml() { # the VirtualService's match prefixes
  cat <<EOF
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [httpbin.example.com]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [httpbin.example.com]
    tls: {mode: SIMPLE, credentialName: httpbin-credential}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: httpbin, namespace: istio-system}
spec:
  hosts: [httpbin.example.com]
  gateways: [gw]
  http:
  - match: [$(for p in "$@"; do printf '{uri: {prefix: %s}}, ' "$p"; done)]
    route: [{destination: {host: httpbin.local, port: {number: 8000}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: httpbin, namespace: istio-system}
spec:
  hosts: [httpbin.local]
  ports: [{number: 8000, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: 18080}}]
EOF
}

chmod 755 "$WORK"
mkdir -p "$WORK/config" "$WORK/secrets/httpbin-credential"
gateway_yaml /status /delay >"$WORK/gateway-v1.yaml"
gateway_yaml /status /delay /get >"$WORK/gateway-v2.yaml"
kube_volume "$WORK/config" "gateway.yaml=$WORK/gateway-v1.yaml"
kube_volume "$WORK/secrets/httpbin-credential" "tls.crt=config/certs/httpbin.example.com.crt" "tls.key=config/certs/httpbin.example.com.key"
chmod -R a+rX "$WORK/secrets"

# ---- run: read-only root, /tmp tmpfs, no capabilities, ports on host loopback ---------------
"${PODMAN[@]}" run -d --name "$GW" \
  --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=64m \
  -e BUN_RUNTIME_TRANSPILER_CACHE_PATH=/tmp/bun-transpiler-cache \
  --cap-drop ALL --security-opt no-new-privileges \
  -p 127.0.0.1::8080 -p 127.0.0.1::8443 -p 127.0.0.1::15021 \
  -v "$WORK/config:/etc/gangway/config:ro" \
  -v "$WORK/secrets/httpbin-credential:/etc/gangway/secrets/httpbin-credential:ro" \
  "$IMAGE" >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err"; fail "podman run"; }
# the demo httpbin in the gateway's network namespace (a second container of the "pod")
"${PODMAN[@]}" run -d --no-healthcheck --name "$ID-backend" --network "container:$GW" --entrypoint bun "$IMAGE" \
  -e 'import { startHttpbin } from "/app/src/demo/httpbin.ts"; startHttpbin({ port: 18080, hostname: "127.0.0.1" })' >/dev/null 2>&1 ||
  fail "the backend container did not start"

# the container's log, whole, into a file (no pipe podman could die on)
in_log() {
  "${PODMAN[@]}" logs "$GW" >"$WORK/gw.log" 2>&1 || true
  grep -q -- "$1" "$WORK/gw.log"
}
hostport() { "${PODMAN[@]}" port "$GW" "$1/tcp" | head -n1 | sed 's/.*://'; }
HTTP=$(hostport 8080)
HTTPS=$(hostport 8443)
STATUS=$(hostport 15021)
[ -n "$HTTP" ] && [ -n "$HTTPS" ] && [ -n "$STATUS" ] || fail "ports not published: $("${PODMAN[@]}" port "$GW")"
ports=$("${PODMAN[@]}" port "$GW")
grep -qE '^(15000|15090)/' <<<"$ports" && fail "the admin or metrics port is published: $ports"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" || true; }
wait_code() { # want tries curl-args...: bounded polling, 0.5 s apart
  local want=$1 tries=$2 got=
  shift 2
  for _ in $(seq "$tries"); do
    got=$(code "$@")
    [ "$got" = "$want" ] && return 0
    sleep 0.5
  done
  say "got $got, want $want: curl $*"
  return 1
}

wait_code 200 120 "http://127.0.0.1:$STATUS/healthz/ready" || fail "the status port never turned ready"
say "ready on the status port ($(( $(date +%s) - T0 )) s)"
[ "$(code "http://127.0.0.1:$STATUS/config_dump")" = 404 ] || fail "the status port serves /config_dump"
"${PODMAN[@]}" healthcheck run "$GW" >/dev/null 2>&1 || fail "the image's HEALTHCHECK does not pass"
"${PODMAN[@]}" exec "$GW" bun -e 'const r = await fetch("http://127.0.0.1:15000/config_dump"); process.exit(r.status === 200 ? 0 : 1)' ||
  fail "the admin does not answer on 127.0.0.1:15000 inside the container"
uid=$("${PODMAN[@]}" exec "$GW" sh -c 'grep ^Uid: /proc/1/status' | awk '{print $2}')
[ "$uid" = 1000 ] || fail "the gateway runs as uid $uid, not the bun user (1000)"
in_log "not on loopback" && fail "the admin warning was logged for 127.0.0.1"

H=(-H 'Host: httpbin.example.com')
TLS=(--resolve "httpbin.example.com:$HTTPS:127.0.0.1" --cacert config/certs/example.com.crt)
wait_code 418 40 "${H[@]}" "http://127.0.0.1:$HTTP/status/418" || fail "HTTP through the image"
wait_code 200 10 "${TLS[@]}" "https://httpbin.example.com:$HTTPS/status/200" || fail "HTTPS through the image (Secret volume)"
head=$(curl -s -D - -o /dev/null "${H[@]}" "http://127.0.0.1:$HTTP/status/200")
grep -qi '^server: istio-envoy' <<<"$head" || fail "no server: istio-envoy in $head"
[ "$(code "${H[@]}" "http://127.0.0.1:$HTTP/get")" = 404 ] || fail "/get is routed before the update"
say "HTTP and TLS served ($(( $(date +%s) - T0 )) s)"

# ConfigMap update: the kubelet's ..data swap in the mounted volume
kube_volume "$WORK/config" "gateway.yaml=$WORK/gateway-v2.yaml"
wait_code 200 40 "${H[@]}" "http://127.0.0.1:$HTTP/get" || fail "the ..data swap was not reloaded"
in_log "configuration reloaded" || fail "no reload logged"
# Secret rotation: the same ..data swap in the Secret volume; new handshakes get the new certificate
"$BUN_BIN" src/main.ts certs server --ca config/certs/example.com --name httpbin.example.com \
  --org "rotated organization" --out "$WORK/rotated" >/dev/null 2>&1 || fail "gateway certs server"
kube_volume "$WORK/secrets/httpbin-credential" "tls.crt=$WORK/rotated/httpbin.example.com.crt" "tls.key=$WORK/rotated/httpbin.example.com.key"
rotated=
for _ in $(seq 40); do
  verbose=$(curl -sv -o /dev/null --max-time 10 "${TLS[@]}" "https://httpbin.example.com:$HTTPS/status/200" 2>&1 || true)
  grep -q "rotated organization" <<<"$verbose" && { rotated=yes; break; }
  sleep 0.5
done
[ -n "$rotated" ] || fail "the Secret volume's ..data swap did not rotate the certificate: $(grep -i subject <<<"$verbose")"
say "..data swaps reloaded: ConfigMap and Secret ($(( $(date +%s) - T0 )) s)"

# podman stop: SIGTERM drains (an in-flight request finishes), exit 0
curl -s -o "$WORK/inflight" -w '%{http_code}' --max-time 20 "${H[@]}" "http://127.0.0.1:$HTTP/delay/2" >"$WORK/inflight.code" &
CURL=$!
# wait for its connection to be established on the container's 8080 (0x1F90)
for _ in $(seq 100); do
  "${PODMAN[@]}" exec "$GW" cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:1F90$/ && $4 == "01" { found = 1 } END { exit !found }' && break
  sleep 0.1
done
sleep 0.3 # the gateway reads the request head and forwards it (the backend holds it 2 s)
"${PODMAN[@]}" stop -t 20 "$GW" >/dev/null 2>&1 || fail "podman stop"
wait "$CURL" || true
exit_code=$("${PODMAN[@]}" inspect "$GW" --format '{{.State.ExitCode}}')
[ "$exit_code" = 0 ] || fail "exit code $exit_code after podman stop"
in_log "draining signal=SIGTERM" || fail "no drain on podman stop"
[ "$(cat "$WORK/inflight.code")" = 200 ] || fail "the in-flight request got $(cat "$WORK/inflight.code") during the drain"

say "PASS in $(( $(date +%s) - T0 )) s (build, no keys, non-root, read-only root, health check, status port, HTTP, TLS, ConfigMap and Secret ..data swaps, drain on stop)"
