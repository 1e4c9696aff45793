#!/usr/bin/env bash
# Concurrent writers against a real registry: N `opp push pypi` processes at once, each pushing
# a different wheel of the same version, for R rounds (one new version per round). Afterwards
# every round's version must list every wheel, and every push must have exited 0.
# A soak test, not a unit test: it prints figures and fails when a file was lost or a push failed.
#
#   scripts/soak.sh [--procs N] [--rounds R] [--opp BIN] [--keep]
#     --procs N    concurrent pushes per round (default 8)
#     --rounds R   rounds (default 20)
#     --opp BIN    the opp binary to run (default: cargo build, then target/debug/opp)
#     --keep       keep the work directory (wheels, registry data and log, each push's output)
#
# Needs docker-registry (scripts/install-test-deps.sh oci), python3 and cargo. The registry is
# started as tests/support/registry.rs starts it: Debian's docker-registry (distribution 2.8)
# on a free 127.0.0.1 port, filesystem storage in the work directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROCS=8
ROUNDS=20
OPP=""
KEEP=0

die() { printf 'soak: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --procs) [ $# -ge 2 ] || die "--procs needs a value"; PROCS="$2"; shift 2 ;;
    --rounds) [ $# -ge 2 ] || die "--rounds needs a value"; ROUNDS="$2"; shift 2 ;;
    --opp) [ $# -ge 2 ] || die "--opp needs a value"; OPP="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$PROCS" =~ ^[1-9][0-9]*$ ]] || die "--procs takes a whole number >= 1, got '$PROCS'"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds takes a whole number >= 1, got '$ROUNDS'"
command -v docker-registry >/dev/null 2>&1 ||
  die "docker-registry not found; install it with: scripts/install-test-deps.sh oci"
command -v python3 >/dev/null 2>&1 || die "python3 not found (apt-get install python3)"
if [ -z "$OPP" ]; then
  command -v cargo >/dev/null 2>&1 || die "cargo not found (or pass --opp BIN)"
  echo "building opp (cargo build) ..."
  (cd "$ROOT" && cargo build --quiet) || die "cargo build failed"
  OPP="$ROOT/target/debug/opp"
fi
[ -x "$OPP" ] || die "no opp binary at $OPP"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/opp-soak.XXXXXX")"
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

# One small valid wheel per (round, process): soak-1.0.R-py3-none-manylinux_2_P_x86_64.whl,
# so every process of a round adds another entry (platform) to the same version.
python3 - "$WORK/wheels" "$ROUNDS" "$PROCS" <<'PY'
import base64, hashlib, os, sys, zipfile
out, rounds, procs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def rec(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={d},{len(data)}"
for r in range(1, rounds + 1):
    version = f"1.0.{r}"
    d = os.path.join(out, str(r))
    os.makedirs(d)
    for p in range(1, procs + 1):
        tag = f"py3-none-manylinux_2_{p}_x86_64"
        info = f"soak-{version}.dist-info"
        members = {
            "soak/__init__.py": f"ROUND = {r}\nPROCESS = {p}\n".encode(),
            f"{info}/METADATA": f"Metadata-Version: 2.1\nName: soak\nVersion: {version}\n".encode(),
            f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: opp-soak\nRoot-Is-Purelib: false\nTag: {tag}\n".encode(),
        }
        lines = [f"{k},{rec(v)}" for k, v in members.items()] + [f"{info}/RECORD,,"]
        members[f"{info}/RECORD"] = ("\n".join(lines) + "\n").encode()
        with zipfile.ZipFile(os.path.join(d, f"soak-{version}-{tag}.whl"), "w") as z:
            for k, v in members.items():
                z.writestr(k, v)
PY

export NO_COLOR=1 OPP_STORE="$WORK/unused-local-store"
echo "registry on $HOST; $PROCS processes x $ROUNDS rounds; opp $OPP"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
lost_total=0
silent_total=0
failed_total=0
start_all=$(date +%s.%N)
for r in $(seq 1 "$ROUNDS"); do
  version="1.0.$r"
  pids=()
  wheels=()
  t0=$(date +%s.%N)
  for w in "$WORK/wheels/$r"/*.whl; do
    log="$WORK/push-$r-$(basename "$w").log"
    "$OPP" --registry "$HOST/soak" push pypi "$w" >"$log" 2>&1 &
    pids+=($!)
    wheels+=("$(basename "$w")")
  done
  failed=0
  failed_names=""
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      failed=$((failed + 1))
      failed_names+="${wheels[$i]}"$'\n'
    fi
  done
  t1=$(date +%s.%N)
  listed="$("$OPP" --registry "$HOST/soak" show pypi "soak==$version" --json |
    python3 -c 'import json, sys; print("\n".join(sorted(f["name"] for f in json.load(sys.stdin)["files"])))')"
  lost=0
  silent=0
  for name in "${wheels[@]}"; do
    if ! grep -qxF "$name" <<<"$listed"; then
      lost=$((lost + 1))
      grep -qxF "$name" <<<"$failed_names" || silent=$((silent + 1))
    fi
  done
  lost_total=$((lost_total + lost))
  silent_total=$((silent_total + silent))
  failed_total=$((failed_total + failed))
  printf 'round %2d: %d pushes in %.2f s, %d failed, %d of %d files lost (%d of them pushed with exit 0)\n' \
    "$r" "${#pids[@]}" "$(echo "$t1 - $t0" | bc)" "$failed" "$lost" "$PROCS" "$silent"
  if [ "$failed" -gt 0 ]; then
    grep -h '^error' "$WORK"/push-"$r"-*.log | sort | uniq -c | sed 's/^/    /' || true
  fi
done
end_all=$(date +%s.%N)
server_errors=$(grep -c 'http.response.status=500\|status=500' "$WORK/registry.log" || true)
printf 'total: %d pushes in %.1f s, %d failed, %d of %d files lost (%d of them pushed with exit 0); the registry logged %s HTTP 500s\n' \
  "$((PROCS * ROUNDS))" "$(echo "$end_all - $start_all" | bc)" "$failed_total" "$lost_total" \
  "$((PROCS * ROUNDS))" "$silent_total" "$server_errors"
[ "$lost_total" -eq 0 ] && [ "$failed_total" -eq 0 ]
