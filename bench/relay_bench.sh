#!/usr/bin/env bash
# relay_bench.sh: throughput of the ferry relay against stunnel (OpenSSL TLS 1.3, AES-256-GCM,
# ECDHE, a certificate) in the same topology and the same run: sender -> local end -> TLS ->
# remote end -> sink, all on loopback. Each pushes BYTES (default 1 GiB) through three times.
#
#   bench/relay_bench.sh [BUILD_DIR] [MIB]          (default build/release, 1024)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
MIB="${2:-1024}"
FERRY="$BUILD/src/cli/ferry"
for tool in stunnel socat openssl; do
  command -v $tool >/dev/null || { echo "relay_bench.sh: $tool is not installed (scripts/bench-packages.txt)" >&2; exit 2; }
done
[[ -x $FERRY ]] || { echo "relay_bench.sh: $FERRY not built" >&2; exit 2; }
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"' EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

SINK=$(port)
socat -u TCP-LISTEN:$SINK,reuseaddr,fork OPEN:/dev/null &

# ferry relay
"$FERRY" crypto keygen --out "$T/server.key" > "$T/server.rcpt" 2>/dev/null
"$FERRY" crypto keygen --out "$T/client.key" > "$T/client.rcpt" 2>/dev/null
FP=$(python3 -c "import json,sys;print(json.load(open('$T/client.key'))['fingerprint'])")
RS=$(port); RC=$(port)
"$FERRY" --log-level error relay serve --listen 127.0.0.1:$RS --identity "$T/server.key" --allow "$FP" --forward 127.0.0.1:$SINK > /dev/null 2>&1 &
"$FERRY" --log-level error relay connect --listen 127.0.0.1:$RC --identity "$T/client.key" --to 127.0.0.1:$RS --peer "$T/server.rcpt" > /dev/null 2>&1 &

# stunnel pair
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench \
  -keyout "$T/st.key" -out "$T/st.crt" 2>/dev/null
SS=$(port); SC=$(port)
cat > "$T/server.conf" <<CONF
foreground = yes
pid =
[s]
accept = 127.0.0.1:$SS
connect = 127.0.0.1:$SINK
cert = $T/st.crt
key = $T/st.key
sslVersionMin = TLSv1.3
ciphersuites = TLS_AES_256_GCM_SHA384
CONF
cat > "$T/client.conf" <<CONF
foreground = yes
pid =
[c]
client = yes
accept = 127.0.0.1:$SC
connect = 127.0.0.1:$SS
sslVersionMin = TLSv1.3
ciphersuites = TLS_AES_256_GCM_SHA384
CONF
stunnel "$T/server.conf" > /dev/null 2>&1 &
stunnel "$T/client.conf" > /dev/null 2>&1 &
sleep 1

push() { # port -> seconds
  local start end
  start=$(date +%s.%N)
  head -c "${MIB}M" /dev/zero | socat -u - TCP:127.0.0.1:$1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $MIB MiB per run, $(stunnel -version 2>&1 | grep -m1 -o 'stunnel [0-9.]*'), $(openssl version)"
for i in 1 2 3; do
  f=$(push $RC); s=$(push $SC)
  printf 'run %d: ferry relay %.3f s (%.0f MiB/s), stunnel %.3f s (%.0f MiB/s), ratio %.2f\n' $i "$f" "$(echo "$MIB / $f" | bc -l)" "$s" "$(echo "$MIB / $s" | bc -l)" "$(echo "$s / $f" | bc -l)"
done
