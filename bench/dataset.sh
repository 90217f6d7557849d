#!/usr/bin/env bash
# The benchmark dataset: the same rows, from a seed, in SQLite, MariaDB and PostgreSQL.
# bench/gen_dataset.c writes each table once as tab-separated text (PostgreSQL COPY and MariaDB
# LOAD DATA read the same file) and once into an SQLite file; nothing loops over rows in a
# script. ROWS is the total over four tables (60% narrow, 15% wide_text, 20% decimals, 5% blobs,
# see gen_dataset.c); 10,000,000 rows make about 2 GB.
#
# Sourced by bench/suite.sh for its functions. Run alone, it is a self-check of the dataset:
#
#   bench/dataset.sh [ROWS]     # default 200000: generate, load into private PostgreSQL and
#                               # MariaDB servers, print counts and sizes, and (when ferry is
#                               # built: FERRY_BIN) check with `ferry verify` that the three
#                               # sources hold the same rows; then tear everything down
#   SEED=42 (default), BENCH_TMP=/tmp (where the scratch directory goes), KEEP=1 keeps it

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DATASET_TABLES=(narrow wide_text decimals blobs)

DATASET_PG_SCHEMA="
CREATE TABLE narrow (id bigint NOT NULL, a integer NOT NULL, b integer NOT NULL, c bigint NOT NULL);
CREATE TABLE wide_text (id bigint NOT NULL, title varchar(200) NOT NULL, body text NOT NULL,
  tags varchar(255), note text);
CREATE TABLE decimals (id bigint NOT NULL, amount numeric(15,4) NOT NULL, price numeric(12,2) NOT NULL,
  ratio double precision NOT NULL, created_at timestamp(6) NOT NULL, day date NOT NULL,
  settled_at timestamp(6));
CREATE TABLE blobs (id bigint NOT NULL, name varchar(64) NOT NULL, data bytea);"

DATASET_MY_SCHEMA="
CREATE TABLE narrow (id bigint NOT NULL PRIMARY KEY, a int NOT NULL, b int NOT NULL, c bigint NOT NULL);
CREATE TABLE wide_text (id bigint NOT NULL PRIMARY KEY, title varchar(200) NOT NULL, body text NOT NULL,
  tags varchar(255), note text);
CREATE TABLE decimals (id bigint NOT NULL PRIMARY KEY, amount decimal(15,4) NOT NULL,
  price decimal(12,2) NOT NULL, ratio double NOT NULL, created_at datetime(6) NOT NULL,
  day date NOT NULL, settled_at datetime(6));
CREATE TABLE blobs (id bigint NOT NULL PRIMARY KEY, name varchar(64) NOT NULL, data blob);"

