# shellcheck shell=bash disable=SC2034  # (variables here are for the scripts that source it)
# Shared by bench/dataset.sh and bench/suite.sh (source it; it sets no shell options).
# Private PostgreSQL 15 and MariaDB 10.11 servers on loopback, as user nobody, in a scratch
# directory; timing with /usr/bin/time; a results file.
#
#   bench_init DIR [LOGS]   scratch directory DIR (created, chowned to nobody when root); the
#                           servers' and tools' logs go to LOGS (default DIR/logs)
#   bench_install_anchors   installs what scripts/bench-packages.txt lists and is missing
#   pg_start / mysql_start  start the servers; set PG_PORT, PG_URL (no database), MY_PORT,
#                           MY_PASSWORD, MY_URL (no database), MY_SOCKET
#   bench_stop              stop both servers (bench_init sets it as the EXIT trap)
#   psql_ DB ARGS...        psql as the superuser `ferry`
#   mysql_ ARGS...          mariadb client as root over the socket
#   timed LABEL CMD...      run CMD under /usr/bin/time after a sync; sets T_SECONDS, T_KB, T_RC,
#                           T_CPU (user + system seconds of the tool, not of the servers),
#                           T_LOAD (the 1-minute load average just before);
#                           CMD's output goes to $BENCH_LOGS/LABEL.log

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_nobody() { if [[ $(id -u) == 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi; }
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 3; }

bench_init() {
  BENCH_DIR=$1
  BENCH_LOGS=${2:-$BENCH_DIR/logs}
  mkdir -p "$BENCH_LOGS"
  [[ $(id -u) == 0 ]] && chown nobody "$BENCH_DIR" "$BENCH_LOGS"
  chmod 755 "$BENCH_DIR" "$BENCH_LOGS"
  trap bench_stop EXIT
  # Say which signal ended the run (the EXIT trap then stops the servers).
  local sig
  # shellcheck disable=SC2064  # $sig is meant to expand now
  for sig in HUP INT TERM; do trap "log 'stopped by SIG$sig'; exit 1" "$sig"; done
}

bench_install_anchors() {
  local missing=() pkg
  while read -r pkg _; do
    [[ -z $pkg || $pkg == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < "$BENCH_ROOT/scripts/bench-packages.txt"
  if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || { echo "missing ${missing[*]}: sudo apt-get install ${missing[*]}" >&2; exit 2; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

# A loopback port nothing listens on (the server start retries if it is taken meanwhile).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

pg_start() {
  as_nobody "$PG_BIN/initdb" -D "$BENCH_DIR/pg" -U ferry --auth=trust --no-sync -E UTF8 \
    --locale=C >"$BENCH_LOGS/initdb.log" 2>&1 || die "initdb failed: $(tail -5 "$BENCH_LOGS/initdb.log")"
  local attempt
  for attempt in 1 2 3 4 5; do
    PG_PORT=$(free_port)
    # fsync off: the benchmark measures the tools, not this machine's disk (the same for all).
    if as_nobody "$PG_BIN/pg_ctl" -D "$BENCH_DIR/pg" -l "$BENCH_LOGS/pg.log" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $BENCH_DIR -c fsync=off \
          -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=8GB \
          -c checkpoint_timeout=30min -c shared_buffers=1GB -c maintenance_work_mem=512MB \
          -c max_connections=100" start >/dev/null; then
      PG_URL="postgresql://ferry@127.0.0.1:$PG_PORT"
      PG_STARTED=1
      return
    fi
  done
  die "PostgreSQL did not start: $(tail -5 "$BENCH_LOGS/pg.log")"
}

psql_() { local db=$1; shift; "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U ferry -d "$db" "$@"; }
pg_value() { psql_ "$1" -At -c "$2"; }

mysql_start() {
  MY_SOCKET="$BENCH_DIR/my.sock"
  mkdir -p "$BENCH_DIR/my"
  [[ $(id -u) == 0 ]] && chown nobody "$BENCH_DIR/my"
  as_nobody mariadb-install-db --no-defaults --datadir="$BENCH_DIR/my/data" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
    >"$BENCH_LOGS/mariadb-install-db.log" 2>&1 ||
    die "mariadb-install-db failed: $(tail -5 "$BENCH_LOGS/mariadb-install-db.log")"
  local attempt i
  for attempt in 1 2 3 4 5; do
    MY_PORT=$(free_port)
    local as_user=(); [[ $(id -u) == 0 ]] && as_user=(--user=nobody)
    /usr/sbin/mariadbd --no-defaults "${as_user[@]}" --datadir="$BENCH_DIR/my/data" \
      --socket="$MY_SOCKET" --port="$MY_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
      --pid-file="$BENCH_DIR/my/mariadbd.pid" --log-error="$BENCH_LOGS/mariadb.log" \
      --tmpdir="$BENCH_DIR/my" --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
      --skip-log-bin --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=2G \
      --innodb-log-file-size=1G --innodb-doublewrite=0 --max-allowed-packet=256M \
      --net-read-timeout=3600 --net-write-timeout=3600 \
      --local-infile=1 >"$BENCH_LOGS/mariadbd.out" 2>&1 &
    MY_PID=$!
    for ((i = 0; i < 600; i++)); do
      kill -0 "$MY_PID" 2>/dev/null || break
      mariadb --no-defaults -uroot -S "$MY_SOCKET" -e 'SELECT 1' >/dev/null 2>&1 && break
      sleep 0.1
    done
    if kill -0 "$MY_PID" 2>/dev/null; then
      MY_PASSWORD="bench$RANDOM$RANDOM$RANDOM"
      mysql_ -e "CREATE USER 'ferry'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD';
                 GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'127.0.0.1';
                 CREATE USER 'ferry'@'localhost' IDENTIFIED BY '$MY_PASSWORD';
                 GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'localhost';" || die "cannot create the MariaDB user"
      MY_URL="mysql://ferry:$MY_PASSWORD@127.0.0.1:$MY_PORT"
      # the promise: the URL's credentials work over TCP
      mariadb --no-defaults -uferry -p"$MY_PASSWORD" -h 127.0.0.1 -P "$MY_PORT" -e 'SELECT 1' >/dev/null ||
        die "MariaDB user ferry cannot log in over TCP"
      return
    fi
    grep -q "Address already in use" "$BENCH_LOGS/mariadb.log" 2>/dev/null || break
  done
  die "MariaDB did not start: $(tail -5 "$BENCH_LOGS/mariadb.log" 2>/dev/null)"
}

mysql_() { mariadb --no-defaults -uroot -S "$MY_SOCKET" --local-infile=1 "$@"; }

bench_stop() {
  local rc=$? i
  set +e
  if [[ -n ${MY_PID:-} ]] && kill -0 "$MY_PID" 2>/dev/null; then
    kill "$MY_PID" 2>/dev/null
    for ((i = 0; i < 300; i++)); do kill -0 "$MY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$MY_PID" 2>/dev/null
  fi
  if [[ -n ${PG_STARTED:-} ]]; then
    as_nobody "$PG_BIN/pg_ctl" -D "$BENCH_DIR/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [[ -n ${BENCH_DIR:-} && -z ${KEEP:-} && -d $BENCH_DIR ]]; then
    rm -rf "$BENCH_DIR"
  elif [[ -n ${BENCH_DIR:-} ]]; then
    log "kept $BENCH_DIR"
  fi
  return $rc
}

# Runs CMD with a clean slate for writes (dirty pages flushed, PostgreSQL checkpointed) and
# measures wall time and peak RSS (of the largest process of the tree that was waited for).
# A run that takes longer than TOOL_TIMEOUT seconds (default 1800) is killed (exit 124 or 137).
timed() {
  local label=$1; shift
  sync
  [[ -n ${PG_STARTED:-} ]] && psql_ postgres -c CHECKPOINT
  T_LOAD=$(cut -d' ' -f1 /proc/loadavg)
  log "run $label (load average $T_LOAD): ${LAST_CMD:-$*}"
  printf '%s\n' "${LAST_CMD:-$*}" >"$BENCH_LOGS/$label.cmd"
  T_RC=0
  /usr/bin/time -f '%e %M %U %S' -o "$BENCH_LOGS/$label.time" timeout -k 10 "${TOOL_TIMEOUT:-1800}" "$@" \
    >"$BENCH_LOGS/$label.log" 2>&1 || T_RC=$?
  ((T_RC != 124 && T_RC != 137)) || log "     $label: killed after TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800} s"
  local user sys
  read -r T_SECONDS T_KB user sys < <(grep -E '^[0-9.]+ [0-9]+ [0-9.]+ [0-9.]+$' "$BENCH_LOGS/$label.time" | tail -1)
  T_CPU=$(bc <<<"$user + $sys")
  log "     $label: ${T_SECONDS}s, peak ${T_KB} KB, CPU ${T_CPU}s, exit $T_RC"
}
