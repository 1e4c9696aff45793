#!/usr/bin/env bash
# Air-gap bundles against skopeo: opp export + opp import of N wheels (default 10 x 20 MiB =
# 200 MiB) between two repositories prefixes of a real local registry, beside `skopeo copy
# --all` of each of the same artifacts to an oci-archive and back (summed). A benchmark, not a
# test: it prints figures, and fails only when something breaks or a wheel differs afterwards.
#
#   scripts/bench-bundle.sh [--files N] [--size MiB] [--zstd] [--out FILE] [--keep]
#     --files N    wheels, one version each of one package (default 10)
#     --size MiB   MiB per wheel (default 20)
#     --zstd       export to a .tar.zst instead of a plain .tar
#     --out FILE   also write the table as Markdown to FILE
#     --keep       keep the work directory
#
# Measured, one command at a time, wall time and peak RSS (GNU time):
#   opp export     opp --registry HOST/src export pypi:benchbundle -o B.tar
#   opp import     opp --registry HOST/opp-dst import B.tar          (a fresh prefix)
#   skopeo out     skopeo copy --all docker://HOST/src/pypi/benchbundle:V oci-archive:A/V.tar:V  (per version)
#   skopeo in      skopeo copy --all oci-archive:A/V.tar:V docker://HOST/skopeo-dst/pypi/benchbundle:V
# OPP_BIN=PATH uses that opp instead of building one.
# Needs docker-registry and skopeo (scripts/install-test-deps.sh oci), GNU time, python3, cargo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILES=10
SIZE=20
EXT=tar
OUT=""
KEEP=0

die() { printf 'bench-bundle: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --files) [ $# -ge 2 ] || die "--files needs a value"; FILES="$2"; shift 2 ;;
    --size) [ $# -ge 2 ] || die "--size needs a value"; SIZE="$2"; shift 2 ;;
    --zstd) EXT=tar.zst; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$FILES" =~ ^[1-9][0-9]*$ ]] || die "--files takes a whole number >= 1, got '$FILES'"
[[ "$SIZE" =~ ^[1-9][0-9]*$ ]] || die "--size takes whole MiB >= 1, got '$SIZE'"
if [ -n "$OUT" ]; then
  case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
fi
for t in docker-registry skopeo python3 cargo; do
  command -v "$t" >/dev/null 2>&1 ||
    die "$t not found; install it with: scripts/install-test-deps.sh oci (python3, cargo: apt/rustup)"
done
GNU_TIME="${GNU_TIME:-/usr/bin/time}"
"$GNU_TIME" --version 2>&1 | grep -q GNU ||
  die "GNU time not found at $GNU_TIME; install it with: apt-get install time"

if [ -n "${OPP_BIN:-}" ]; then
  OPP="$OPP_BIN" # a binary already built (a check of this script; figures need --release)
