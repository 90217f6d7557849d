#!/usr/bin/env bash
# export_bench.sh: `ferry copy` of a 500,000-row SQLite table to a JSON Lines directory and to an
# encrypted export (--encrypt-to), alternated, RUNS times each, verified (the default) and with
# --no-verify (BENCHMARKS.md, "Encrypted export").
#
#   bench/export_bench.sh [BUILD_DIR] [RUNS]        (default build/release, 3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
RUNS="${2:-3}"
FERRY="$BUILD/src/cli/ferry"
[[ -x $FERRY ]] || { echo "export_bench.sh: $FERRY not built" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$T/src.db" <<'PY'
import random, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('create table account (id integer primary key, owner text, iban text, balance numeric, opened text, note text)')
random.seed(1)
c.executemany('insert into account values (?,?,?,?,?,?)',
              ((i, f'owner {i}', f'DE{random.randrange(10**18):018d}', round(random.random() * 1e6, 2),
                f'20{random.randrange(10, 26)}-0{random.randrange(1, 9)}-1{random.randrange(0, 9)}',
                'x' * random.randrange(0, 60)) for i in range(1, 500001)))
c.commit()
PY
"$FERRY" crypto keygen --out "$T/ops.key" > /dev/null 2>&1
"$FERRY" crypto keygen --out "$T/bob.key" > "$T/bob.recipient" 2>/dev/null
echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), source $(du -h "$T/src.db" | cut -f1)"
# One export: DEST, then any extra flags; prints its wall time in seconds.
export_time() {
  local dest="$1"; shift
  rm -f "$T/store.db"
  { /usr/bin/time -f %e "$FERRY" --log-level error --store "sqlite://$T/store.db" copy \
      --from "sqlite://$T/src.db" --to "$dest" "$@" > /dev/null; } 2>&1
}
enc=(--encrypt-to "$T/bob.recipient" --identity "$T/ops.key")
for i in $(seq "$RUNS"); do
  # Verified (the default): the plain copy reads its JSON Lines back; the export, which cannot
  # be read back, scans the source again and compares it with the checksums of what it wrote.
  rm -rf "$T/plain" "$T/e.ferry"
  p=$(export_time "jsonl://$T/plain")
  e=$(export_time "file://$T/e.ferry" "${enc[@]}")
  psize=$(du -sh "$T/plain" | cut -f1) esize=$(du -h "$T/e.ferry" | cut -f1)
  # --no-verify: the write paths alone.
  rm -rf "$T/plain" "$T/e.ferry"
  pn=$(export_time "jsonl://$T/plain" --no-verify)
  en=$(export_time "file://$T/e.ferry" "${enc[@]}" --no-verify)
  printf 'run %d: verified: plain %s s (%s), encrypted %s s (%s), ratio %.2f; --no-verify: plain %s s, encrypted %s s, ratio %.2f\n' \
    "$i" "$p" "$psize" "$e" "$esize" "$(echo "$e / $p" | bc -l)" "$pn" "$en" "$(echo "$en / $pn" | bc -l)"
done
