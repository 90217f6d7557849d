#!/usr/bin/env bash
# Copy throughput, SQLite -> PostgreSQL: ferry copy (which includes its verification) against
# pgloader (copy only) on the same generated table, in the same run, on one private PostgreSQL
# 15 server on loopback. Results go in BENCHMARKS.md.
#
#   bench/copy_bench.sh [ROWS]        # default 1000000; needs ./setup.sh build first
#   JOBS=2 bench/copy_bench.sh        # ferry's --jobs (default 2, the machine's cores)
#
# Installs the anchor from Debian if it is missing (scripts/bench-packages.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS="${1:-1000000}"
JOBS="${JOBS:-2}"
FERRY="${FERRY_BIN:-$ROOT/build/release/src/cli/ferry}"
PG_BIN=/usr/lib/postgresql/15/bin
[[ -x $FERRY ]] || { echo "build ferry first: ./setup.sh build" >&2; exit 2; }

missing=()
while read -r pkg _; do
  [[ -z $pkg || $pkg == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$ROOT/scripts/bench-packages.txt"
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || { echo "missing ${missing[*]}: sudo apt-get install ${missing[*]}" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

WORK=$(mktemp -d /tmp/ferry-copy-bench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[[ $(id -u) == 0 ]] && chown nobody "$WORK"
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U ferry --auth=trust --no-sync -E UTF8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
  -o "-p $PORT -c listen_addresses=127.0.0.1 -k $WORK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB" \
  start >/dev/null
for db in ferry_target pgloader_target; do
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U ferry -d postgres -c "CREATE DATABASE $db" >/dev/null
done

echo "generating $ROWS rows in SQLite..." >&2
sqlite3 "$WORK/source.db" "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, amount NUMERIC(12,2),
  at DATETIME, ratio REAL, note TEXT);
  WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $ROWS)
  INSERT INTO t SELECT x, 'customer ' || x, (x * 7) || '.' || printf('%02d', x % 100),
  datetime(1700000000 + x, 'unixepoch'), x / 8.0,
  CASE WHEN x % 10 = 0 THEN NULL ELSE 'note ' || (x % 1000) END FROM g;"

seconds() { local start=$EPOCHREALTIME; "$@" >"$WORK/out.log" 2>&1 || { cat "$WORK/out.log" >&2; exit 1; }; echo "$EPOCHREALTIME - $start" | bc; }
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

ferry_s=$(seconds "$FERRY" --store "sqlite://$WORK/ferry.db" copy --jobs "$JOBS" \
  --from "sqlite://$WORK/source.db" --to "postgresql://ferry@127.0.0.1:$PORT/ferry_target")
pgloader_s=$(seconds pgloader "$WORK/source.db" "postgresql://ferry@127.0.0.1:$PORT/pgloader_target")
verify_s=$(seconds "$FERRY" verify --from "sqlite://$WORK/source.db" \
  --to "postgresql://ferry@127.0.0.1:$PORT/ferry_target")
"$PG_BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U ferry -d ferry_target -c "DROP TABLE t" >/dev/null
ferry_rss=$(rss "$FERRY" --store "sqlite://$WORK/ferry2.db" copy --jobs "$JOBS" --from "sqlite://$WORK/source.db" \
  --to "postgresql://ferry@127.0.0.1:$PORT/ferry_target" --no-verify)
"$PG_BIN/psql" -q -h 127.0.0.1 -p "$PORT" -U ferry -d pgloader_target -c "DROP TABLE t" >/dev/null
pgloader_rss=$(rss pgloader "$WORK/source.db" "postgresql://ferry@127.0.0.1:$PORT/pgloader_target")

printf 'rows                          %s\n' "$ROWS"
printf 'ferry copy + verify --jobs %s %.2f s   peak %s KB (copy alone)\n' "$JOBS" "$ferry_s" "$ferry_rss"
printf 'ferry verify alone            %.2f s\n' "$verify_s"
printf 'pgloader %-20s %.2f s   peak %s KB\n' "$(pgloader --version 2>/dev/null | head -1 | awk '{print $3}')" "$pgloader_s" "$pgloader_rss"
printf 'ratio (ferry copy+verify / pgloader copy) %.2f\n' "$(echo "$ferry_s / $pgloader_s" | bc -l)"