else
  echo "building opp (cargo build --release) ..."
  (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
  OPP="$ROOT/target/release/opp"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/opp-bench-bundle.XXXXXX")"
REG_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  if [ -n "$REG_PID" ]; then
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

. "$ROOT/scripts/lib/registry.sh"
start_registry "$WORK"

echo "making $FILES wheels of $SIZE MiB ..."
mkdir -p "$WORK/wheels"
python3 - "$ROOT/scripts/bench" "$WORK/wheels" "$FILES" "$SIZE" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from bench import make_wheel
for i in range(int(sys.argv[3])):
    make_wheel(sys.argv[2], "benchbundle", f"1.0.{i}", int(sys.argv[4]))
PY
: >"$WORK/config.toml"
clean_env=(env -u OPP_REGISTRY -u OPP_STORE "OPP_CONFIG=$WORK/config.toml" "HOME=$WORK" "XDG_DATA_HOME=$WORK/data")
"${clean_env[@]}" "$OPP" -q --registry "$HOST/src" push pypi "$WORK/wheels" >/dev/null

# measure LABEL CMD...: appends "LABEL seconds maxrss_kib" to $WORK/times
measure() {
  local label="$1"; shift
  local start end
  start="$(date +%s.%N)"
  "$GNU_TIME" -f '%M' -o "$WORK/rss" "$@" >>"$WORK/commands.log" 2>&1 ||
    { tail -20 "$WORK/commands.log" >&2; die "$label failed: $*"; }
  end="$(date +%s.%N)"
  echo "$label $(echo "$end - $start" | bc) $(tail -1 "$WORK/rss")" >>"$WORK/times"
}
: >"$WORK/times"

BUNDLE="$WORK/bundle.$EXT"
measure "opp-export" "${clean_env[@]}" "$OPP" -q --registry "$HOST/src" export pypi:benchbundle -o "$BUNDLE"
measure "opp-import" "${clean_env[@]}" "$OPP" -q --registry "$HOST/opp-dst" import "$BUNDLE"
mkdir -p "$WORK/archives"
tls=(--src-tls-verify=false --dest-tls-verify=false)
for i in $(seq 0 $((FILES - 1))); do
  v="1.0.$i"
  measure "skopeo-out" skopeo copy -q "${tls[@]}" --all "docker://$HOST/src/pypi/benchbundle:$v" "oci-archive:$WORK/archives/$v.tar:$v"
  measure "skopeo-in" skopeo copy -q "${tls[@]}" --all "oci-archive:$WORK/archives/$v.tar:$v" "docker://$HOST/skopeo-dst/pypi/benchbundle:$v"
done

# Every wheel came through both ways byte for byte.
for dst in opp-dst skopeo-dst; do
  mkdir -p "$WORK/pulled-$dst"
  for i in $(seq 0 $((FILES - 1))); do
    "${clean_env[@]}" "$OPP" -q --registry "$HOST/$dst" pull pypi "benchbundle==1.0.$i" -o "$WORK/pulled-$dst" >/dev/null
  done
  for f in "$WORK"/wheels/*.whl; do
    cmp -s "$f" "$WORK/pulled-$dst/$(basename "$f")" || die "$(basename "$f") differs after $dst"
  done
done

MIB=$((FILES * SIZE))
python3 - "$WORK/times" "$MIB" "$FILES" "$EXT" "$OUT" "$(skopeo --version)" "$(nproc)" <<'PY'
import sys, collections
times, mib, files, ext, out, skopeo, cores = sys.argv[1:8]
sums = collections.defaultdict(float)
rss = collections.defaultdict(int)
runs = collections.Counter()
for line in open(times):
    label, secs, kib = line.split()
    sums[label] += float(secs)
    rss[label] = max(rss[label], int(kib))
    runs[label] += 1
opp = sums["opp-export"] + sums["opp-import"]
sk = sums["skopeo-out"] + sums["skopeo-in"]
rows = [
    ("opp export", "1", sums["opp-export"], rss["opp-export"]),
    ("opp import", "1", sums["opp-import"], rss["opp-import"]),
    ("opp total", "2", opp, max(rss["opp-export"], rss["opp-import"])),
    ("skopeo copy to oci-archive", str(runs["skopeo-out"]), sums["skopeo-out"], rss["skopeo-out"]),
    ("skopeo copy from oci-archive", str(runs["skopeo-in"]), sums["skopeo-in"], rss["skopeo-in"]),
    ("skopeo total", str(runs["skopeo-out"] + runs["skopeo-in"]), sk, max(rss["skopeo-out"], rss["skopeo-in"])),
]
lines = [
    f"{files} wheels, {mib} MiB, bundle .{ext}; {skopeo}; {cores} cores",
    "",
    "| step | commands | wall s | MiB/s | peak RSS MiB |",
    "|---|---|---|---|---|",
]
for name, n, secs, kib in rows:
    lines.append(f"| {name} | {n} | {secs:.2f} | {int(mib) / secs:.0f} | {kib / 1024:.0f} |")
lines += ["", f"opp / skopeo: {opp / sk:.2f}x (goal <= 1.0x)"]
text = "\n".join(lines)
print(text)
if out:
    with open(out, "a") as f:
        f.write(text + "\n\n")
PY
