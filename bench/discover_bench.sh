#!/usr/bin/env bash
# Host inventory speed: `ferry discover` against the two fact collectors Debian ships,
# `ansible localhost -m setup` (ansible-core) and `facter` (Puppet's), on this machine. Each tool
# runs once to warm the caches, then RUNS times; the median wall and CPU (user + system) times are
# reported, with the ratio of the faster anchor's time to ferry's. Figures go to
# docs/discover.md ("Performance").
#
#   bench/discover_bench.sh [RUNS]               # default 10; needs ./setup.sh build first
#   FERRY_BIN=path/to/ferry bench/discover_bench.sh
#
# What each collects: ferry the whole inventory (docs/discover.md: host, OS, CPU, memory, disks,
# file systems, network, routes, DNS, every dpkg/rpm package, systemd units, cron, every process,
# every socket with its owner, certificates); ansible's setup module its default facts
# (hardware, network, OS, mounts, packages are NOT among them); facter its core facts. ferry
# collects more, not less, than either.
#
# Installs the anchors from Debian if they are missing (scripts/bench-packages.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-10}"
FERRY="${FERRY_BIN:-$ROOT/build/release/src/cli/ferry}"
[[ -x $FERRY ]] || { echo "build ferry first: ./setup.sh build (or set FERRY_BIN)" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive number, got '$RUNS'" >&2; exit 2; }

# The anchors this script needs, from scripts/bench-packages.txt.
missing=()
while read -r pkg _; do
  [[ -z $pkg || $pkg == \#* ]] && continue
  case $pkg in ansible-core | facter | time) ;; *) continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done <"$ROOT/scripts/bench-packages.txt"
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || { echo "missing ${missing[*]}: sudo apt-get install ${missing[*]}" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

WORK=$(mktemp -d /tmp/ferry-discover-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
export ANSIBLE_NOCOLOR=1 ANSIBLE_HOME="$WORK/ansible"

# measure LABEL BATCH CMD...: prints "LABEL median_wall median_cpu min_wall max_rss_kb
# output_bytes", in seconds per invocation. Each of the RUNS samples times BATCH invocations
# under one /usr/bin/time and divides: its 10 ms resolution is too coarse for one ferry run.
measure() {
  local label=$1 batch=$2
  shift 2
  # The warm-up. facter exits 1 in a container where /proc/1/environ is closed, yet prints its
  # facts: a tool counts as failed only when it prints nothing.
  local rc=0
  "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || rc=$?
  if [[ ! -s $WORK/$label.out ]]; then
    echo "$label failed (exit $rc): $(tail -5 "$WORK/$label.err")" >&2
    exit 1
  fi
  ((rc == 0)) || echo "note: $label exited $rc but printed its output: $(head -c 200 "$WORK/$label.err")" >&2
  : >"$WORK/$label.times"
  local i
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" \
      bash -c 'b=$1; shift; for ((j = 0; j < b; j++)); do "$@" >/dev/null 2>&1 || :; done' _ "$batch" "$@"
    cat "$WORK/time" >>"$WORK/$label.times"
  done
  local bytes
  bytes=$(wc -c <"$WORK/$label.out")
  local walls cpus rss
  walls=$(awk -v b="$batch" '{ printf "%.6f\n", $1 / b }' "$WORK/$label.times" | sort -g)
  cpus=$(awk -v b="$batch" '{ printf "%.6f\n", ($2 + $3) / b }' "$WORK/$label.times" | sort -g)
  rss=$(awk '$4 > m { m = $4 } END { print m }' "$WORK/$label.times")
  printf '%s %.4f %.4f %.4f %d %d\n' "$label" "$(median <<<"$walls")" "$(median <<<"$cpus")" \
    "$(head -1 <<<"$walls")" "$rss" "$bytes"
}
median() { awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ferry_line=$(measure ferry 20 "$FERRY" discover)
ansible_line=$(measure ansible 1 ansible localhost -m setup)
facter_line=$(measure facter 1 facter --json)

# ferry's own clock: the collection alone, without starting the process and writing JSON.
ferry_ms=$("$FERRY" discover | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["duration_ms"])')

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "versions: $("$FERRY" --version), $(ansible --version 2>/dev/null | sed -n 1p), facter $(facter --version)"
echo "host: $(ps -e --no-headers | wc -l) processes, $(dpkg-query -W -f='.\n' | wc -l) packages, $(ss -tanH | wc -l) TCP sockets"
echo "runs: $RUNS samples each after one warm-up (ferry: 20 invocations a sample); median wall and CPU (user + sys) seconds per invocation"
printf '%-8s %10s %10s %10s %10s %12s\n' tool wall_s cpu_s min_wall_s max_rss_kb output_bytes
for line in "$ferry_line" "$ansible_line" "$facter_line"; do
  # shellcheck disable=SC2086
  printf '%-8s %10s %10s %10s %10s %12s\n' $line
done
echo "ferry discover's own clock: ${ferry_ms} ms of collection"
awk -v f="$ferry_line" -v a="$ansible_line" -v c="$facter_line" 'BEGIN {
  split(f, F, " "); split(a, A, " "); split(c, C, " ")
  anchor = A[2] < C[2] ? "ansible" : "facter"; wall = A[2] < C[2] ? A[2] : C[2]
  cpu = A[2] < C[2] ? A[3] : C[3]
  printf "faster anchor: %s; it takes %.1fx ferry'"'"'s wall time and %.1fx its CPU time (goal: 10x)\n", anchor, wall / F[2], cpu / F[3]
}'
