#!/usr/bin/env bash
# `opp mirror terraform-provider` of one provider version for 4 platforms from a distant
# upstream, beside `curl` downloading the same 4 zips one by one from it, in the same run. The
# upstream (examples/tf_bench_upstream.rs) serves both a provider registry (signed SHA256SUMS,
# download documents) and a network mirror of the same zips, under two models of its latency
# (default 100 ms), each measured in every round: "per answer" (the server waits before each
# answer; connections and handshakes are free) and "per round trip" (a relay delays every byte
# by half the round trip each way and a new connection by one more round trip, so TCP connects
# and TLS handshakes cost what they cost on a far link); examples/tf_bench_upstream.rs says
# exactly what each models. opp mirrors into a fresh repository of a real docker-registry
# (scripts/lib/registry.sh). A benchmark, not a test: it prints figures and fails only when
# something breaks. The ratio opp/curl within one row is what counts; each row gives the 1-minute
# load average when it began.
#
#   scripts/bench-mirror-terraform.sh [--size MB] [--delay MS] [--rounds N] [--opp BINARY] [--keep]
#     --size MB      size of each zip's provider binary, random bytes (default 20)
#     --delay MS     the upstream's delay: per answer, and per round trip (default 100)
#     --rounds N     rounds of (curl, opp from the registry, opp from the mirror), per model (default 3)
#     --opp BINARY   the opp to measure (default: cargo build --release, target/release/opp)
#     --debug        build and measure debug binaries (a quick check of the script, not figures)
#     --keep         keep the work directory
#
# Needs docker-registry (scripts/install-test-deps.sh oci), gpg, curl, python3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE=20
DELAY=100
ROUNDS=3
OPP=""
KEEP=0
PROFILE=release
die() { echo "bench-mirror-terraform: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --delay) DELAY="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --opp) OPP="$2"; shift 2 ;;
    --debug) PROFILE=debug; shift ;;
    --keep) KEEP=1; shift ;;
    *) die "unknown argument $1 (see the top of $0)" ;;
  esac
done
for tool in docker-registry gpg curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found: scripts/install-test-deps.sh"
done
FLAGS=(--release)
[ "$PROFILE" = debug ] && FLAGS=()
echo "building opp and the upstream (cargo build ${FLAGS[*]}) ..."
(cd "$ROOT" && cargo build "${FLAGS[@]}" --locked --quiet --bin opp --example tf_bench_upstream) ||
  die "cargo build ${FLAGS[*]} --bin opp --example tf_bench_upstream failed"
