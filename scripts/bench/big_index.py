#!/usr/bin/env python3
"""One PyPI version of N wheels (default 5,000): how long `opp list` and `opp show` take on it.

Responsible for: writing N tiny valid wheels of one version, each for another platform tag
(`big-1.0.0-py3-none-manylinux_2_<i>_x86_64.whl`, so each is another entry of the version's
index), pushing them with one `opp push pypi` to a registry and to a local store, checking the
index's size (registries refuse manifests over 4 MiB), and timing `opp list pypi big` and
`opp show pypi big==1.0.0` (best and median of --runs). Not a timed test: it prints figures.
Not responsible for: starting the registry or building opp. For example:

    url=$(../shared/scripts/start-registry.sh --dir /tmp/reg)   # or any plain-HTTP registry
    python3 scripts/bench/big_index.py --opp target/release/opp --registry "${url#http://}"
"""

import argparse
import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

NAME = "big"
VERSION = "1.0.0"


def record(data: bytes) -> str:
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={d},{len(data)}"


def make_wheels(out: str, count: int) -> None:
    info = f"{NAME}-{VERSION}.dist-info"
    # One METADATA for all: one config blob, as a real multi-platform release has.
    metadata = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode()
    for i in range(count):
        tag = f"py3-none-manylinux_2_{i}_x86_64"
        members = {
            f"{NAME}/__init__.py": f"PLATFORM = {i}\n".encode(),
            f"{info}/METADATA": metadata,
            f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: opp-bench\nRoot-Is-Purelib: false\nTag: {tag}\n".encode(),
        }
        lines = [f"{k},{record(v)}" for k, v in members.items()] + [f"{info}/RECORD,,"]
        members[f"{info}/RECORD"] = ("\n".join(lines) + "\n").encode()
        with zipfile.ZipFile(os.path.join(out, f"{NAME}-{VERSION}-{tag}.whl"), "w") as z:
            for k, v in members.items():
                z.writestr(k, v)


def run(cmd: list, env: dict) -> tuple:
    start = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"big_index: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return took, p.stdout


def index_size(registry: str) -> int:
    req = urllib.request.Request(
        f"http://{registry}/v2/pypi/{NAME}/manifests/{VERSION}",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    )
    with urllib.request.urlopen(req) as r:
        return len(r.read())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opp", required=True)
    ap.add_argument("--registry", required=True, help="HOST:PORT of a plain-HTTP registry")
    ap.add_argument("--entries", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="opp-big-index.") as work:
        wheels = os.path.join(work, "wheels")
        os.makedirs(wheels)
        make_wheels(wheels, args.entries)
        env = dict(os.environ, NO_COLOR="1", OPP_STORE=os.path.join(work, "store"))
        targets = [("registry", ["--registry", args.registry]), ("local store", [])]
        for where, flag in targets:
            took, _ = run([args.opp, *flag, "push", "pypi", wheels, "--json"], env)
            print(f"{where}: pushed {args.entries} wheels into one version in {took:.1f} s")
        size = index_size(args.registry)
        print(f"index: {size} bytes ({size / args.entries:.0f} per entry; limit 4194304)")
        for where, flag in targets:
            for what, cmd in [
                ("opp list pypi big", ["list", "pypi", NAME]),
                ("opp show pypi big==1.0.0", ["show", "pypi", f"{NAME}=={VERSION}", "--json"]),
            ]:
                times = []
                for _ in range(args.runs):
                    took, out = run([args.opp, *flag, *cmd], env)
                    times.append(took)
                if cmd[0] == "show":
                    files = len(json.loads(out)["files"])
                    if files != args.entries:
                        sys.exit(f"big_index: {what} lists {files} files, not {args.entries}")
                print(
                    f"{where}: {what}: best {min(times):.2f} s, median "
                    f"{statistics.median(times):.2f} s ({args.runs} runs)"
                )


if __name__ == "__main__":
    main()
