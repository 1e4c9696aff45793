#!/usr/bin/env python3
"""Benchmark body for scripts/bench.sh: generates wheels, runs opp and skopeo, measures, reports.

Responsible for: making valid wheels of random (incompressible) bytes, running each transfer
as a child process under GNU time and measuring its wall time, CPU time and peak RSS, checking that every pulled file has the original sha256, and printing the
table (and writing it as Markdown with --out).
Not responsible for: building opp, starting or stopping the registry, or cleaning up the work
directory; bench.sh does those (and its trap stops the registry on every exit).
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

MIB = 1 << 20


class BenchError(Exception):
    pass


class Interrupted(Exception):
    pass


def _interrupted(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


# ---------------------------------------------------------------- wheels


def _record_hash(data_sha: "hashlib._Hash") -> str:
    return "sha256=" + base64.urlsafe_b64encode(data_sha.digest()).rstrip(b"=").decode()


def make_wheel(out_dir: str, name: str, version: str, size_mib: int) -> str:
    """Writes `<name>-<version>-py3-none-any.whl` of about size_mib MiB; returns its path.

    The archive is stored (not deflated) so that writing it costs only the random bytes; the
    payload module `<name>/_payload.bin` carries them, so nothing downstream can compress it.
    METADATA, WHEEL and RECORD are valid (RECORD lists every file's sha256 and size).
    """
    path = os.path.join(out_dir, f"{name}-{version}-py3-none-any.whl")
    dist_info = f"{name}-{version}.dist-info"
    small = {
        f"{name}/__init__.py": f'"""Benchmark package {name} {version}."""\n'.encode(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: opp benchmark wheel of {size_mib} MiB random bytes\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: opp-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ).encode(),
    }
    record = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(f"{name}/__init__.py", small[f"{name}/__init__.py"])
        payload = f"{name}/_payload.bin"
        h = hashlib.sha256()
        size = max(size_mib * MIB - 4096, 0)
        with zf.open(payload, "w", force_zip64=True) as f:
            left = size
            while left:
                chunk = os.urandom(min(left, 4 * MIB))
                h.update(chunk)
                f.write(chunk)
                left -= len(chunk)
        for arc, data in small.items():
            if arc != f"{name}/__init__.py":
                zf.writestr(arc, data)
        for arc, data in small.items():
            record.append(f"{arc},{_record_hash(hashlib.sha256(data))},{len(data)}")
        record.append(f"{payload},{_record_hash(h)},{size}")
        record.append(f"{dist_info}/RECORD,,")
        zf.writestr(f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode())
    return path


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- measuring


class Runner:
    """Runs commands as children and records (wall s, CPU s, peak RSS MiB) for each.

    Peak RSS comes from GNU time, not from this process's own wait4: Python starts children
    with vfork, and exec then carries the parent's high-water RSS (~15-25 MiB of Python) into
    the child's ru_maxrss, which would hide everything below it. time itself is ~1 MiB.
    """

    def __init__(self, log_path: str, env: dict, gnu_time: str):
        self.log_path = log_path
        self.env = env
        self.time = gnu_time
        self.stats = log_path + ".time"

    def run(self, cmd: list) -> tuple:
        with open(self.log_path, "ab") as log:
            log.write(("\n$ " + " ".join(cmd) + "\n").encode())
            log.flush()
            start_offset = log.tell()
            t0 = time.perf_counter()
            # Its own process group, so that an interruption stops time *and* the tool.
            p = subprocess.Popen(
                [self.time, "-f", "%U %S %M", "-o", self.stats, *cmd],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                start_new_session=True,
            )
            try:
                rc = p.wait()
            except BaseException:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise
            wall = time.perf_counter() - t0
        if rc != 0:
            with open(self.log_path, "rb") as log:
                log.seek(start_offset)
                tail = log.read().decode(errors="replace")[-3000:]
            raise BenchError(f"`{' '.join(cmd)}` exited {rc}:\n{tail}")
        with open(self.stats) as f:
            # The last line: time puts "Command exited with non-zero status" lines before it.
            user, system, max_kib = f.read().split("\n")[-2].split()
        return wall, float(user) + float(system), int(max_kib) / 1024


class Row:
    def __init__(self, scenario, tool, direction, where, mib, runs):
        self.scenario, self.tool, self.direction, self.where = scenario, tool, direction, where
        self.mib, self.runs = mib, runs
        self.wall = self.cpu = self.rss = 0.0

    def add(self, measured):
        wall, cpu, rss = measured
        self.wall += wall
        self.cpu += cpu
        self.rss = max(self.rss, rss)

    def cells(self):
        rate = self.mib / self.wall if self.wall else float("inf")
        return [
            self.scenario, self.tool, self.direction, self.where, f"{self.mib:.0f}",
            str(self.runs), f"{self.wall:.2f}", f"{rate:.0f}", f"{self.cpu:.2f}", f"{self.rss:.1f}",
        ]


HEADER = ["scenario", "tool", "direction", "via", "MiB", "runs", "wall s", "MiB/s", "CPU s",
          "peak RSS MiB"]


# ---------------------------------------------------------------- scenarios


class Bench:
    def __init__(self, args):
        self.opp = args.opp
        self.skopeo = args.skopeo
        self.host = args.registry
        self.work = args.work
        self.rows = []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPP_", "REGISTRY_"))}
        # No user config, no docker credentials, no containers auth file: an anonymous registry.
        cfg = os.path.join(self.work, "home")
        os.makedirs(os.path.join(cfg, "docker"), exist_ok=True)
        open(os.path.join(cfg, "opp-config.toml"), "w").close()
        env.update(
            HOME=cfg,
            XDG_CONFIG_HOME=os.path.join(cfg, ".config"),
            XDG_DATA_HOME=os.path.join(cfg, ".local/share"),
            OPP_CONFIG=os.path.join(cfg, "opp-config.toml"),
            DOCKER_CONFIG=os.path.join(cfg, "docker"),
            REGISTRY_AUTH_FILE=os.path.join(cfg, "auth.json"),
            NO_COLOR="1",
        )
        self.runner = Runner(os.path.join(self.work, "commands.log"), env, args.time)

    def scenario(self, label: str, name: str, versions: list, size_mib: int):
        base = os.path.join(self.work, name)
        wheels_dir = os.path.join(base, "wheels")
        os.makedirs(wheels_dir)
        t0 = time.perf_counter()
        wheels = {}  # version -> (file name, sha256, bytes)
        for v in versions:
            p = make_wheel(wheels_dir, name, v, size_mib)
            wheels[v] = (os.path.basename(p), sha256_file(p), os.path.getsize(p))
        total_mib = sum(w[2] for w in wheels.values()) / MIB
        print(f"== {label}: {len(versions)} wheel(s), {total_mib:.0f} MiB "
              f"(generated in {time.perf_counter() - t0:.1f} s)", flush=True)
        n = len(versions)
        reg = ["--registry", self.host, "-q"]
        store = os.path.join(base, "store")
        local = ["--store", store, "-q"]

        def row(tool, direction, where, runs):
            r = Row(label, tool, direction, where, total_mib, runs)
            self.rows.append(r)
            return r

        # opp <-> registry
        row("opp", "push", "registry", 1).add(
            self.runner.run([self.opp, *reg, "push", "pypi", wheels_dir]))
        r = row("opp", "pull", "registry", n)
        out = os.path.join(base, "pull-opp-registry")
        for v in versions:
            r.add(self.runner.run([self.opp, *reg, "pull", "pypi", f"{name}=={v}", "-o", out]))
        self.check_files(out, wheels, "opp pull from the registry")

        # opp <-> local store (also the OCI layouts skopeo pushes from)
        row("opp", "push", "local store", 1).add(
            self.runner.run([self.opp, *local, "push", "pypi", wheels_dir]))
        r = row("opp", "pull", "local store", n)
        out = os.path.join(base, "pull-opp-local")
        for v in versions:
            r.add(self.runner.run([self.opp, *local, "pull", "pypi", f"{name}=={v}", "-o", out]))
        self.check_files(out, wheels, "opp pull from the local store")

        # skopeo: the same OCI content, layout -> registry and registry -> layout
        r = row("skopeo", "push", "registry", n)
        for v in versions:
            r.add(self.runner.run([
                self.skopeo, "copy", "--quiet", "--all", "--dest-tls-verify=false",
                f"oci:{store}/pypi/{name}:{v}", f"docker://{self.host}/bench-skopeo/{name}:{v}",
            ]))
        r = row("skopeo", "pull", "registry", n)
        layout = os.path.join(base, "pull-skopeo")
        for v in versions:
            # From the repository opp pushed: this also shows skopeo reads what opp wrote.
            r.add(self.runner.run([
                self.skopeo, "copy", "--quiet", "--all", "--src-tls-verify=false",
                f"docker://{self.host}/pypi/{name}:{v}", f"oci:{layout}:{v}",
            ]))
        self.check_blobs(layout, wheels, "skopeo pull from the registry")
        # What is left (wheels, the local store) goes with the work directory; the pulled copies
        # go now so that the 800 MiB scenario does not keep four copies on disk.
        for d in ("pull-opp-registry", "pull-opp-local", "pull-skopeo"):
            shutil.rmtree(os.path.join(base, d), ignore_errors=True)

    def check_files(self, out_dir: str, wheels: dict, what: str):
        for file_name, sha, _ in wheels.values():
            path = os.path.join(out_dir, file_name)
            if not os.path.isfile(path):
                raise BenchError(f"{what}: {path} was not written")
            got = sha256_file(path)
            if got != sha:
                raise BenchError(f"{what}: {path} has sha256 {got}, the original has {sha}")

    def check_blobs(self, layout: str, wheels: dict, what: str):
        """Each original wheel must be a blob of the layout, found through index.json."""
        with open(os.path.join(layout, "index.json")) as f:
            top = json.load(f)
        layers = set()

        def walk(desc):
            with open(os.path.join(layout, "blobs", *desc["digest"].split(":"))) as f:
                doc = json.load(f)
            for m in doc.get("manifests", []):
                walk(m)
            for layer in doc.get("layers", []):
                layers.add(layer["digest"])

        for m in top.get("manifests", []):
            walk(m)
        for file_name, sha, _ in wheels.values():
            if f"sha256:{sha}" not in layers:
                raise BenchError(f"{what}: no layer sha256:{sha} ({file_name}) in {layout}")
            got = sha256_file(os.path.join(layout, "blobs", "sha256", sha))
            if got != sha:
                raise BenchError(f"{what}: blob of {file_name} has sha256 {got}, not {sha}")


def table_text(rows) -> str:
    cells = [HEADER] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    right = {4, 5, 6, 7, 8, 9}
    lines = []
    for k, c in enumerate(cells):
        lines.append("  ".join(
            (s.rjust(widths[i]) if i in right else s.ljust(widths[i])) for i, s in enumerate(c)
        ).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def memory_vs_size(rows, sizes) -> list:
    """One line per tool/direction/via: peak RSS at the smallest and the largest single wheel."""
    if len(sizes) < 2:
        return []
    lo, hi = f"1 x {min(sizes)} MiB", f"1 x {max(sizes)} MiB"
    by = {(r.scenario, r.tool, r.direction, r.where): r.rss for r in rows}
    lines = [f"peak RSS, single wheel of {min(sizes)} MiB -> {max(sizes)} MiB:"]
    for r in rows:
        if r.scenario != lo:
            continue
        key = (r.tool, r.direction, r.where)
        big = by.get((hi, *key))
        if big is not None:
            lines.append(f"  {' '.join(key):<24} {r.rss:6.1f} -> {big:6.1f} MiB "
                         f"({big - r.rss:+.1f} MiB)")
    return lines


def table_markdown(rows) -> str:
    align = ["---" if i < 4 else "---:" for i in range(len(HEADER))]
    lines = ["| " + " | ".join(HEADER) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opp", required=True)
    ap.add_argument("--skopeo", default="skopeo")
    ap.add_argument("--time", default="/usr/bin/time", help="GNU time")
    ap.add_argument("--registry", required=True, help="HOST:PORT of a plain-HTTP registry")
    ap.add_argument("--work", required=True, help="an empty work directory")
    ap.add_argument("--sizes", default="20 200 800", help="single-wheel sizes in MiB")
    ap.add_argument("--many", type=int, default=10, help="wheels in the many-versions scenario")
    ap.add_argument("--many-size", type=int, default=20, help="MiB per wheel in that scenario")
    ap.add_argument("--out", help="write the table as Markdown to this file")
    ap.add_argument("--note", default="", help="a line printed above the Markdown table")
    args = ap.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split()]
    except ValueError:
        sys.exit(f"bench: --sizes must be whole MiB numbers, got {args.sizes!r}")
    if not sizes or any(s < 1 for s in sizes):
        sys.exit(f"bench: --sizes must be at least one number >= 1, got {args.sizes!r}")

    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    bench = Bench(args)
    t0 = time.perf_counter()
    try:
        if args.many > 0:
            versions = [f"1.0.{i}" for i in range(args.many)]
            bench.scenario(f"{args.many} x {args.many_size} MiB", "benchmany", versions,
                           args.many_size)
        for s in sizes:
            bench.scenario(f"1 x {s} MiB", f"benchone{s}", ["1.0.0"], s)
    except Interrupted as e:
        sys.exit(f"bench: interrupted ({e})")
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        if bench.rows:
            print(table_text(bench.rows), file=sys.stderr)
        sys.exit(1)
    print()
    print(table_text(bench.rows))
    summary = memory_vs_size(bench.rows, sizes)
    if summary:
        print()
        print("\n".join(summary))
    print(f"\nall pulled files matched the originals' sha256; "
          f"total {time.perf_counter() - t0:.0f} s")
    if args.out:
        with open(args.out, "w") as f:
            if args.note:
                f.write(args.note + "\n\n")
            f.write(table_markdown(bench.rows) + "\n")
            if summary:
                f.write("\n```\n" + "\n".join(summary) + "\n```\n")
        print(f"table written to {args.out}")


if __name__ == "__main__":
    main()
