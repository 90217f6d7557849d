#!/usr/bin/env bash
# crypto_bench.sh: ferry's primitives (bench/crypto_bench, one thread) and, in the same run, the
# anchor `openssl speed` for X25519 and Ed25519 (one thread), so that BENCHMARKS.md can give
# ratios rather than absolute times on a shared machine.
#
#   bench/crypto_bench.sh [BUILD_DIR]     (default build/release)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
BIN="$BUILD/bench/crypto_bench"
[[ -x $BIN ]] || { echo "crypto_bench.sh: $BIN not built (cmake --build $BUILD --target crypto_bench)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "crypto_bench.sh: no openssl command on PATH" >&2; exit 2; }

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# ferry $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(openssl version)"
"$BIN" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=1 --benchmark_format=console 2>/dev/null |
  awk '/_median/ { name=$1; ns=$2; unit=$3;
         f = (unit=="ns") ? 1 : (unit=="us") ? 1e3 : (unit=="ms") ? 1e6 : 1e9;
         printf "ferry  %-34s %12.0f ops/s\n", name, 1e9 / (ns * f) }'
# openssl speed: "X25519 ... op/s" lines; -seconds keeps each test short.
openssl speed -seconds 3 ecdhx25519 2>/dev/null | awk '/X25519\)/ { printf "openssl %-33s %12.0f ops/s\n", "X25519 derive", $(NF) }'
openssl speed -seconds 3 ed25519 2>/dev/null | awk '/Ed25519\)/ { printf "openssl %-33s %12.0f sign/s %12.0f verify/s\n", "Ed25519", $(NF-1), $(NF) }'
