#!/usr/bin/env bash
# The copy engine's benchmark suite: ferry against pgloader, pgcopydb and pg_dump/pg_restore on
# one dataset (bench/dataset.sh: the same rows in SQLite, MariaDB and PostgreSQL), all measured
# in the same run, on private PostgreSQL 15 and MariaDB 10.11 servers on loopback.
#
#   bench/suite.sh                  # full scale: 10,000,000 rows, about 2 GB (12 min on an idle
#                                   # 2-core machine, 20-35 min while it builds other things)
#   SCALE=0.02 bench/suite.sh       # 1/50 scale (200,000 rows), for a quick check
#   ROWS=N bench/suite.sh           # or name the total row count
#
#   FERRY_BIN=path   the ferry binary (default build/release/src/cli/ferry)
#   JOBS=2           ferry --jobs, pgcopydb --table-jobs/--index-jobs, pg_dump/pg_restore -j
#   SEED=42          the dataset's seed
#   BENCH_TMP=/tmp   where the scratch directory goes (needs about 12 GB free at full scale)
#   RESULTS_DIR=dir  where results.md, results.tsv and the tools' logs are kept
#                    (default /tmp/ferry-suite-<date>)
#   PG_DUMP_GZIP=0   skip the pg_dump run with its default compression (the -Z0 one always runs)
#   PGLOADER_HEAP_MB=4096  pgloader's SBCL heap (--dynamic-space-size) and
#   PGLOADER_WITH="prefetch rows = 10000"  its --with: at full scale, Debian's pgloader with its
#                    defaults (1 GB heap, 100,000 rows prefetched) dies with "Heap exhausted, game
#                    over", and from MariaDB even with a 4 GB heap
#   CASES=abcd       the cases to run (d needs a and c, which it adds)
#   TOOL_TIMEOUT=1800  seconds after which a tool's run is killed and counted as failed
#   FERRY_REV=text   what ferry was built from (a commit), for the report
#   KEEP=1           keep the scratch directory (servers are stopped all the same)
#
# Cases (each tool's time is wall clock, its memory the peak RSS of its largest process, from
# /usr/bin/time; the servers' memory is not counted for anyone):
#   a. SQLite -> PostgreSQL: ferry copy --jobs 2 (copy + verification) vs pgloader (copy only)
#   b. MySQL  -> PostgreSQL: the same, from MariaDB
#   c. PostgreSQL -> PostgreSQL: ferry copy --no-verify, then ferry verify, vs pgcopydb clone and
#      pg_dump -Fd | pg_restore; and ferry copy with its verification, whose report gives the
#      verification's share of the run
#   d. ferry verify of identical databases (PostgreSQL and SQLite sources against ferry's
#      PostgreSQL copies), then with 10 planted changes: must exit 1 naming exactly those rows
# After every copy the target's row counts must equal the source's. Exit status: 0 when every
# tool succeeded and every check held, 1 otherwise (the table says which), 2 or 3 on a setup error.
set -euo pipefail
# shellcheck source=bench/dataset.sh
source "$(dirname "${BASH_SOURCE[0]}")/dataset.sh"

if [[ -n ${ROWS:-} ]]; then :
elif [[ -n ${SCALE:-} ]]; then ROWS=$(bc <<<"10000000 * $SCALE / 1")
else ROWS=10000000; fi
JOBS=${JOBS:-2}
CASES=${CASES:-abcd}
[[ $CASES != *d* ]] || CASES+=ac
SEED=${SEED:-42}
FERRY="${FERRY_BIN:-$BENCH_ROOT/build/release/src/cli/ferry}"
RESULTS_DIR=${RESULTS_DIR:-/tmp/ferry-suite-$(date +%Y%m%d-%H%M%S)}
[[ -x $FERRY ]] || { echo "build ferry first (./setup.sh build) or set FERRY_BIN" >&2; exit 2; }
FERRY=$(realpath "$FERRY")
export PATH="$PG_BIN:$PATH"  # pgcopydb runs pg_dump and pg_restore from PATH: PostgreSQL 15's