# dataset_generate ROWS SEED: $BENCH_DIR/data/TABLE.tsv and $BENCH_DIR/source.db
dataset_generate() {
  local rows=$1 seed=$2
  DATASET_GEN="$BENCH_DIR/gen_dataset"
  cc -O2 -o "$DATASET_GEN" "$BENCH_ROOT/bench/gen_dataset.c" -lsqlite3 || die "cannot compile gen_dataset.c"
  mkdir -p "$BENCH_DIR/data"
  chmod 755 "$BENCH_DIR/data"
  local start=$EPOCHREALTIME
  # Two processes at a time (two cores): the two big text files, then the rest with SQLite.
  printf '%s\n' wide_text blobs narrow decimals |
    xargs -P 2 -I{} "$DATASET_GEN" tsv {} "$rows" "$seed" "$BENCH_DIR/data/{}.tsv" &
  local tsv_pid=$!
  "$DATASET_GEN" sqlite "$rows" "$seed" "$BENCH_DIR/source.db" || die "SQLite generation failed"
  wait "$tsv_pid" || die "TSV generation failed"
  chmod 644 "$BENCH_DIR"/data/*.tsv
  log "generated $rows rows (seed $seed) in $(bc <<<"$EPOCHREALTIME - $start") s"
}

# "table count" lines
dataset_counts() { "$DATASET_GEN" counts "$1"; }

# dataset_load_pg DB: a new database DB loaded from the TSV files (server-side COPY), primary
# keys added after the load, then VACUUM (FREEZE, ANALYZE) so that no tool pays for hint bits.
dataset_load_pg() {
  local db=$1 t start=$EPOCHREALTIME
  psql_ postgres -c "CREATE DATABASE $db"
  psql_ "$db" -c "$DATASET_PG_SCHEMA"
  printf '%s\n' "${DATASET_TABLES[@]}" | xargs -P 2 -I{} "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U ferry -d "$db" \
    -c "COPY {} FROM '$BENCH_DIR/data/{}.tsv'" -c "ALTER TABLE {} ADD PRIMARY KEY (id)" ||
    die "loading PostgreSQL failed"
  psql_ "$db" -c "VACUUM (FREEZE, ANALYZE)"
  log "loaded PostgreSQL $db in $(bc <<<"$EPOCHREALTIME - $start") s"
}

# dataset_load_mysql DB: a new database DB loaded with server-side LOAD DATA INFILE.
dataset_load_mysql() {
  local db=$1 start=$EPOCHREALTIME
  mysql_ -e "CREATE DATABASE $db"
  mysql_ "$db" -e "$DATASET_MY_SCHEMA"
  local -A cols=([narrow]="(id, a, b, c)" [wide_text]="(id, title, body, tags, note)"
                 [decimals]="(id, amount, price, ratio, created_at, day, settled_at)"
                 [blobs]="(id, name, @data) SET data = UNHEX(SUBSTRING(@data, 3))")
  local t pids=()
  for t in "${DATASET_TABLES[@]}"; do
    mysql_ "$db" -e "SET unique_checks = 0; SET sql_mode = 'STRICT_ALL_TABLES';
      LOAD DATA INFILE '$BENCH_DIR/data/$t.tsv' INTO TABLE $t CHARACTER SET utf8mb4 ${cols[$t]};
      SHOW WARNINGS" >"$BENCH_LOGS/load-mysql-$t.log" 2>&1 &
    pids+=($!)
    if ((${#pids[@]} == 2)); then wait "${pids[0]}" || die "loading MariaDB failed: $(cat "$BENCH_LOGS"/load-mysql-*.log)"; pids=("${pids[1]}"); fi
  done
  for t in "${pids[@]}"; do wait "$t" || die "loading MariaDB failed: $(cat "$BENCH_LOGS"/load-mysql-*.log)"; done
  if grep -qi warning "$BENCH_LOGS"/load-mysql-*.log; then die "LOAD DATA warnings: $(head -20 "$BENCH_LOGS"/load-mysql-*.log)"; fi
  mysql_ "$db" -e "ANALYZE TABLE narrow, wide_text, decimals, blobs" >/dev/null
  log "loaded MariaDB $db in $(bc <<<"$EPOCHREALTIME - $start") s"
}

# Row counts, one "table count" line per table, of each engine's copy.
count_sqlite() { local t; for t in "${DATASET_TABLES[@]}"; do echo "$t $(sqlite3 "$1" "SELECT count(*) FROM $t")"; done; }
count_mysql() { local t; for t in "${DATASET_TABLES[@]}"; do echo "$t $(mysql_ -N "$1" -e "SELECT count(*) FROM $t")"; done; }
# count_pg DB [SCHEMA]
count_pg() {
  local t schema=${2:-public}
  for t in "${DATASET_TABLES[@]}"; do
    echo "$t $(pg_value "$1" "SELECT count(*) FROM \"$schema\".\"$t\"" 2>/dev/null || echo missing)"
  done
}

# Sizes in MB.
size_sqlite() { echo $(($(stat -c %s "$1") / 1048576)); }
size_pg() { echo $(($(pg_value "$1" "SELECT pg_database_size('$1')") / 1048576)); }
size_mysql() { mysql_ -N -e "SELECT ROUND(SUM(data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = '$1'"; }

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  ROWS=${1:-200000}
  SEED=${SEED:-42}
  FERRY="${FERRY_BIN:-$BENCH_ROOT/build/release/src/cli/ferry}"
  bench_install_anchors
  bench_init "$(mktemp -d "${BENCH_TMP:-/tmp}/ferry-dataset-XXXXXX")"
  pg_start
  mysql_start
  dataset_generate "$ROWS" "$SEED"
  dataset_load_pg src
  dataset_load_mysql src
  expected=$(dataset_counts "$ROWS")
  for engine in sqlite mysql pg; do
    case $engine in
      sqlite) got=$(count_sqlite "$BENCH_DIR/source.db"); size=$(size_sqlite "$BENCH_DIR/source.db") ;;
      mysql) got=$(count_mysql src); size=$(size_mysql src) ;;
      pg) got=$(count_pg src); size=$(size_pg src) ;;
    esac
    [[ $got == "$expected" ]] || die "$engine counts differ: $got"
    echo "$engine: $size MB, $(tr '\n' ' ' <<<"$got")"
  done
  if [[ -x $FERRY ]]; then
    "$FERRY" verify --from "sqlite://$BENCH_DIR/source.db" --to "$PG_URL/src" || die "SQLite and PostgreSQL sources differ"
    "$FERRY" verify --from "$MY_URL/src" --to "$PG_URL/src" || die "MariaDB and PostgreSQL sources differ"
  fi
fi
