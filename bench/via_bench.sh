#!/usr/bin/env bash
# via_bench.sh: `ferry copy` PostgreSQL -> PostgreSQL three ways in the same run, on one private
# PostgreSQL 15 server on loopback (BENCHMARKS.md, "Copy through the relay"):
#   direct  the copy connects to the target database itself (no relay: the anchor);
#   tunnel  through `ferry relay connect` + `ferry relay serve --forward` (the database protocol
#           inside the post-quantum channel);
#   via     `ferry copy --via` to `ferry relay serve --targets` (the copy's own batches, zstd).
# Each copy includes its verification, which reads the target back through the same path.
#
#   bench/via_bench.sh [BUILD_DIR] [ROWS] [RUNS]     (default build/release, 500000, 3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
ROWS="${2:-500000}"
RUNS="${3:-3}"
FERRY="$BUILD/src/cli/ferry"
[[ -x $FERRY ]] || { echo "via_bench.sh: $FERRY not built" >&2; exit 2; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
W=$(mktemp -d /tmp/ferry-via-bench-XXXXXX)
bench_init "$W"
pg_start
stop_all() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; bench_stop; rm -rf "$W"; }
trap stop_all EXIT

psql_ postgres -c "CREATE DATABASE src"
psql_ src -c "CREATE TABLE account (id bigint PRIMARY KEY, owner text NOT NULL, iban text,
  balance numeric(14,2), opened date, updated timestamptz, note text);
  INSERT INTO account SELECT g, 'owner ' || g, 'DE' || lpad((g * 7919 % 1000000007)::text, 20, '0'),
    (g * 37 % 100000000) / 100.0, date '2000-01-01' + (g % 9000)::int,
    timestamptz '2024-01-01 00:00:00Z' + g * interval '1 second', repeat('x', (g % 50)::int)
  FROM generate_series(1::bigint, $ROWS) g; ANALYZE account;"

"$FERRY" crypto keygen --out "$W/target.key" > "$W/target.rcpt" 2>/dev/null
"$FERRY" crypto keygen --out "$W/source.key" > "$W/source.rcpt" 2>/dev/null
FP=$(python3 -c "import json;print(json.load(open('$W/source.key'))['fingerprint'])")
RS=$(free_port)
"$FERRY" --log-level error relay serve --listen 127.0.0.1:$RS --identity "$W/target.key" \
  --allow "$FP" --forward 127.0.0.1:$PG_PORT > /dev/null 2>&1 &
RC=$(free_port)
"$FERRY" --log-level error relay connect --listen 127.0.0.1:$RC --identity "$W/source.key" \
  --to 127.0.0.1:$RS --peer "$W/target.rcpt" > /dev/null 2>&1 &
RV=$(free_port)
"$FERRY" --log-level error relay serve --listen 127.0.0.1:$RV --identity "$W/target.key" \
  --allow "$FP" --targets "$PG_URL/" > /dev/null 2>&1 &
sleep 1

one() {  # LABEL TARGET_URL [extra flags]: prints the seconds of one copy into a fresh database
  local label=$1 url=$2; shift 2
  psql_ postgres -c "DROP DATABASE IF EXISTS dst" -c "CREATE DATABASE dst" > /dev/null
  rm -f "$W/store.db"
  { /usr/bin/time -f %e "$FERRY" --log-level error --store "sqlite://$W/store.db" copy \
      --from "$PG_URL/src" --to "$url" --jobs 2 "$@" > "$W/$label.out"; } 2>&1 | tail -1
}
echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $ROWS rows, $(pg_value src "SELECT pg_size_pretty(pg_total_relation_size('account'))")"
for i in $(seq "$RUNS"); do
  d=$(one direct "$PG_URL/dst")
  t=$(one tunnel "postgresql://ferry@127.0.0.1:$RC/dst")
  v=$(one via "$PG_URL/dst" --via "ferry://127.0.0.1:$RV" --identity "$W/source.key" --peer "$W/target.rcpt")
  printf 'run %d: direct %s s, tunnel %s s (%.2fx), via %s s (%.2fx)\n' "$i" "$d" "$t" \
    "$(echo "$t / $d" | bc -l)" "$v" "$(echo "$v / $d" | bc -l)"
done
grep "through ferry" "$W/via.out" || true
