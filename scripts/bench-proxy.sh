#!/usr/bin/env bash
# `pip install` through `opp proxy` beside pip from a static PEP 503 index served by
# `python3 -m http.server`, and the proxy's per-request latency. A benchmark, not a test: it
# prints figures (and fails only when something breaks: an install that misses a package, a
# wrong status, opp not exiting 0 on SIGINT).
#
#   scripts/bench-proxy.sh [--runs N] [--requests N] [--libs N] [--out FILE] [--keep]
#     --runs N        timed installs per variant (default 5; one warm-up round comes first)
#     --requests N    sequential GETs per kind of request in the latency part (default 200)
#     --libs N        libraries the app depends on (default 19: 20 wheels in all)
#     --wheel-kib N   payload KiB per wheel (default 8)
#     --opp PATH      use this opp binary instead of building one (cargo build --release)
#     --out FILE      also write the tables as Markdown to FILE
#     --keep          keep the work directory (wheels, store, static tree, logs)
#     --wheels DIR    instead: the registry benchmark (scripts/bench/registry.py) with the
#                     real wheels in DIR (one per project; e.g. `pip download -d DIR ...`):
#                     pip download of all of them from a static tree, through `opp proxy` over
#                     a local docker-registry (cold and already serving), with the registry
#                     requests each install cost and opp's peak RSS; then push and pull of
#                     them, opp beside skopeo. --runs applies (default 3 there).
#     --opp-before PATH   with --wheels: another opp build measured beside (e.g. before a change)
#
# Wheels: pxbench-app 1.0.0 requires pxbench-lib-01 .. pxbench-lib-NN, so one
# `pip install pxbench-app` resolves and installs all of them. They are pushed into a fresh
# local store (opp --store DIR push pypi), and laid out as a static tree (simple/<name>/
# index.html with #sha256= and PEP 658 metadata links, files/ beside) for http.server.
# Variants, each `pip install --no-cache-dir --target T pxbench-app`, taking turns:
#   B  pip --index-url http://127.0.0.1:P/simple/    python3 -m http.server, already running
#   A  opp --store S proxy --http -- pip ...         opp starts, serves, stops: all timed
#   A  opp --store S proxy -- pip ...                the same over HTTPS (opp's default)
#      pip --index-url <opp>/pypi/simple/            opp proxy --http already serving
#      opp proxy [--http] -- true                    opp's own start and stop, no pip
# Then N GETs each of a project page, a wheel, its .metadata and an unknown project (404)
# against the serving opp and against http.server; then opp gets SIGINT and must exit 0.
# pip is $OPP_TEST_TOOLS/bin/pip (default ~/.cache/opp-test-tools/bin/pip; install it with
# scripts/install-test-deps.sh), run with PIP_CONFIG_FILE=/dev/null and no PIP_*, CA or
# proxy variables from this environment. Needs python3 and cargo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=5
RUNS_SET=0
REQUESTS=200
LIBS=19
WHEEL_KIB=8
OPP=""
OUT=""
KEEP=0
WHEELS=""
OPP_BEFORE=""

