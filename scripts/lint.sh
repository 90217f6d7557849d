#!/usr/bin/env bash
# lint.sh: checks formatting (.clang-format) and runs clang-tidy (.clang-tidy) over ferry's code.
# Not run by CI; run it before sending a change. See docs/development.md.
#
#   scripts/lint.sh                 check format of all of src/ test/ bench/, then clang-tidy them
#   scripts/lint.sh --format        only the format check
#   scripts/lint.sh --tidy          only clang-tidy
#   scripts/lint.sh --fix           rewrite the files with clang-format instead of checking
#   scripts/lint.sh [...] FILE...   only these files (.cc/.h)
#
# clang-tidy reads build/release/compile_commands.json: build first (./setup.sh build).
# Exit status: 0 clean, 1 format differences or clang-tidy warnings, 2 usage or missing tool.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# LLVM 19 as listed in scripts/debian-packages.txt (clang 14 cannot parse <expected>).
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-19}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy-19}
BUILD_DIR=${FERRY_LINT_BUILD_DIR:-build/release}
JOBS=${FERRY_JOBS:-$(nproc)}

do_format=1 do_tidy=1 fix=0
files=()
for arg in "$@"; do
  case $arg in
    --format) do_tidy=0 ;;
    --tidy) do_format=0 ;;
    --fix) fix=1 do_tidy=0 ;;
    -h | --help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "lint.sh: unknown option $arg (see --help)" >&2
      exit 2
      ;;
    *) files+=("$arg") ;;
  esac
done
if ((${#files[@]} == 0)); then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
    'src/*.cc' 'src/*.h' 'test/*.cc' 'test/*.h' 'bench/*.cc' 'bench/*.h')
fi
if ((${#files[@]} == 0)); then
  echo "lint.sh: no C++ files to check" >&2
  exit 0
fi

need() {
  command -v "$1" >/dev/null 2>&1 && return
  echo "lint.sh: $1 is not installed; run ./setup.sh (it installs scripts/debian-packages.txt)" >&2
  exit 2
}

status=0
if ((do_format)); then
  need "$CLANG_FORMAT"
  if ((fix)); then
    echo "==> $CLANG_FORMAT -i (${#files[@]} files)" >&2
    "$CLANG_FORMAT" -i "${files[@]}"
  else
    echo "==> $CLANG_FORMAT --dry-run --Werror (${#files[@]} files)" >&2
    "$CLANG_FORMAT" --dry-run --Werror "${files[@]}" || status=1
  fi
fi

if ((do_tidy)); then
  need "$CLANG_TIDY"
  if [[ ! -f $BUILD_DIR/compile_commands.json ]]; then
    echo "lint.sh: $BUILD_DIR/compile_commands.json is missing; run ./setup.sh build first" >&2
    exit 2
  fi
  # clang-tidy checks translation units; headers are checked through them (HeaderFilterRegex).
  sources=()
  for f in "${files[@]}"; do
    [[ $f == *.cc ]] && sources+=("$f")
  done
  echo "==> $CLANG_TIDY -p $BUILD_DIR (${#sources[@]} files, -j$JOBS)" >&2
  if ((${#sources[@]} > 0)); then
    # One clang-tidy per file, JOBS at a time; any warning or error makes the run fail.
    printf '%s\0' "${sources[@]}" |
      xargs -0 -n 1 -P "$JOBS" "$CLANG_TIDY" -p "$BUILD_DIR" --quiet --warnings-as-errors='*' ||
      status=1
  fi
fi

if ((status == 0)); then echo "lint.sh: clean" >&2; else echo "lint.sh: problems found (above)" >&2; fi
exit "$status"
