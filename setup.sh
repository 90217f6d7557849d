#!/usr/bin/env bash
# setup.sh: the one entry point from a fresh Debian 12 machine to a built, tested ferry.
# It installs the Debian packages in scripts/debian-packages.txt that are missing, configures and
# builds with a preset from CMakePresets.json, then does what the command asks. CI runs
# `./setup.sh test` (see .ci/run); docs/development.md explains the rest.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./setup.sh [COMMAND] [ARGS...]

Installs the Debian packages listed in scripts/debian-packages.txt that are missing, builds ferry
with a CMake preset, then:

  packages          only install the missing packages
  build [ARGS...]   build the `release` preset (the default command); ARGS go to `cmake --build`
  demo [ARGS...]    build `release`, then run `build/release/src/cli/ferry demo ARGS...`
  test [ARGS...]    build `ci` (warnings are errors) and run the whole suite, then build `asan`
                    and run the tests labelled base, store, connect, move, legacy or crypto under
                    ASan+UBSan; ARGS go to both ctest runs (e.g. -R Hash)
  asan [ARGS...]    build `asan` and run the whole suite under ASan+UBSan; ARGS go to ctest
                    (e.g. -L store)

Every command that builds installs the PQClean sources (third_party: the npm package pqclean,
compiled for ML-KEM and ML-DSA) and the web console's libraries (web: preact, htm, Chart.js,
embedded in the binary) with `npm ci --ignore-scripts`; `test` and `asan` also install the
Node.js test tools (test/node: the HCL parser of the iac tests, the independent ML-KEM and
ML-DSA of the crypto tests, the console's browser driver). Each is installed when its package-lock.json is newer than the last
install.

Installing needs root: as root it runs apt-get itself, as a user it uses `sudo -n` when that
works without a password, and otherwise stops (exit 2) and says what to run.

Environment:
  FERRY_JOBS=N             build jobs (default: nproc)
  FERRY_TEST_JOBS=N        tests run at once by ctest (default: 2)
  FERRY_SKIP_PACKAGES=1    do not check or install Debian packages
  FERRY_PACKAGES_FILE=F    package list to use (default: scripts/debian-packages.txt)

Exit status: 0 when everything passed, 1 when a build or test failed, 2 for a usage error or
missing packages that could not be installed.
EOF
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
PACKAGES_FILE="${FERRY_PACKAGES_FILE:-$ROOT/scripts/debian-packages.txt}"
JOBS="${FERRY_JOBS:-$(nproc)}"
TEST_JOBS="${FERRY_TEST_JOBS:-2}"
FERRY_BIN="$ROOT/build/release/src/cli/ferry"
POLICY_RC=/usr/sbin/policy-rc.d

# --- output ----------------------------------------------------------------------------------
# Everything setup.sh says goes to stderr, so that `./setup.sh demo ... > out` keeps only ferry's.
START=$SECONDS
PHASE=""
PHASE_START=$SECONDS
POLICY_RC_OURS=0
SUDO=()

say() { printf 'setup.sh: %s\n' "$*" >&2; }
warn() { printf 'setup.sh: warning: %s\n' "$*" >&2; }
die() {
  local code=$1
  shift
  printf 'setup.sh: %s\n' "$@" >&2
  exit "$code"
}
duration() {
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}
phase_begin() {
  PHASE=$1
  PHASE_START=$SECONDS
  printf '\n==> %s\n' "$PHASE" >&2
}
phase_end() {
  printf '<== %s: %s (%s)\n' "$PHASE" "${1:-done}" "$(duration $((SECONDS - PHASE_START)))" >&2
  PHASE=""
}

remove_policy_rc() {
  if ((POLICY_RC_OURS)); then
    "${SUDO[@]}" rm -f "$POLICY_RC" || warn "could not remove $POLICY_RC; remove it by hand"
    POLICY_RC_OURS=0
  fi
}
on_exit() {
  local rc=$?
  remove_policy_rc
  if ((rc != 0)) && [[ -n $PHASE ]]; then
    printf '<== %s: FAILED, exit %d (%s)\n' "$PHASE" "$rc" "$(duration $((SECONDS - PHASE_START)))" >&2
  fi
}
trap on_exit EXIT

# --- Debian packages -------------------------------------------------------------------------
declare -a PACKAGES=()
declare -A WANT_VERSION=() INSTALLED_VERSION=()

read_package_list() {
  [[ -r $PACKAGES_FILE ]] || die 2 "cannot read the package list $PACKAGES_FILE"
  local name version
  while read -r name version _; do
    [[ -z $name ]] && continue
    [[ -n $version ]] || die 2 "$PACKAGES_FILE: '$name' has no version (format: package version why)"
    PACKAGES+=("$name")
    WANT_VERSION[$name]=$version
  done < <(sed 's/#.*//' "$PACKAGES_FILE")
  ((${#PACKAGES[@]} > 0)) || die 2 "$PACKAGES_FILE lists no package"
}

# Fills INSTALLED_VERSION for the listed packages that are installed (one dpkg-query for all).
query_installed() {
  INSTALLED_VERSION=()
  local name status version
  while IFS=$'\t' read -r name status version; do
    # Status is "want flag state": "install ok installed", "hold ok installed", "deinstall ok config-files"...
    [[ $status == *" installed" ]] && INSTALLED_VERSION[$name]=$version
  done < <(dpkg-query -W -f='${Package}\t${Status}\t${Version}\n' "${PACKAGES[@]}" 2>/dev/null || true)
}

# Warns (never fails) when an installed version does not start with the listed one.
check_versions() {
  local name have want n=0
  for name in "${PACKAGES[@]}"; do
    have=${INSTALLED_VERSION[$name]:-}
    [[ -n $have ]] || continue
    have=${have#*:} # drop the epoch: 1:10.11.6-0+deb12u1 -> 10.11.6-0+deb12u1
    want=${WANT_VERSION[$name]}
    # "15" matches 15.20-0+deb12u1 but not 150.1; "4.8" matches 4.8+really4.7.5-1.
    if [[ $have == "$want" || ($have == "$want"* && ${have:${#want}:1} != [0-9]) ]]; then
      continue
    fi
    warn "$name is $have; ferry is built and tested against $want (scripts/debian-packages.txt)"
    n=$((n + 1))
  done
  ((n == 0)) || warn "$n package(s) differ from the tested versions; the build may still work"
}

# Sets SUDO to () when root, (sudo -n) when a password-less sudo works; otherwise explains and
# exits 2.
need_root_for() {
  local -a missing=("$@")
  if ((EUID == 0)); then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
    say "not root: installing with sudo"
  else
    local cmd="./setup.sh ${COMMAND}${ARGS_TEXT}"
    {
      printf 'setup.sh: installing them needs root, and this is user %s without password-less sudo.\n' "$(id -un)"
      printf 'Either run\n  sudo %s\n' "$cmd"
      printf 'which installs them as root and then goes on as you, or install them yourself:\n'
      printf '  sudo apt-get install --no-install-recommends %s\n' "${missing[*]}"
      printf 'and rerun\n  %s\n' "$cmd"
    } >&2
    exit 2
  fi
}

install_packages() {
  local -a missing=("$@")
  need_root_for "${missing[@]}"

  # Refresh the package lists once, and only when something is to be installed: a fresh machine
  # has none, and old ones name versions the mirror no longer has. (Their file dates cannot say
  # how old they are: apt stamps them with the mirror's date, not the download's.)
  say "apt-get update"
  "${SUDO[@]}" apt-get update -q -o DPkg::Lock::Timeout=300 >&2

  # postgresql-15 and mariadb-server start their system services when installed. The tests do
  # not use those (test/harness starts its own servers), and on a machine without systemd the
  # start may fail and fail the install, so services are not started while we install.
  if [[ ! -e $POLICY_RC ]]; then
    printf '#!/bin/sh\n# Written by ferry setup.sh while it installs packages, then removed.\nexit 101\n' |
      "${SUDO[@]}" tee "$POLICY_RC" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY_RC"
    POLICY_RC_OURS=1
  fi
  say "apt-get install ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "${missing[@]}" >&2
  remove_policy_rc
}

ensure_packages() {
  if [[ ${FERRY_SKIP_PACKAGES:-0} == 1 ]]; then
    return
  fi
  phase_begin "packages"
  if ! command -v dpkg-query >/dev/null 2>&1; then
    warn "not a Debian system: install the equivalents of $PACKAGES_FILE yourself"
    phase_end "skipped"
    return
  fi
  if [[ -r /etc/os-release ]] && ! grep -qx 'VERSION_ID="12"' /etc/os-release; then
    # shellcheck disable=SC1091
    warn "ferry is built and tested on Debian 12; this is $(. /etc/os-release && echo "${PRETTY_NAME:-?}")"
  fi
  read_package_list
  query_installed
  local name
  local -a missing=()
  for name in "${PACKAGES[@]}"; do
    [[ -n ${INSTALLED_VERSION[$name]:-} ]] || missing+=("$name")
  done
  if ((${#missing[@]} == 0)); then
    check_versions
    phase_end "all ${#PACKAGES[@]} installed, nothing to do"
    return
  fi
  local count=${#missing[@]}
  say "$count of ${#PACKAGES[@]} missing: ${missing[*]}"
  install_packages "${missing[@]}"
  query_installed
  missing=()
  for name in "${PACKAGES[@]}"; do
    [[ -n ${INSTALLED_VERSION[$name]:-} ]] || missing+=("$name")
  done
  ((${#missing[@]} == 0)) || die 1 "still not installed after apt-get: ${missing[*]}"
  check_versions
  phase_end "installed $count package(s)"
}

# After `sudo ./setup.sh ...` has installed packages, build and test as the user who ran sudo,
# so that build/ and the ccache are theirs and not root's.
drop_root_after_sudo() {
  ((EUID == 0)) || return 0
  local user=${SUDO_USER:-}
  [[ -n $user && $user != root ]] || return 0
  [[ $(stat -c %U "$ROOT") == "$user" ]] || return 0
  local home
  home=$(getent passwd "$user" | cut -d: -f6)
  say "packages done as root; continuing as $user"
  exec runuser -u "$user" -- env HOME="$home" USER="$user" LOGNAME="$user" FERRY_SKIP_PACKAGES=1 \
    "$ROOT/setup.sh" "$COMMAND" "$@"
}

# --- npm trees: the PQClean sources, the console's libraries and the Node.js test tools ------
# Three directories are installed from the npm registry with `npm ci`, each pinned (exact
# versions, integrity hashes) by its package-lock.json, never committed:
#   third_party/  the npm package pqclean, whose deps/PQClean holds the ML-KEM and ML-DSA C
#                 sources the build compiles (cmake/FerryPqclean.cmake); every command needs it.
#                 Installed with --ignore-scripts: its own install script builds a Node addon
#                 ferry does not use.
#   web/          the web console's libraries (preact, htm, Chart.js), which the build embeds in
#                 the binary (cmake/FerryWebAssets.cmake); every command that builds needs it.
#   test/node/    the tools the test suite runs: @cdktf/hcl2json (the iac tests parse generated
#                 Terraform with it) and @noble/post-quantum (the independent ML-KEM and ML-DSA
#                 the crypto tests cross-check against), playwright-core (drives Chromium
#                 in the console's test); test and asan need it.
THIRD_PARTY="$ROOT/third_party"
WEB="$ROOT/web"
NODE_TOOLS="$ROOT/test/node"

# True when DIR/node_modules was installed from DIR's current package-lock.json: `npm ci`
# writes node_modules/.package-lock.json, so a missing or older one means install again.
npm_tree_current() {
  local dir=$1 stamp="$1/node_modules/.package-lock.json"
  [[ -f $stamp && ! $dir/package-lock.json -nt $stamp ]]
}

# The npm trees COMMAND needs.
npm_trees_for() {
  case $1 in
    build | demo) echo "$THIRD_PARTY $WEB" ;;
    test | asan) echo "$THIRD_PARTY $WEB $NODE_TOOLS" ;;
  esac
}

# Makes sure node and npm are on PATH when an `npm ci` is to run. Node.js itself is `nodejs` in
# scripts/debian-packages.txt, so ensure_packages has installed it. npm is NOT listed there:
# Debian's nodejs 18 comes without npm (Debian ships it as the separate package `npm`), while a
# NodeSource nodejs (20 and later) bundles its own npm and declares `Conflicts: npm`, so
# installing Debian's npm next to it would make apt remove that nodejs. So Debian's `npm` is
# installed here, and only when no npm is on PATH after the packages step. This runs before
# drop_root_after_sudo, so that `sudo ./setup.sh test` installs as root; `npm ci` itself runs
# after it, as the user (ensure_npm_tree).
ensure_node_packages() {
  [[ ${FERRY_SKIP_PACKAGES:-0} == 1 ]] && return
  local dir stale=0
  for dir in $(npm_trees_for "$COMMAND"); do
    npm_tree_current "$dir" || stale=1
  done
  ((stale)) || return 0
  local -a missing=()
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  ((${#missing[@]} > 0)) || return 0
  phase_begin "node packages"
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "not a Debian system: install Node.js 18 or later with npm yourself"
    phase_end "skipped"
    return
  fi
  say "not on PATH: ${missing[*]} (needed to install from the npm registry: third_party, web, test/node)"
  install_packages "${missing[@]}"
  command -v node >/dev/null 2>&1 || die 1 "no node on PATH after apt-get install ${missing[*]}"
  command -v npm >/dev/null 2>&1 || die 1 "no npm on PATH after apt-get install ${missing[*]}"
  phase_end "installed ${missing[*]}"
}

# Installs DIR/node_modules from DIR/package-lock.json with `npm ci`, when it is missing or
# older than the lock file. --prefer-offline: what is in npm's cache (~/.npm) is used without
# asking the registry, so a reinstall works offline. Extra arguments go to npm ci.
ensure_npm_tree() {
  local dir=$1
  shift
  local name=${dir#"$ROOT"/}
  if npm_tree_current "$dir"; then
    return
  fi
  phase_begin "$name (npm ci)"
  local -a missing=()
  command -v node >/dev/null 2>&1 || missing+=(node)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ((${#missing[@]} > 0)); then
    die 2 "$name comes from the npm registry and needs node and npm; not on PATH: ${missing[*]}." \
      "Run ./setup.sh $COMMAND without FERRY_SKIP_PACKAGES=1 (it installs Debian's nodejs and npm), or install Node.js 18 or later with npm yourself, and rerun."
  fi
  npm ci --prefix "$dir" --no-audit --no-fund --prefer-offline "$@" >&2 ||
    die 1 "npm ci --prefix $name failed (see above)"
  [[ -f $dir/node_modules/.package-lock.json ]] ||
    die 1 "npm ci did not write $name/node_modules/.package-lock.json (npm $(npm --version) is too old?)"
  phase_end "installed from $name/package-lock.json (node $(node --version), npm $(npm --version))"
}

# --- build and test --------------------------------------------------------------------------
configure() {
  local preset=$1
  local dir="$ROOT/build/$preset"
  # Configure only when needed: Ninja reruns CMake itself when a CMakeLists.txt changes, but
  # not when the presets (which set the cache variables) change.
  if [[ -f $dir/build.ninja && -f $dir/CMakeCache.txt && ! $ROOT/CMakePresets.json -nt $dir/CMakeCache.txt ]]; then
    return
  fi
  phase_begin "configure ($preset)"
  cmake --preset "$preset" >&2
  phase_end
}

build() {
  local preset=$1
  shift
  phase_begin "build ($preset, -j$JOBS)"
  cmake --build --preset "$preset" --parallel "$JOBS" "$@" >&2
  phase_end
}

# Runs ctest for a preset and adds its counts to PASSED, FAILED and SKIPPED. Returns its status.
PASSED=0 FAILED=0 SKIPPED=0
declare -a RESULTS=()
run_ctest() {
  local preset=$1 what=$2
  shift 2
  local log="$ROOT/build/$preset/ctest-output.log"
  phase_begin "test ($preset: $what, -j$TEST_JOBS)"
  local rc=0
  ctest --preset "$preset" -j "$TEST_JOBS" "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  # ctest closes with "97% tests passed, 1 tests failed out of 40"; skipped tests count as passed
  # there and are listed as "  7 - Name (Skipped)".
  local total failed skipped line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=${BASH_REMATCH[1]}
    total=${BASH_REMATCH[2]}
  else
    failed=$((rc != 0)) # ctest stopped before running tests (no tests found, bad preset...)
    total=$failed
  fi
  skipped=$(grep -cE '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$log" || true)
  PASSED=$((PASSED + total - failed - skipped))
  FAILED=$((FAILED + failed))
  SKIPPED=$((SKIPPED + skipped))
  local verdict="passed"
  ((rc == 0)) || verdict="FAILED"
  RESULTS+=("$(printf '%-5s %-20s %s: %d passed, %d failed, %d skipped' "$preset" "($what)" \
    "$verdict" $((total - failed - skipped)) "$failed" "$skipped")")
  phase_end "$verdict"
  return "$rc"
}

summary() {
  printf '\n==> summary (%s)\n' "$(duration $((SECONDS - START)))" >&2
  printf '  %s\n' "${RESULTS[@]}" >&2
  local line="$PASSED passed, $FAILED failed"
  ((SKIPPED == 0)) || line+=", $SKIPPED skipped"
  printf 'ferry: %s\n' "$line"
}

# --- commands --------------------------------------------------------------------------------
COMMAND=${1:-build}
case $COMMAND in
  -h | --help | help)
    usage
    exit 0
    ;;
  packages | build | demo | test | asan) ;;
  *) die 2 "unknown command '$COMMAND' (see ./setup.sh --help)" ;;
esac
(($# == 0)) || shift
ARGS_TEXT=$(printf ' %q' "$@") # for messages, quoted as typed
(($# > 0)) || ARGS_TEXT=""

if [[ ${CI:-} == true ]]; then
  # CI builds in a fresh clone, wherever it is: share the ccache between clones.
  export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
fi

ensure_packages
ensure_node_packages
drop_root_after_sudo "$@"
case $COMMAND in
  build | demo | test | asan)
    ensure_npm_tree "$THIRD_PARTY" --ignore-scripts
    ensure_npm_tree "$WEB" --ignore-scripts
    ;;
esac

case $COMMAND in
  packages) ;;
  build)
    configure release
    build release "$@"
    if [[ -x $FERRY_BIN ]]; then say "built: $FERRY_BIN"; else say "built (no ferry binary yet)"; fi
    ;;
  demo)
    # Build just the binary when its target exists (tests and benchmarks are not needed).
    configure release
    targets=()
    if ninja -C build/release -t query ferry >/dev/null 2>&1; then
      targets=(--target ferry)
    fi
    build release "${targets[@]}"
    [[ -x $FERRY_BIN ]] || die 1 "the build did not produce $FERRY_BIN"
    printf '\n==> ferry demo%s\n' "$ARGS_TEXT" >&2
    exec "$FERRY_BIN" demo "$@"
    ;;
  test)
    status=0
    ensure_npm_tree "$NODE_TOOLS"
    configure ci
    build ci
    run_ctest ci "whole suite" "$@" || status=1
    configure asan
    # Only what the sanitizer run needs (target core_tests): base, store, connect, move, legacy,
    # crypto.
    build asan --target core_tests
    run_ctest asan "base|store|connect|move|legacy|crypto" -L 'base|store|connect|move|legacy|crypto' "$@" ||
      status=1
    summary
    exit "$status"
    ;;
  asan)
    status=0
    ensure_npm_tree "$NODE_TOOLS"
    configure asan
    build asan
    run_ctest asan "whole suite" "$@" || status=1
    summary
    exit "$status"
    ;;
esac
