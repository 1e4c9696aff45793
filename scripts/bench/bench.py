#!/usr/bin/env python3
"""Benchmark body for scripts/bench.sh: generates packages, runs opp and skopeo, measures, reports.

Responsible for: making valid package files (wheels, .nupkg or .gem, by --ecosystem) of random
(incompressible) bytes, running each transfer as a child process under GNU time and measuring
its wall time, CPU time and peak RSS, checking that every pulled file has the original sha256,
and printing the table (and writing it as Markdown with --out).
Not responsible for: building opp, starting or stopping the registry, or cleaning up the work
directory; bench.sh does those (and its trap stops the registry on every exit).
"""

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile

MIB = 1 << 20


class BenchError(Exception):
    pass


class Interrupted(Exception):
    pass


def _interrupted(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


# ---------------------------------------------------------------- package files


class RandomBytes:
    """`size` random bytes as a readable file, hashed (sha256) as they are read."""

    def __init__(self, size: int):
        self.left = size
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = min(self.left if n < 0 else n, self.left, 4 * MIB)
        chunk = os.urandom(n)
        self.left -= n
        self.sha256.update(chunk)
        return chunk


def _payload_size(size_mib: int) -> int:
    """Random bytes in a package of about size_mib MiB (the rest is metadata and headers)."""
    return max(size_mib * MIB - 4096, 0)


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
        size = _payload_size(size_mib)
        src = RandomBytes(size)
        with zf.open(payload, "w", force_zip64=True) as f:
            shutil.copyfileobj(src, f, 4 * MIB)
        for arc, data in small.items():
            if arc != f"{name}/__init__.py":
                zf.writestr(arc, data)
        for arc, data in small.items():
            record.append(f"{arc},{_record_hash(hashlib.sha256(data))},{len(data)}")
        record.append(f"{payload},{_record_hash(src.sha256)},{size}")
        record.append(f"{dist_info}/RECORD,,")
        zf.writestr(f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode())
    return path


def make_nupkg(out_dir: str, name: str, version: str, size_mib: int) -> str:
    """Writes `<name>.<version>.nupkg` of about size_mib MiB; returns its path.

    A stored zip, as the wheel: `<name>.nuspec` at the root (id, version, authors,
    description), `[Content_Types].xml`, and the random bytes in `lib/netstandard2.0/`.
    """
    path = os.path.join(out_dir, f"{name}.{version}.nupkg")
    nuspec = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{name}</id>
    <version>{version}</version>
    <authors>opp-bench</authors>
    <description>opp benchmark package of {size_mib} MiB random bytes</description>
  </metadata>
</package>
"""
    content_types = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="nuspec" ContentType="application/octet" />\
<Default Extension="bin" ContentType="application/octet" /></Types>
"""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(f"{name}.nuspec", nuspec)
        zf.writestr("[Content_Types].xml", content_types)
        with zf.open("lib/netstandard2.0/_payload.bin", "w", force_zip64=True) as f:
            shutil.copyfileobj(RandomBytes(_payload_size(size_mib)), f, 4 * MIB)
    return path


GEMSPEC_YAML = """\
--- !ruby/object:Gem::Specification
name: {name}
version: !ruby/object:Gem::Version
  version: {version}
platform: ruby
authors:
- opp-bench
autorequire:
bindir: bin
cert_chain: []
date: {date} 00:00:00.000000000 Z
dependencies: []
description:
email:
executables: []
extensions: []
extra_rdoc_files: []
files:
- lib/{name}.rb
- lib/{name}/_payload.bin
homepage:
licenses:
- MIT
metadata: {{}}
post_install_message:
rdoc_options: []
require_paths:
- lib
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
required_rubygems_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
requirements: []
rubygems_version: 3.3.15
signing_key:
specification_version: 4
summary: opp benchmark gem of {size_mib} MiB random bytes
test_files: []
"""


def make_gem(out_dir: str, name: str, version: str, size_mib: int) -> str:
    """Writes `<name>-<version>.gem` of about size_mib MiB; returns its path.

    A plain tar, as `gem build` writes it: `metadata.gz` (the YAML Gem::Specification of
    RubyGems 3.3), `data.tar.gz` (lib/<name>.rb and the random bytes in
    lib/<name>/_payload.bin, gzipped at level 0: stored, so its size is real) and
    `checksums.yaml.gz` (SHA256 and SHA512 of the other two). data.tar.gz is written to a
    temporary file first, because a tar member's size comes before its bytes.
    """
    path = os.path.join(out_dir, f"{name}-{version}.gem")
    now = int(time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(now))

    def info(member: str, size: int, mode: int = 0o444) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(member)
        ti.size, ti.mode, ti.mtime = size, mode, now
        return ti

    metadata = gzip.compress(
        GEMSPEC_YAML.format(name=name, version=version, date=date, size_mib=size_mib).encode(),
        mtime=0)
    data = path + ".data.tar.gz.tmp"
    try:
        with open(data, "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=0, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            rb = f"# Benchmark gem {name} {version}.\n".encode()
            tar.addfile(info(f"lib/{name}.rb", len(rb), 0o644), io.BytesIO(rb))
            size = _payload_size(size_mib)
            tar.addfile(info(f"lib/{name}/_payload.bin", size, 0o644), RandomBytes(size))
        checksums = "---\n"
        for algo in ("sha256", "sha512"):
            with open(data, "rb") as f:
                checksums += (f"{algo.upper()}:\n"
                              f"  metadata.gz: {hashlib.new(algo, metadata).hexdigest()}\n"
                              f"  data.tar.gz: {hashlib.file_digest(f, algo).hexdigest()}\n")
        checksums_gz = gzip.compress(checksums.encode(), mtime=0)
        with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as gem, open(data, "rb") as f:
            gem.addfile(info("metadata.gz", len(metadata)), io.BytesIO(metadata))
            gem.addfile(info("data.tar.gz", os.path.getsize(data)), f)
            gem.addfile(info("checksums.yaml.gz", len(checksums_gz)), io.BytesIO(checksums_gz))
    finally:
        if os.path.exists(data):
            os.remove(data)
    return path


class Ecosystem:
    """What differs between ecosystems: the file generator, how `opp pull` names one version,
    and the word for one package file in the output."""

    def __init__(self, make, spec: str, noun: str):
        self.make, self.spec, self.noun = make, spec, noun


ECOSYSTEMS = {
    "pypi": Ecosystem(make_wheel, "{name}=={version}", "wheel"),
    "nuget": Ecosystem(make_nupkg, "{name}@{version}", "nupkg"),
    "rubygems": Ecosystem(make_gem, "{name}@{version}", "gem"),
}


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
        self.eco_name = args.ecosystem
        self.eco = ECOSYSTEMS[args.ecosystem]
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
        eco, noun = self.eco_name, self.eco.noun
        base = os.path.join(self.work, name)
        files_dir = os.path.join(base, noun + "s")
        os.makedirs(files_dir)
        t0 = time.perf_counter()
        files = {}  # version -> (file name, sha256, bytes)
        for v in versions:
            p = self.eco.make(files_dir, name, v, size_mib)
            files[v] = (os.path.basename(p), sha256_file(p), os.path.getsize(p))
        total_mib = sum(w[2] for w in files.values()) / MIB
        print(f"== {label}: {len(versions)} {noun}(s), {total_mib:.0f} MiB "
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
            self.runner.run([self.opp, *reg, "push", eco, files_dir]))
        r = row("opp", "pull", "registry", n)
        out = os.path.join(base, "pull-opp-registry")
        for v in versions:
            spec = self.eco.spec.format(name=name, version=v)
            r.add(self.runner.run([self.opp, *reg, "pull", eco, spec, "-o", out]))
        self.check_files(out, files, "opp pull from the registry")

        # opp <-> local store (also the OCI layouts skopeo pushes from)
        row("opp", "push", "local store", 1).add(
            self.runner.run([self.opp, *local, "push", eco, files_dir]))
        r = row("opp", "pull", "local store", n)
        out = os.path.join(base, "pull-opp-local")
        for v in versions:
            spec = self.eco.spec.format(name=name, version=v)
            r.add(self.runner.run([self.opp, *local, "pull", eco, spec, "-o", out]))
        self.check_files(out, files, "opp pull from the local store")

        # skopeo: the same OCI content, layout -> registry and registry -> layout
        r = row("skopeo", "push", "registry", n)
        for v in versions:
            r.add(self.runner.run([
                self.skopeo, "copy", "--quiet", "--all", "--dest-tls-verify=false",
                f"oci:{store}/{eco}/{name}:{v}", f"docker://{self.host}/bench-skopeo/{name}:{v}",
            ]))
        r = row("skopeo", "pull", "registry", n)
        layout = os.path.join(base, "pull-skopeo")
        for v in versions:
            # From the repository opp pushed: this also shows skopeo reads what opp wrote.
            r.add(self.runner.run([
                self.skopeo, "copy", "--quiet", "--all", "--src-tls-verify=false",
                f"docker://{self.host}/{eco}/{name}:{v}", f"oci:{layout}:{v}",
            ]))
        self.check_blobs(layout, files, "skopeo pull from the registry")
        # What is left (the package files, the local store) goes with the work directory; the pulled copies
        # go now so that the 800 MiB scenario does not keep four copies on disk.
        for d in ("pull-opp-registry", "pull-opp-local", "pull-skopeo"):
            shutil.rmtree(os.path.join(base, d), ignore_errors=True)

    def check_files(self, out_dir: str, files: dict, what: str):
        for file_name, sha, _ in files.values():
            path = os.path.join(out_dir, file_name)
            if not os.path.isfile(path):
                raise BenchError(f"{what}: {path} was not written")
            got = sha256_file(path)
            if got != sha:
                raise BenchError(f"{what}: {path} has sha256 {got}, the original has {sha}")

    def check_blobs(self, layout: str, files: dict, what: str):
        """Each original package file must be a blob of the layout, found through index.json."""
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
        for file_name, sha, _ in files.values():
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


def memory_vs_size(rows, sizes, noun: str) -> list:
    """One line per tool/direction/via: peak RSS at the smallest and the largest single file."""
    if len(sizes) < 2:
        return []
    lo, hi = f"1 x {min(sizes)} MiB", f"1 x {max(sizes)} MiB"
    by = {(r.scenario, r.tool, r.direction, r.where): r.rss for r in rows}
    lines = [f"peak RSS, single {noun} of {min(sizes)} MiB -> {max(sizes)} MiB:"]
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
    ap.add_argument("--ecosystem", choices=sorted(ECOSYSTEMS), default="pypi",
                    help="what to push and pull: wheels, .nupkg or .gem files")
    ap.add_argument("--sizes", default="20 200 800", help="single-file sizes in MiB")
    ap.add_argument("--many", type=int, default=10, help="files in the many-versions scenario")
    ap.add_argument("--many-size", type=int, default=20, help="MiB per file in that scenario")
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
    summary = memory_vs_size(bench.rows, sizes, bench.eco.noun)
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
