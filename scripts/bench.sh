#!/usr/bin/env bash
# Push/pull throughput and peak memory of opp against a real local registry, beside skopeo.
# A benchmark, not a test: it prints figures (and fails only when something breaks or a pulled
# file differs from the original).
#
#   scripts/bench.sh [--ecosystem pypi|nuget|rubygems] [--sizes "20 200 800"] [--out FILE] [--keep]
#     --ecosystem E    what is pushed and pulled: pypi wheels (the default), nuget .nupkg
#                      files or rubygems .gem files
#     --sizes "N ..."  single-file sizes in MiB, to show peak memory against file size
#                      (default "20 200 800")
#     --many N         files in the many-files scenario (default 10; 0 skips it)
#     --many-size N    MiB per file in that scenario (default 20: 10 x 20 = 200 MiB)
#     --out FILE       also write the table as Markdown to FILE
#     --keep           keep the work directory (package files, stores, registry data, commands.log)
#
# Scenarios: one package `benchmany` with versions 1.0.0 .. 1.0.N-1 (one file each), then one
# package `benchoneS` per size S with a single file. Each file is a valid package whose payload
# is random bytes, stored uncompressed: a wheel or a .nupkg (a zip with METADATA or a .nuspec),
# or a .gem (a tar of metadata.gz, data.tar.gz gzipped at level 0, checksums.yaml.gz). For each
# scenario it measures, one child process at a time (E is the ecosystem; SPEC is NAME==V for
# pypi, NAME@V for nuget and rubygems):
#   opp push (registry)      opp --registry HOST push E DIR           (one command)
#   opp pull (registry)      opp --registry HOST pull E SPEC -o D     (one per version)
#   opp push (local store)   opp --store S push E DIR
#   opp pull (local store)   opp --store S pull E SPEC -o D
#   skopeo push (registry)   skopeo copy --all oci:S/E/NAME:V docker://HOST/bench-skopeo/NAME:V
#   skopeo pull (registry)   skopeo copy --all docker://HOST/E/NAME:V oci:D:V
# wall time, CPU time (user+sys) and peak RSS (GNU time's %M); every pulled file's sha256 is
# checked against the original. Needs docker-registry and skopeo (scripts/install-test-deps.sh
# oci), GNU time at /usr/bin/time (apt-get install time; GNU_TIME=PATH overrides), python3, cargo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ECOSYSTEM=pypi
SIZES="20 200 800"
MANY=10
MANY_SIZE=20
OUT=""
KEEP=0

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --ecosystem) [ $# -ge 2 ] || die "--ecosystem needs a value"; ECOSYSTEM="$2"; shift 2 ;;
    --sizes) [ $# -ge 2 ] || die "--sizes needs a value"; SIZES="$2"; shift 2 ;;
    --many) [ $# -ge 2 ] || die "--many needs a value"; MANY="$2"; shift 2 ;;
    --many-size) [ $# -ge 2 ] || die "--many-size needs a value"; MANY_SIZE="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case "$ECOSYSTEM" in
  pypi|nuget|rubygems) ;;
  *) die "--ecosystem takes pypi, nuget or rubygems, got '$ECOSYSTEM'" ;;
esac
for n in $SIZES; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--sizes takes whole MiB numbers >= 1, got '$SIZES'"
done
[ -n "${SIZES// /}" ] || die "--sizes needs at least one size"
[[ "$MANY" =~ ^[0-9]+$ ]] || die "--many takes a whole number, got '$MANY'"
[[ "$MANY_SIZE" =~ ^[1-9][0-9]*$ ]] || die "--many-size takes whole MiB >= 1, got '$MANY_SIZE'"
# --out is relative to where the script was started, not to the repository.
if [ -n "$OUT" ]; then
  case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
fi

for t in docker-registry skopeo; do
  command -v "$t" >/dev/null 2>&1 ||
    die "$t not found; install it with: scripts/install-test-deps.sh oci"
done
command -v python3 >/dev/null 2>&1 || die "python3 not found (apt-get install python3)"
# GNU time gives the child's own peak RSS (a Python wait4 would include Python's, see bench.py).
GNU_TIME="${GNU_TIME:-/usr/bin/time}"
"$GNU_TIME" --version 2>&1 | grep -q GNU ||
  die "GNU time not found at $GNU_TIME; install it with: apt-get install time"
command -v cargo >/dev/null 2>&1 || die "cargo not found"

echo "building opp (cargo build --release) ..."
(cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
OPP="$ROOT/target/release/opp"
[ -x "$OPP" ] || die "no binary at $OPP after the build"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/opp-bench.XXXXXX")"
REG_PID=""
PY_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  # The measuring program first: it stops the command it is measuring, then the registry.
  if [ -n "$PY_PID" ]; then
    kill -TERM "$PY_PID" 2>/dev/null || true
    wait "$PY_PID" 2>/dev/null || true
  fi
  if [ -n "$REG_PID" ]; then
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
  fi
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

. "$ROOT/scripts/lib/registry.sh"
start_registry "$WORK"

NOTE="opp $("$OPP" --version | awk '{print $2}') ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')), \
$(skopeo --version), $(docker-registry --version 2>/dev/null | awk '{print $2, $3}' || true); \
$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $(date -u +%Y-%m-%dT%H:%MZ)."
echo "registry on $HOST; work directory $WORK"
echo "$NOTE"

args=(--ecosystem "$ECOSYSTEM" --opp "$OPP" --time "$GNU_TIME" --registry "$HOST" --work "$WORK" --sizes "$SIZES"
  --many "$MANY" --many-size "$MANY_SIZE" --note "$NOTE")
[ -n "$OUT" ] && args+=(--out "$OUT")
# In the background and waited for, so that a signal to this script runs the trap at once.
python3 "$ROOT/scripts/bench/bench.py" "${args[@]}" &
PY_PID=$!
rc=0
wait "$PY_PID" || rc=$?
PY_PID=""
exit "$rc"
