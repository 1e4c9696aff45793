#!/usr/bin/env bash
# `opp mirror pypi` beside what a user would do without it, into a fresh local registry, in one
# run: A) opp mirror pypi SPEC for one target; B) pip download of the same closure into a
# directory, then opp push pypi of that directory. Also C) the mirror of one large wheel, for
# peak memory against file size. A benchmark, not a test: it prints figures (wall time, CPU,
# peak RSS from GNU time's %M) and fails only when something breaks.
#
#   scripts/bench-mirror.sh [--spec SPEC] [--python-version X.Y] [--platform TAG]
#                           [--large SPEC] [--opp BINARY] [--out FILE] [--keep]
#     --spec SPEC         what to mirror with its dependencies (default: sphinx==8.1.3)
#     --python-version    the target Python (default 3.12)
#     --platform TAG      the target platform (default manylinux_2_17_x86_64)
#     --large SPEC        one large wheel for the memory check (default: scipy==1.14.1; "" skips)
#     --opp BINARY        the opp to measure (default: cargo build --release, target/release/opp)
#     --out FILE          also append the table as Markdown to FILE
#     --keep              keep the work directory
#
# Both sides take wheels only (pip download needs --only-binary=:all: with --platform), from
# the same index (PIP_INDEX_URL if set, else https://pypi.org/simple/), with no cache. Needs
# docker-registry, pip (scripts/install-test-deps.sh), GNU time at /usr/bin/time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPEC="sphinx==8.1.3"
PYV="3.12"
PLATFORM="manylinux_2_17_x86_64"
LARGE="scipy==1.14.1"
OPP=""
OUT=""
KEEP=0
die() { echo "bench-mirror: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --spec) SPEC="$2"; shift 2 ;;
    --python-version) PYV="$2"; shift 2 ;;
    --platform) PLATFORM="$2"; shift 2 ;;
    --large) LARGE="$2"; shift 2 ;;
    --opp) OPP="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) die "unknown argument $1 (see the top of $0)" ;;
  esac
done
if [ -n "$OUT" ]; then case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac; fi

GNU_TIME="${GNU_TIME:-/usr/bin/time}"
"$GNU_TIME" --version 2>&1 | grep -q GNU || die "GNU time not found at $GNU_TIME (apt-get install time)"
command -v docker-registry >/dev/null || die "docker-registry not found: scripts/install-test-deps.sh oci"
TOOLS="${OPP_TEST_TOOLS:-$HOME/.cache/opp-test-tools}"
PIP="$(command -v pip || true)"
[ -x "$TOOLS/bin/pip" ] && PIP="$TOOLS/bin/pip"
[ -n "$PIP" ] || die "pip not found: scripts/install-test-deps.sh"
if [ -z "$OPP" ]; then
  echo "building opp (cargo build --release) ..."
  (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
  OPP="$ROOT/target/release/opp"
fi
[ -x "$OPP" ] || die "no opp binary at $OPP"
INDEX="${PIP_INDEX_URL:-https://pypi.org/simple/}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/opp-bench-mirror.XXXXXX")"
REG_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  [ -n "$REG_PID" ] && { kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; }
  if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT

. "$ROOT/scripts/lib/registry.sh"
start_registry "$WORK"

# measure NAME COMMAND...: runs it under GNU time, appends "NAME wall cpu rss_kib" to $WORK/t.
measure() {
  local name="$1"; shift
  "$GNU_TIME" -f "%e %U %S %M" -o "$WORK/time.$name" "$@" >"$WORK/out.$name" 2>"$WORK/err.$name" ||
    { tail -20 "$WORK/err.$name" >&2; die "$name failed: $*"; }
  read -r wall user sys rss <"$WORK/time.$name"
  echo "$name $wall $(echo "$user + $sys" | bc) $rss" >>"$WORK/t"
}

export OPP_STORE="$WORK/unused-store"
TARGET=(--python-version "$PYV" --platform "$PLATFORM" --only-binary :all:)
echo "A: opp mirror pypi $SPEC into $HOST/mirror ..."
measure mirror "$OPP" -q --registry "$HOST/mirror" mirror pypi "$SPEC" --upstream "$INDEX" "${TARGET[@]}" --json
mirrored=$(python3 -c 'import json,sys; print(sum(1 for r in json.load(open(sys.argv[1])) if r["status"]=="added"))' "$WORK/out.mirror")
echo "B: pip download $SPEC, then opp push pypi into $HOST/pushed ..."
measure pip env PIP_CONFIG_FILE=/dev/null "$PIP" download --no-cache-dir --disable-pip-version-check \
  --index-url "$INDEX" --dest "$WORK/dl" --python-version "$PYV" --platform "$PLATFORM" \
  --only-binary=:all: "$SPEC"
downloaded=$(find "$WORK/dl" -type f | wc -l)
measure push "$OPP" -q --registry "$HOST/pushed" push pypi "$WORK/dl"
if [ -n "$LARGE" ]; then
  echo "C: opp mirror pypi $LARGE (no dependencies followed: pinned in a requirements file) ..."
  echo "$LARGE" >"$WORK/large.txt"
  measure large "$OPP" -q --registry "$HOST/large" mirror pypi -r "$WORK/large.txt" --upstream "$INDEX" "${TARGET[@]}" --json
  large_bytes=$(python3 -c 'import json,sys; print(sum(r.get("size") or 0 for r in json.load(open(sys.argv[1]))))' "$WORK/out.large")
fi

python3 - "$WORK/t" "$SPEC" "$mirrored" "$downloaded" "${LARGE:-}" "${large_bytes:-0}" "$INDEX" <<'EOF' | tee "$WORK/table.md"
import sys
rows = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(sys.argv[1])}
spec, mirrored, downloaded, large, large_bytes, index = sys.argv[2:8]
m, p, u = rows["mirror"], rows["pip"], rows["push"]
print(f"`{spec}` from {index}: opp mirror added {mirrored} files; pip download got {downloaded}.\n")
print("| step | wall s | CPU s | peak RSS MiB |")
print("|---|---|---|---|")
for name, r in [("opp mirror pypi", m), ("pip download", p), ("opp push pypi (of pip's directory)", u)]:
    print(f"| {name} | {r[0]:.2f} | {r[1]:.2f} | {r[2]/1024:.0f} |")
both = p[0] + u[0]
print(f"| pip download + opp push | {both:.2f} | {p[1]+u[1]:.2f} | {max(p[2],u[2])/1024:.0f} |")
if large:
    l = rows["large"]
    print(f"| opp mirror pypi {large} ({int(large_bytes)/2**20:.0f} MiB) | {l[0]:.2f} | {l[1]:.2f} | {l[2]/1024:.0f} |")
print(f"\nopp mirror / (pip download + opp push): {m[0]/both:.2f}x wall time.")
EOF
if [ -n "$OUT" ]; then
  { echo; echo "## opp mirror pypi, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"; echo; cat "$WORK/table.md"; } >>"$OUT"
fi