UPSTREAM_BIN="$ROOT/target/$PROFILE/examples/tf_bench_upstream"
[ -n "$OPP" ] || OPP="$ROOT/target/$PROFILE/opp"
[ -x "$OPP" ] || die "no opp binary at $OPP"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/opp-bench-tf.XXXXXX")"
REG_PID=""
UP_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  for pid in "$UP_PID" "$REG_PID"; do
    [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  done
  if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT

. "$ROOT/scripts/lib/registry.sh"
start_registry "$WORK"

# The release: 4 zips, SHA256SUMS signed by a fresh key, written as a registry's documents and
# as a network mirror's.
export GNUPGHOME="$WORK/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-generate-key "opp bench <bench@opp.invalid>" rsa3072 sign never
KEY_ID="$(gpg --batch --quiet --with-colons --list-keys 2>/dev/null | awk -F: '$1 == "pub" {print $5; exit}')"
gpg --batch --armor --export "$KEY_ID" >"$WORK/key.asc"
SITE="$WORK/site"
python3 - "$SITE" "$SIZE" "$KEY_ID" "$WORK/key.asc" <<'PY'
import base64, hashlib, io, json, os, sys, zipfile
site, size, key_id, key_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
version, kind = "1.2.3", "hello"
platforms = [("linux", "amd64"), ("linux", "arm64"), ("darwin", "arm64"), ("windows", "amd64")]
files = os.path.join(site, "files")
os.makedirs(files)
sums, archives = [], {}
for os_, arch in platforms:
    exe = os.urandom(size * 1024 * 1024)
    name = f"terraform-provider-{kind}_v{version}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr(name, exe)
    data = buf.getvalue()
    zip_name = f"terraform-provider-{kind}_{version}_{os_}_{arch}.zip"
    with open(os.path.join(files, zip_name), "wb") as f:
        f.write(data)
    sha = hashlib.sha256(data).hexdigest()
    sums.append(f"{sha}  {zip_name}\n")
    # Terraform's h1: the dirhash of the zip's contents.
    summary = f"{hashlib.sha256(exe).hexdigest()}  {name}\n".encode()
    h1 = "h1:" + base64.b64encode(hashlib.sha256(summary).digest()).decode()
    archives[f"{os_}_{arch}"] = {"url": f"../../../../files/{zip_name}", "hashes": [h1, f"zh:{sha}"]}
sums_name = f"terraform-provider-{kind}_{version}_SHA256SUMS"
with open(os.path.join(files, sums_name), "w") as f:
    f.write("".join(sorted(sums, key=lambda l: l.split()[1])))
def write(path, doc):
    path = os.path.join(site, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)
write(".well-known/terraform.json", {"providers.v1": "/v1/providers/"})
write("v1/providers/acme/hello/versions", {"versions": [{"version": version, "protocols": ["5.0"],
    "platforms": [{"os": o, "arch": a} for o, a in platforms]}]})
armor = open(key_file).read()
for (o, a) in platforms:
    zip_name = f"terraform-provider-{kind}_{version}_{o}_{a}.zip"
    write(f"v1/providers/acme/hello/{version}/download/{o}/{a}", {
        "protocols": ["5.0"], "os": o, "arch": a, "filename": zip_name,
        "download_url": f"/files/{zip_name}", "shasums_url": f"/files/{sums_name}",
        "shasums_signature_url": f"/files/{sums_name}.sig",
        "shasum": hashlib.sha256(open(os.path.join(files, zip_name), "rb").read()).hexdigest(),
        "signing_keys": {"gpg_public_keys": [{"key_id": key_id, "ascii_armor": armor}]}})
write("mirror/registry.terraform.io/acme/hello/index.json", {"versions": {version: {}}})
write(f"mirror/registry.terraform.io/acme/hello/{version}.json", {"archives": archives})
PY
gpg --batch --quiet --detach-sign --output "$SITE/files/terraform-provider-hello_1.2.3_SHA256SUMS.sig" \
  "$SITE/files/terraform-provider-hello_1.2.3_SHA256SUMS"

"$UPSTREAM_BIN" "$SITE" "$DELAY" "$WORK/ca.pem" >"$WORK/upstream.url" 2>"$WORK/upstream.log" &
UP_PID=$!
for _ in $(seq 1 100); do [ "$(wc -l <"$WORK/upstream.url")" -ge 2 ] && break; sleep 0.1; done
PER_ANSWER="$(sed -n 1p "$WORK/upstream.url")"
PER_RTT="$(sed -n 2p "$WORK/upstream.url")"
[ -n "$PER_RTT" ] || { cat "$WORK/upstream.log" >&2; die "the upstream did not start"; }
export SSL_CERT_FILE="$WORK/ca.pem"
export OPP_STORE="$WORK/unused-store"
ZIPS=(linux_amd64 linux_arm64 darwin_arm64 windows_amd64)

now() { python3 -c 'import time; print(time.monotonic())'; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

# One row: curl fetching the 4 zips one by one (a new connection each, as a script of curls
# does), then opp from the registry, then opp from the network mirror, all from upstream URL.
measure() {
  local model="$1" url="$2" round="$3" host t0 t1 t2 t3 load
  host="${url#https://}"; host="${host%/}"
  load="$(cut -d' ' -f1 /proc/loadavg)"
  t0="$(now)"
  for p in "${ZIPS[@]}"; do
    curl -sSf --cacert "$WORK/ca.pem" -o "$WORK/curl.zip" "${url}files/terraform-provider-hello_1.2.3_$p.zip" ||
      die "curl of $p failed"
  done
  t1="$(now)"
  "$OPP" -q --registry "$HOST/$model-r$round" mirror terraform-provider acme/hello --upstream "$host" \
    >"$WORK/out.registry" 2>"$WORK/err.registry" || { cat "$WORK/err.registry" >&2; die "opp mirror from the registry failed"; }
  t2="$(now)"
  "$OPP" -q --registry "$HOST/$model-m$round" mirror terraform-provider acme/hello --upstream "${url}mirror/" \
    >"$WORK/out.mirror" 2>"$WORK/err.mirror" || { cat "$WORK/err.mirror" >&2; die "opp mirror from the network mirror failed"; }
  t3="$(now)"
  python3 -c "import sys; c, r, m = map(float, sys.argv[3:6]); print(f'| {sys.argv[1]} | {sys.argv[2]} | {c:.2f} | {r:.2f} | {r / c:.2f}x | {m:.2f} | {m / c:.2f}x | {sys.argv[6]} |')" \
    "$model" "$round" "$(elapsed "$t0" "$t1")" "$(elapsed "$t1" "$t2")" "$(elapsed "$t2" "$t3")" "$load"
}

echo "upstream ${DELAY} ms per answer at $PER_ANSWER, ${DELAY} ms per round trip at $PER_RTT;"
echo "4 zips of ${SIZE} MiB random bytes; $ROUNDS rounds, both models in each"
printf '| latency model | round | curl 4 zips one by one (s) | opp from the registry (s) | ratio | opp from the network mirror (s) | ratio | load (1 min) |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for round in $(seq 1 "$ROUNDS"); do
  measure per-answer "$PER_ANSWER" "$round"
  measure per-round-trip "$PER_RTT" "$round"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