bench_install_anchors
mkdir -p "$RESULTS_DIR"
bench_init "$(mktemp -d "${BENCH_TMP:-/tmp}/ferry-suite-XXXXXX")" "$RESULTS_DIR/logs"
RESULTS="$RESULTS_DIR/results.tsv"
printf 'case\ttool\tseconds\tpeak_kb\tstatus\tcommand\tload\tcpu_seconds\n' >"$RESULTS"
FAILURES=0

# record CASE TOOL STATUS [SECONDS KB]: one line of results (from the last `timed` by default)
record() {
  local case=$1 tool=$2 status=$3 seconds=${4:-$T_SECONDS} kb=${5:-$T_KB} cpu=${6:-$T_CPU}
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$tool" "$seconds" "$kb" "$status" "${LAST_CMD:-}" "$T_LOAD" "$cpu" >>"$RESULTS"
  [[ $status == ok ]] || { FAILURES=$((FAILURES + 1)); log "FAILED: $case / $tool: $status"; }
}
# run LABEL CMD...: timed, remembering the command line (passwords masked) for the report
run() {
  local label=$1; shift
  LAST_CMD=$(printf '%q ' "$@" | sed -e 's/ $//' -e "s|$BENCH_DIR|\$W|g" -e "s|${MY_PASSWORD:-@@}|***|g")
  timed "$label" "$@"
}
# status_of RC EXPECTED_RC COUNTS_LABEL GOT: "ok" or what went wrong
status_of() {
  local rc=$1 want=$2 got=${3:-}
  if [[ $rc != "$want" ]]; then echo "exit $rc (log: logs/$4.log)"; return; fi
  if [[ -n $got && $got != "$EXPECTED" ]]; then echo "row counts differ: $(tr '\n' ' ' <<<"$got")"; return; fi
  echo ok
}
new_db() { psql_ postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"; }
drop_db() { psql_ postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }
store() { echo "sqlite://$BENCH_DIR/store-$1.db"; }

log "scale: $ROWS rows, seed $SEED, jobs $JOBS, scratch $BENCH_DIR, results $RESULTS_DIR"
pg_start
mysql_start
dataset_generate "$ROWS" "$SEED"
dataset_load_pg src &
load_pg=$!
dataset_load_mysql src
wait "$load_pg" || die "loading PostgreSQL failed"
EXPECTED=$(dataset_counts "$ROWS")
for got in "$(count_sqlite "$BENCH_DIR/source.db")" "$(count_mysql src)" "$(count_pg src)"; do
  [[ $got == "$EXPECTED" ]] || die "a source does not hold the generated rows: $got"
done
SIZES="SQLite $(size_sqlite "$BENCH_DIR/source.db") MB, MariaDB $(size_mysql src) MB (InnoDB data + index), PostgreSQL $(size_pg src) MB"
log "dataset: $(tr '\n' ' ' <<<"$EXPECTED"); $SIZES"
SQLITE_URL="sqlite://$BENCH_DIR/source.db"
MY_SRC="$MY_URL/src"
PG_SRC="$PG_URL/src"

PGLOADER=(pgloader --dynamic-space-size "${PGLOADER_HEAP_MB:-4096}")
PGLOADER_WITH=${PGLOADER_WITH-prefetch rows = 10000}
[[ -z $PGLOADER_WITH ]] || PGLOADER+=(--with "$PGLOADER_WITH")

# --- a. SQLite -> PostgreSQL ---------------------------------------------------------------------
if [[ $CASES == *a* ]]; then
new_db f_sqlite
run a-ferry "$FERRY" --store "$(store a)" copy --jobs "$JOBS" --from "$SQLITE_URL" --to "$PG_URL/f_sqlite"
record a "ferry copy --jobs $JOBS (+ verify)" "$(status_of "$T_RC" 0 "$(count_pg f_sqlite)" a-ferry)"
new_db l_sqlite
run a-pgloader "${PGLOADER[@]}" "$SQLITE_URL" "$PG_URL/l_sqlite"
record a "pgloader" "$(status_of "$T_RC" 0 "$(count_pg l_sqlite)" a-pgloader)"
drop_db l_sqlite

fi

# --- b. MySQL -> PostgreSQL ----------------------------------------------------------------------
if [[ $CASES == *b* ]]; then
new_db f_mysql
run b-ferry "$FERRY" --store "$(store b)" copy --jobs "$JOBS" --from "$MY_SRC" --to "$PG_URL/f_mysql"
record b "ferry copy --jobs $JOBS (+ verify)" "$(status_of "$T_RC" 0 "$(count_pg f_mysql)" b-ferry)"
drop_db f_mysql
new_db l_mysql
run b-pgloader "${PGLOADER[@]}" "$MY_SRC" "$PG_URL/l_mysql"
# pgloader puts MySQL database `src` in schema src
record b "pgloader" "$(status_of "$T_RC" 0 "$(count_pg l_mysql src)" b-pgloader)"
drop_db l_mysql

fi

# --- c. PostgreSQL -> PostgreSQL -----------------------------------------------------------------
if [[ $CASES == *c* ]]; then
new_db f_pg
run c-ferry "$FERRY" --store "$(store c)" copy --jobs "$JOBS" --no-verify --from "$PG_SRC" --to "$PG_URL/f_pg"
record c "ferry copy --jobs $JOBS --no-verify" "$(status_of "$T_RC" 0 "$(count_pg f_pg)" c-ferry)"
run c-ferry-verify "$FERRY" verify --from "$PG_SRC" --to "$PG_URL/f_pg"
record c "ferry verify" "$(status_of "$T_RC" 0 "" c-ferry-verify)"
# The copy as users run it, verification included: the rows are hashed as they stream, then
# only the target is scanned. Its report says how long that verification took.
new_db f_pg2
run c-ferry-verified "$FERRY" --store "$(store c2)" copy --jobs "$JOBS" --json --from "$PG_SRC" --to "$PG_URL/f_pg2"
record c "ferry copy --jobs $JOBS (+ verify)" "$(status_of "$T_RC" 0 "$(count_pg f_pg2)" c-ferry-verified)"
C_IN_COPY=$(grep -o '"verification_seconds": [0-9.e+-]*' "$BENCH_LOGS/c-ferry-verified.log" | awk '{print $2}' || true)
[[ -z $C_IN_COPY ]] || record c "  of which its verification (its report's verification_seconds)" ok "$C_IN_COPY" 0 0
drop_db f_pg2

new_db c_pgcopydb
run c-pgcopydb pgcopydb clone --source "$PG_SRC" --target "$PG_URL/c_pgcopydb" \
  --dir "$BENCH_DIR/pgcopydb" --table-jobs "$JOBS" --index-jobs "$JOBS" --no-owner --no-acl
record c "pgcopydb clone" "$(status_of "$T_RC" 0 "$(count_pg c_pgcopydb)" c-pgcopydb)"
drop_db c_pgcopydb
rm -rf "$BENCH_DIR/pgcopydb"

# pg_dump -Fd | pg_restore: the directory format cannot be piped, so dump then restore, timed
# separately and added up. -Z0 (no compression: the faster on two cores) always; gzip (pg_dump's
# default) unless PG_DUMP_GZIP=0.
dump_restore() {  # dump_restore LABEL TOOL_NAME [pg_dump flags...]
  local label=$1 name=$2; shift 2
  new_db "$label"
  rm -rf "$BENCH_DIR/dump"
  run "c-$label-dump" pg_dump -h 127.0.0.1 -p "$PG_PORT" -U ferry -Fd -j "$JOBS" "$@" -f "$BENCH_DIR/dump" src
  local dump_rc=$T_RC dump_s=$T_SECONDS dump_kb=$T_KB dump_cmd=$LAST_CMD dump_cpu=$T_CPU
  run "c-$label-restore" pg_restore -h 127.0.0.1 -p "$PG_PORT" -U ferry -j "$JOBS" --no-owner --no-acl \
    -d "$label" "$BENCH_DIR/dump"
  LAST_CMD="$dump_cmd && $LAST_CMD"
  local rc=$T_RC; ((dump_rc == 0)) || rc=$dump_rc
  record c "$name" "$(status_of "$rc" 0 "$(count_pg "$label")" "c-$label-restore")" \
    "$(bc <<<"$dump_s + $T_SECONDS")" "$((dump_kb > T_KB ? dump_kb : T_KB))" "$(bc <<<"$dump_cpu + $T_CPU")"
  record c "  of which pg_dump" ok "$dump_s" "$dump_kb" "$dump_cpu"
  drop_db "$label"
  rm -rf "$BENCH_DIR/dump"
}
dump_restore d_pg_z0 "pg_dump -Fd -Z0 + pg_restore" -Z0
if [[ ${PG_DUMP_GZIP:-1} != 0 ]]; then dump_restore d_pg_gz "pg_dump -Fd (gzip) + pg_restore"; fi

fi

# --- d. verification -----------------------------------------------------------------------------
if [[ $CASES == *d* ]]; then
# Anchor for the identical PostgreSQL pair: reading both databases once, in parallel, through
# COPY TO STDOUT (what any comparison must at least do), with nothing compared.
scan_floor() {
  local db t
  for db in src f_pg; do
    for t in "${DATASET_TABLES[@]}"; do psql_ "$db" -c "COPY $t TO STDOUT" >/dev/null || return 1; done &
  done
  wait -n && wait -n
}
export -f scan_floor psql_
export PG_BIN PG_PORT DATASET_TABLES_STR="${DATASET_TABLES[*]}"
run d-scan-floor bash -c 'DATASET_TABLES=($DATASET_TABLES_STR); scan_floor'
LAST_CMD="for db in src f_pg: (for t in ${DATASET_TABLES[*]}: psql -d \$db -c 'COPY \$t TO STDOUT' >/dev/null) &  # both databases at once"
record d "anchor: read both sides (COPY TO STDOUT, 2 in parallel)" "$(status_of "$T_RC" 0 "" d-scan-floor)"
# PG <-> PG identical: the c-ferry-verify run above; SQLite <-> PG identical:
run d-verify-sqlite "$FERRY" verify --from "$SQLITE_URL" --to "$PG_URL/f_sqlite"
record d "ferry verify SQLite -> PG, identical" "$(status_of "$T_RC" 0 "" d-verify-sqlite)"

# Plant 10 changes (4 narrow, 3 wide_text, 2 decimals, 1 blobs), chosen from the seed.
RANDOM=$SEED
declare -A PLANT=()
PLANTED=()
for spec in narrow:4 wide_text:3 decimals:2 blobs:1; do
  t=${spec%:*}
  n=$(awk -v t="$t" '$1 == t {print $2}' <<<"$EXPECTED")
  ids=()
  while ((${#ids[@]} < ${spec#*:})); do
    id=$(((RANDOM * 32768 + RANDOM) % n + 1))
    [[ -z ${PLANT[$t:$id]:-} ]] || continue
    PLANT[$t:$id]=1
    ids+=("$id")
    PLANTED+=("$t:$id")
  done
done
declare -A PLANT_IDS=()
for p in "${PLANTED[@]}"; do t=${p%:*}; PLANT_IDS[$t]=${PLANT_IDS[$t]:+${PLANT_IDS[$t]},}${p#*:}; done
PLANT_SQL="UPDATE narrow SET b = b + 1000 WHERE id IN (${PLANT_IDS[narrow]});
UPDATE wide_text SET body = body || ' edited' WHERE id IN (${PLANT_IDS[wide_text]});
UPDATE decimals SET price = CASE WHEN price >= 0.01 THEN price - 0.01 ELSE price + 0.01 END
  WHERE id IN (${PLANT_IDS[decimals]});
UPDATE blobs SET data = COALESCE(data, '\\x'::bytea) || '\\x00'::bytea WHERE id IN (${PLANT_IDS[blobs]});"
psql_ f_pg -c "$PLANT_SQL"
psql_ f_sqlite -c "$PLANT_SQL"
psql_ postgres -c "VACUUM" >/dev/null
for db in f_pg f_sqlite; do psql_ "$db" -c "VACUUM (ANALYZE)"; done
WANT=$(printf '%s\n' "${PLANTED[@]}" | sort)
log "planted 10 changes: $(tr '\n' ' ' <<<"$WANT")"

# The rows a `ferry verify` log names as changed/missing/extra, as table:id, sorted.
listed_rows() {
  awk '/^  (DIFFERENT|ok|MISSING|EXTRA) / {t = $2; sub(/:$/, "", t)}
       /^ +(changed|missing|extra) +id=/ {split($2, kv, "="); print t ":" kv[2] " " $1}' "$1" |
    sort | awk '{print $1 (($2 == "changed") ? "" : " (" $2 ")")}'
}
check_ten() {  # check_ten LABEL: "ok" when the run exited 1 and named exactly the planted rows
  local got
  got=$(listed_rows "$BENCH_LOGS/$1.log")
  if [[ $T_RC != 1 ]]; then echo "exit $T_RC, want 1 (log: logs/$1.log)"
  elif [[ $got != "$WANT" ]]; then echo "listed $(wc -l <<<"$got") rows, not the 10 planted: $(tr '\n' ' ' <<<"$got")"
  else echo ok; fi
}
run d-verify-pg-10 "$FERRY" verify --from "$PG_SRC" --to "$PG_URL/f_pg"
record d "ferry verify PG -> PG, 10 changed rows" "$(check_ten d-verify-pg-10)"
run d-verify-sqlite-10 "$FERRY" verify --from "$SQLITE_URL" --to "$PG_URL/f_sqlite"
record d "ferry verify SQLite -> PG, 10 changed rows" "$(check_ten d-verify-sqlite-10)"

fi

# --- report --------------------------------------------------------------------------------------
seconds_of() { awk -F'\t' -v c="$1" -v t="$2" '$1 == c && $2 == t && $5 == "ok" {print $3}' "$RESULTS"; }
ratio() {  # ratio A_SECONDS B_SECONDS
  if [[ -n $1 && -n $2 ]]; then printf '%.2f' "$(bc -l <<<"$1 / $2")"; else echo "n/a"; fi
}
a_f=$(seconds_of a "ferry copy --jobs $JOBS (+ verify)"); a_l=$(seconds_of a pgloader)
b_f=$(seconds_of b "ferry copy --jobs $JOBS (+ verify)"); b_l=$(seconds_of b pgloader)
c_f=$(seconds_of c "ferry copy --jobs $JOBS --no-verify"); c_v=$(seconds_of c "ferry verify")
c_c=$(seconds_of c "pgcopydb clone"); c_d=$(seconds_of c "pg_dump -Fd -Z0 + pg_restore")
c_fv=$( [[ -n $c_f && -n $c_v ]] && bc <<<"$c_f + $c_v" || true)
c_cv=$(seconds_of c "ferry copy --jobs $JOBS (+ verify)")
c_iv=$(seconds_of c "  of which its verification (its report's verification_seconds)")
c_load=$( [[ -n $c_cv && -n $c_iv ]] && bc <<<"$c_cv - $c_iv" || true)
d_s=$(seconds_of d "anchor: read both sides (COPY TO STDOUT, 2 in parallel)")
d_q=$(seconds_of d "ferry verify SQLite -> PG, identical")
d_p10=$(seconds_of d "ferry verify PG -> PG, 10 changed rows")
d_q10=$(seconds_of d "ferry verify SQLite -> PG, 10 changed rows")

{
  echo "## Results: $ROWS rows ($(tr '\n' ' ' <<<"$EXPECTED" | sed 's/ $//'))"
  echo
  echo "Dataset: $SIZES. Seed $SEED, jobs $JOBS, $(date -u +%Y-%m-%d)."
  echo
  echo "| case | tool | time (s) | tool CPU (s) | peak RSS (MB) | status | load avg before |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'\t' 'NR > 1 {printf "| %s | %s | %.2f | %.1f | %d | %s | %s |\n", $1, $2, $3, $8, $4 / 1024, $5, $7}' "$RESULTS"
  echo
  echo "| ratio | value |"
  echo "|---|---|"
  echo "| a. SQLite → PG: ferry (copy + verify) / pgloader (copy) | $(ratio "$a_f" "$a_l") |"
  echo "| b. MySQL → PG: ferry (copy + verify) / pgloader (copy) | $(ratio "$b_f" "$b_l") |"
  echo "| c. PG → PG: ferry copy --no-verify / pgcopydb clone | $(ratio "$c_f" "$c_c") |"
  echo "| c. PG → PG: ferry copy --no-verify / pg_dump -Z0 + pg_restore | $(ratio "$c_f" "$c_d") |"
  echo "| c. PG → PG: ferry (copy --no-verify + verify) / pgcopydb clone | $(ratio "$c_fv" "$c_c") |"
  echo "| c. PG → PG: ferry copy's verification / the rest of that copy (goal ≤ 0.5) | $(ratio "$c_iv" "$c_load") |"
  echo "| c. PG → PG: ferry verify (both sides scanned) / ferry copy --no-verify | $(ratio "$c_v" "$c_f") |"
  echo "| d. PG ↔ PG identical: ferry verify / reading both sides | $(ratio "$c_v" "$d_s") |"
  echo "| d. SQLite ↔ PG identical: ferry verify / ferry copy (a, copy + verify) | $(ratio "$d_q" "$a_f") |"
  echo "| d. PG ↔ PG: ferry verify with 10 changes / identical | $(ratio "$d_p10" "$c_v") |"
  echo "| d. SQLite ↔ PG: ferry verify with 10 changes / identical | $(ratio "$d_q10" "$d_q") |"
  echo
  echo "Commands (\$W is the scratch directory; URLs as run, password masked):"
  echo
  echo '```'
  awk -F'\t' 'NR > 1 && $6 != "" && !seen[$6]++ {print $6}' "$RESULTS"
  echo '```'
  echo
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GB RAM, kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")."
  echo
  echo "Versions: $("$FERRY" --version 2>&1 | head -1)${FERRY_REV:+ ($FERRY_REV)};" \
    "pgloader $(pgloader --version 2>&1 | head -1 | awk '{print $3}' | tr -d '"') (Debian $(dpkg-query -W -f='${Version}' pgloader));" \
    "pgcopydb $(dpkg-query -W -f='${Version}' pgcopydb);" \
    "$(pg_dump --version); PostgreSQL server $(pg_value postgres 'SHOW server_version');" \
    "MariaDB $(mysql_ -N -e 'SELECT VERSION()'); SQLite $(sqlite3 --version | awk '{print $1}')."
  echo
  echo "Servers: PostgreSQL with fsync=off, synchronous_commit=off, full_page_writes=off," \
    "shared_buffers=1GB, max_wal_size=8GB; MariaDB with innodb_buffer_pool_size=2G," \
    "innodb_flush_log_at_trx_commit=0, doublewrite off, no binary log, net_read_timeout and" \
    "net_write_timeout 3600 s (pgloader's reads stall past the 60 s default). Both on loopback, on the" \
    "same machine as the tools. Each run starts after \`sync\` and a PostgreSQL CHECKPOINT." \
    "pgloader runs as \`$(printf '%q ' "${PGLOADER[@]}" | sed 's/ $//')\`, its other load options (workers, batches) at their" \
    "defaults; pgcopydb with --split-tables-larger-than unset (one COPY" \
    "per table); pg_restore creates the primary keys after the load, ferry before it."
} >"$RESULTS_DIR/results.md"
cat "$RESULTS_DIR/results.md"
echo
log "results in $RESULTS_DIR (results.md, results.tsv, logs/)"
((FAILURES == 0)) || { log "$FAILURES failure(s)"; exit 1; }