die() { printf 'bench-proxy: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) [ $# -ge 2 ] || die "--runs needs a value"; RUNS="$2"; RUNS_SET=1; shift 2 ;;
    --requests) [ $# -ge 2 ] || die "--requests needs a value"; REQUESTS="$2"; shift 2 ;;
    --libs) [ $# -ge 2 ] || die "--libs needs a value"; LIBS="$2"; shift 2 ;;
    --wheel-kib) [ $# -ge 2 ] || die "--wheel-kib needs a value"; WHEEL_KIB="$2"; shift 2 ;;
    --opp) [ $# -ge 2 ] || die "--opp needs a value"; OPP="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --wheels) [ $# -ge 2 ] || die "--wheels needs a value"; WHEELS="$2"; shift 2 ;;
    --opp-before) [ $# -ge 2 ] || die "--opp-before needs a value"; OPP_BEFORE="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in RUNS REQUESTS LIBS WHEEL_KIB; do
  opt="--$(tr 'A-Z_' 'a-z-' <<<"$v")"
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$opt takes a whole number >= 1, got '${!v}'"
done
# --out and --opp are relative to where the script was started, not to the repository.
if [ -n "$OUT" ]; then
  case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
fi
if [ -n "$OPP" ]; then
  case "$OPP" in /*) ;; *) OPP="$PWD/$OPP" ;; esac
  [ -x "$OPP" ] || die "--opp $OPP is not an executable file"
fi

command -v python3 >/dev/null 2>&1 || die "python3 not found (apt-get install python3)"
PIP="${OPP_TEST_TOOLS:-$HOME/.cache/opp-test-tools}/bin/pip"
[ -x "$PIP" ] || die "no pip at $PIP; install it with: scripts/install-test-deps.sh"

if [ -z "$OPP" ]; then
  command -v cargo >/dev/null 2>&1 || die "cargo not found"
  echo "building opp (cargo build --release) ..."
  (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
  OPP="$ROOT/target/release/opp"
  [ -x "$OPP" ] || die "no binary at $OPP after the build"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/opp-bench-proxy.XXXXXX")"
PIDS="$WORK/server.pids"
: >"$PIDS"
PY_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  # The measuring program first: it stops the servers it started and the command it runs.
  if [ -n "$PY_PID" ]; then
    kill -TERM "$PY_PID" 2>/dev/null || true
    wait "$PY_PID" 2>/dev/null || true
  fi
  # Then whatever it still had running when it died (a server, the measured command): the
  # process groups it listed, each removed from the list once waited for.
  local pid live=()
  while read -r pid; do
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -TERM -- "-$pid" 2>/dev/null && live+=("$pid")
  done <"$PIDS"
  for _ in $(seq 1 50); do
    local left=()
    for pid in "${live[@]}"; do kill -0 -- "-$pid" 2>/dev/null && left+=("$pid"); done
    [ "${#left[@]}" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${live[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NOTE="opp $("$OPP" --version | awk '{print $2}') \
($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')), \
$("$PIP" --version | awk '{print "pip", $2}'), $(python3 --version) for http.server and the \
client; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; \
$(date -u +%Y-%m-%dT%H:%MZ)."
echo "work directory $WORK"
echo "$NOTE"

if [ -n "$WHEELS" ]; then
  command -v docker-registry >/dev/null 2>&1 || die "docker-registry not found; install it with: scripts/install-test-deps.sh oci"
  command -v skopeo >/dev/null 2>&1 || die "skopeo not found; install it with: scripts/install-test-deps.sh oci"
  [ -x "${GNU_TIME:-/usr/bin/time}" ] || die "GNU time not found (apt-get install time; GNU_TIME=PATH overrides)"
  case "$WHEELS" in /*) ;; *) WHEELS="$PWD/$WHEELS" ;; esac
  [ -d "$WHEELS" ] || die "--wheels $WHEELS is not a directory"
  script="$ROOT/scripts/bench/registry.py"
  args=(--opp "$OPP" --pip "$PIP" --work "$WORK" --pids "$PIDS" --wheels "$WHEELS"
    --time "${GNU_TIME:-/usr/bin/time}" --note "$NOTE")
  [ "$RUNS_SET" = 1 ] && args+=(--runs "$RUNS")
  if [ -n "$OPP_BEFORE" ]; then
    case "$OPP_BEFORE" in /*) ;; *) OPP_BEFORE="$PWD/$OPP_BEFORE" ;; esac
    args+=(--opp-before "$OPP_BEFORE")
  fi
else
  script="$ROOT/scripts/bench/proxy.py"
  args=(--opp "$OPP" --pip "$PIP" --work "$WORK" --pids "$PIDS" --runs "$RUNS"
    --requests "$REQUESTS" --libs "$LIBS" --wheel-kib "$WHEEL_KIB" --note "$NOTE")
fi
[ -n "$OUT" ] && args+=(--out "$OUT")
# In the background and waited for, so that a signal to this script runs the trap at once.
python3 "$script" "${args[@]}" &
PY_PID=$!
rc=0
wait "$PY_PID" || rc=$?
PY_PID=""
exit "$rc"
