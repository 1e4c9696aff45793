#!/usr/bin/env python3
"""Benchmark body for `scripts/bench-proxy.sh --wheels DIR`: real wheels, the store on a registry.

Responsible for: starting a docker-registry (access log kept), pushing the wheels of DIR to it,
and measuring, in one run:
  - `pip download --no-deps -r reqs.txt` of every wheel: from a static PEP 503 tree served by
    `python3 -m http.server` (B), through `opp --registry R proxy -- pip download ...`
    (opp starts cold, serves, stops) and against an `opp proxy` already serving (warm; pip on
    its plain HTTP listener either way),
    for opp (and --opp-before, the build before the cache, when given); with the registry
    requests each install cost, from the registry's access log, and opp's peak RSS (VmHWM);
  - push of all the wheels and pull of all of them, opp beside skopeo (one skopeo copy per
    package, in a row, as a script would do it), wall time and peak RSS (GNU time).
Every downloaded or pulled file is checked against the original's sha256.
Not responsible for: fetching the wheels (pip download them into DIR first), building opp, or
stopping what it started on an interruption (bench-proxy.sh's trap does, from the pid file).
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import zipfile

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy import (  # noqa: E402  (the shared process and tree helpers)
    CA_VARS, BenchError, PidFile, Server, free_port, run_child, static_tree)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel_project(path: str) -> tuple:
    """(normalized name, version, METADATA bytes) of a wheel."""
    name, version = os.path.basename(path).split("-")[:2]
    with zipfile.ZipFile(path) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = z.read(meta)
    return re.sub(r"[-_.]+", "-", name).lower(), version, metadata


def vm_hwm_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) if m else 0


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.pids = PidFile(args.pids)
        self.log = os.path.join(self.work, "commands.log")
        self.servers = []
        home = os.path.join(self.work, "home")
        os.makedirs(home)
        open(os.path.join(home, "opp-config.toml"), "w").close()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PIP_", "OPP_", "PYTHON", "REGISTRY_")) and k not in CA_VARS
               and not k.lower().endswith("_proxy")}
        env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_DATA_HOME=os.path.join(home, ".local/share"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"),
                   OPP_CONFIG=os.path.join(home, "opp-config.toml"),
                   PIP_CONFIG_FILE="/dev/null", PIP_DISABLE_PIP_VERSION_CHECK="1",
                   PIP_NO_INPUT="1", NO_COLOR="1")
        self.env = env
        self.opps = [("opp", args.opp)]
        if args.opp_before:
            self.opps.append(("opp before the cache", args.opp_before))
        self.n = 0

    def scratch(self, what: str) -> str:
        self.n += 1
        return os.path.join(self.work, "out", f"{what}-{self.n}")

    # -- set-up

    def prepare(self):
        self.wheels = sorted(glob.glob(os.path.join(self.args.wheels, "*.whl")))
        if not self.wheels:
            raise BenchError(f"no .whl files in {self.args.wheels}")
        projects, self.sha = {}, {}
        for path in self.wheels:
            name, version, metadata = wheel_project(path)
            if name in projects:
                raise BenchError(f"two wheels of {name} in {self.args.wheels}: keep one")
            projects[name] = (path, metadata, version)
            self.sha[os.path.basename(path)] = sha256_file(path)
        self.bytes = sum(os.path.getsize(p) for p in self.wheels)
        self.reqs = os.path.join(self.work, "requirements.txt")
        with open(self.reqs, "w") as f:
            f.write("".join(f"{n}=={v}\n" for n, (_, _, v) in sorted(projects.items())))
        self.static = os.path.join(self.work, "static")
        static_tree(self.static, {n: (p, m) for n, (p, m, _) in projects.items()})

        self.registry, self.host = self.start_registry("registry")
        run_child([self.args.opp, "--registry", f"{self.host}/opp", "-q", "push", "pypi",
                   self.args.wheels], self.env, self.log, self.pids)
        self.layout = os.path.join(self.work, "layout")
        run_child([self.args.opp, "--store", self.layout, "-q", "push", "pypi",
                   self.args.wheels], self.env, self.log, self.pids)

        port = free_port()
        self.http = Server([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                            "--directory", self.static, str(port)], self.env,
                           os.path.join(self.work, "http-server.log"), self.pids)
        self.servers.append(self.http)
        self.http.wait_listening(port, "python3 -m http.server")
        self.static_index = f"http://127.0.0.1:{port}/simple/"

    def start_registry(self, name: str) -> tuple:
        """A docker-registry of its own in work/NAME: (server, HOST:PORT)."""
        port = free_port()
        reg_dir = os.path.join(self.work, name)
        os.makedirs(reg_dir)
        config = os.path.join(reg_dir, "config.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: "
                    f"{{rootdirectory: {reg_dir}/data}}\nhttp:\n  addr: 127.0.0.1:{port}\n"
                    f"  secret: opp-bench\n")
        server = Server([self.args.registry_bin, "serve", config], self.env,
                        os.path.join(self.work, f"{name}.log"), self.pids)
        self.servers.append(server)
        server.wait_listening(port, "docker-registry")
        return server, f"127.0.0.1:{port}"

    def registry_requests(self) -> int:
        with open(self.registry.log_path, errors="replace") as f:
            return sum(1 for ln in f if re.search(r'\] "(GET|HEAD|PUT|POST|PATCH) ', ln))

    def check(self, out_dir: str, what: str):
        got = {os.path.basename(p): sha256_file(p) for p in glob.glob(f"{out_dir}/**/*.whl",
                                                                      recursive=True)}
        if got != self.sha:
            missing = sorted(set(self.sha) - set(got))
            raise BenchError(f"{what}: the files in {out_dir} are not the originals "
                             f"(missing or different: {missing[:5]} ...)")
        shutil.rmtree(out_dir)

    def pip_download(self, out_dir: str, index: str = None) -> list:
        cmd = [self.args.pip, "download", "--no-deps", "--no-cache-dir", "--quiet", "-d",
               out_dir, "-r", self.reqs]
        return cmd + (["--index-url", index] if index else [])

    # -- pip download through the proxy

    def serve(self, opp: str) -> tuple:
        """`opp proxy` serving (pip gets its plain HTTP listener); (server, its index URL with
        the secret)."""
        s = Server([opp, "--registry", f"{self.host}/opp", "proxy", "--ecosystems", "pypi"], self.env, os.path.join(self.work, f"serve-{len(self.servers)}.log"),
                   self.pids)
        self.servers.append(s)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            url = re.search(r"export OPP_PROXY_PYPI_URL=(\S+)", s.text())
            token = re.search(r"export OPP_PROXY_TOKEN=(\S+)", s.text())
            if url and token:
                base = url.group(1).strip("'")
                if not base.startswith("http://"):
                    raise BenchError(f"opp proxy gave pip {base}, not its plain HTTP listener")
                base = base.replace("http://", "", 1)
                return s, f"http://opp:{token.group(1)}@{base}simple/"
            if s.proc.poll() is not None:
                raise BenchError(f"opp proxy exited while starting:\n{s.text()[-2000:]}")
            time.sleep(0.05)
        raise BenchError("opp proxy printed no OPP_PROXY_PYPI_URL and OPP_PROXY_TOKEN")

    def downloads(self) -> list:
        variants = [("B: pip download <- python3 -m http.server", None, None)]
        served = []
        for label, opp in self.opps:
            variants.append((f"A: {label} proxy -- pip download (cold)", opp, None))
            server, index = self.serve(opp)
            served.append((label, server))
            variants.append((f"{label} proxy, serving (warm)", opp, (server, index)))
        results = {v[0]: [] for v in variants}
        requests = {v[0]: [] for v in variants}
        for n in range(self.args.runs + 1):
            for label, opp, serving in variants:
                out = self.scratch("pip")
                if opp is None:
                    cmd = self.pip_download(out, self.static_index)
                elif serving is None:
                    cmd = [opp, "--registry", f"{self.host}/opp", "-q", "proxy",
                           "--ecosystems", "pypi", "--", *self.pip_download(out)]
                else:
                    cmd = self.pip_download(out, serving[1])
                before = self.registry_requests()
                wall, _ = run_child(cmd, self.env, self.log, self.pids)
                asked = self.registry_requests() - before
                self.check(out, label)
                if n > 0:
                    results[label].append(wall)
                    requests[label].append(asked)
            print(f"  pip round {n}/{self.args.runs}{' (warm-up)' if n == 0 else ''} done",
                  flush=True)
        rss = {}
        for label, server in served:
            rss[label] = vm_hwm_kib(server.pid)
            server.stop(signal.SIGINT)
        base = statistics.median(results[variants[0][0]])
        rows = []
        for label, opp, serving in variants:
            med = statistics.median(results[label])
            peak = "-"
            if serving is not None:
                peak = f"{rss[[l for l, o in self.opps if o == opp][0]] / 1024:.1f}"
            rows.append([label, str(len(results[label])), f"{med:.3f}",
                         f"{min(results[label]):.3f}", f"{max(results[label]):.3f}",
                         f"{statistics.median(requests[label]):.0f}", peak,
                         f"{med / base:.2f}"])
        return rows

    # -- push and pull beside skopeo

    def timed(self, cmds: list) -> tuple:
        """Runs the commands in a row under GNU time: (wall s summed, peak RSS MiB of any)."""
        wall, peak = 0.0, 0
        for cmd in cmds:
            out = os.path.join(self.work, "time.out")
            t0 = time.perf_counter()
            run_child([self.args.time, "-f", "%M", "-o", out, *cmd], self.env, self.log,
                      self.pids)
            wall += time.perf_counter() - t0
            with open(out) as f:
                peak = max(peak, int(f.read().strip().splitlines()[-1]))
        return wall, peak / 1024

    def layout_refs(self) -> list:
        """(repository, tag) of every version in the local layout, as skopeo names them."""
        refs = []
        for index in glob.glob(os.path.join(self.layout, "pypi", "*", "index.json")):
            repo = os.path.relpath(os.path.dirname(index), self.layout)
            with open(index) as f:
                for m in json.load(f).get("manifests", []):
                    tag = (m.get("annotations") or {}).get("org.opencontainers.image.ref.name")
                    if tag:
                        refs.append((repo, tag))
        if len(refs) != len(self.wheels):
            raise BenchError(f"{len(refs)} tags in {self.layout}, {len(self.wheels)} wheels")
        return sorted(refs)

    def transfers(self) -> list:
        refs = self.layout_refs()
        skopeo = [self.args.skopeo, "copy", "--all", "--quiet"]
        names = [line.strip() for line in open(self.reqs) if line.strip()]
        rows = {}
        for n in range(self.args.runs):
            # Each push into a registry of its own: skopeo remembers which blobs a registry
            # has (its blob info cache) and would mount them instead of sending them again.
            push_reg, push_host = self.start_registry(f"push-registry-{n}")
            pushes = [
                ("opp push (one command)", [[self.args.opp, "--registry",
                                             f"{push_host}/opp", "-q", "push", "pypi",
                                             self.args.wheels]]),
                ("skopeo push (one copy per package)", [
                    [*skopeo, "--dest-tls-verify=false", f"oci:{self.layout}/{r}:{t}",
                     f"docker://{push_host}/skopeo/{r}:{t}"] for r, t in refs]),
            ]
            pull_dir = self.scratch("pull")
            pulls = [("opp pull -r requirements.txt (one command)",
                      [[self.args.opp, "--registry", f"{self.host}/opp", "-q", "pull", "pypi",
                        "-r", self.reqs, "-o", pull_dir]], pull_dir)]
            if self.args.opp_before:
                d = self.scratch("pull")
                pulls.append(("opp before: pull NAME==V (one per package)",
                              [[self.args.opp_before, "--registry", f"{self.host}/opp", "-q",
                                "pull", "pypi", r, "-o", d] for r in names], d))
            d = self.scratch("pull")
            for r, _ in refs:
                os.makedirs(os.path.join(d, r), exist_ok=True)
            pulls.append(("skopeo pull (one copy per package)", [
                [*skopeo, "--src-tls-verify=false", f"docker://{self.host}/opp/{r}:{t}",
                 f"oci:{d}/{r}:{t}"] for r, t in refs], d))
            for label, cmds in pushes:
                rows.setdefault(("push", label), []).append(self.timed(cmds))
            push_reg.stop(signal.SIGTERM)
            shutil.rmtree(os.path.join(self.work, f"push-registry-{n}", "data"))
            for label, cmds, out in pulls:
                rows.setdefault(("pull", label), []).append(self.timed(cmds))
                if not label.startswith("skopeo"):
                    self.check(out, label)
                else:
                    blobs = glob.glob(f"{out}/**/blobs/sha256/*", recursive=True)
                    have = {os.path.basename(b) for b in blobs}
                    if not set(self.sha.values()) <= have:
                        raise BenchError(f"{label}: a wheel's blob is missing from {out}")
                    shutil.rmtree(out)
            print(f"  push/pull round {n + 1}/{self.args.runs} done", flush=True)
        out = []
        for direction in ("push", "pull"):
            sk = [v for (d, l), v in rows.items() if d == direction and l.startswith("skopeo")][0]
            sk_med = statistics.median(w for w, _ in sk)
            for (d, label), values in rows.items():
                if d != direction:
                    continue
                med = statistics.median(w for w, _ in values)
                out.append([label, str(len(values)), f"{med:.2f}",
                            f"{self.bytes / (1 << 20) / med:.0f}",
                            f"{max(p for _, p in values):.1f}", f"{med / sk_med:.2f}"])
        return out


DOWNLOAD_HEADER = ["variant", "runs", "median s", "min s", "max s", "registry requests",
                   "opp peak RSS MiB", "/ B"]
TRANSFER_HEADER = ["command", "runs", "median s", "MiB/s", "peak RSS MiB", "/ skopeo"]


def markdown(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---" if i == 0 else "---:" for i in range(len(header))) + " |"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opp", required=True)
    ap.add_argument("--opp-before", help="another opp build to measure beside (e.g. main)")
    ap.add_argument("--pip", required=True)
    ap.add_argument("--skopeo", default="skopeo")
    ap.add_argument("--registry-bin", default="docker-registry")
    ap.add_argument("--time", default="/usr/bin/time", help="GNU time")
    ap.add_argument("--wheels", required=True, help="a directory of .whl files, one per project")
    ap.add_argument("--work", required=True)
    ap.add_argument("--pids", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    try:
        bench.prepare()
        print(f"{len(bench.wheels)} wheels, {bench.bytes / (1 << 20):.0f} MiB, registry "
              f"{bench.host}", flush=True)
        downloads = bench.downloads()
        transfers = bench.transfers()
    except BenchError as e:
        print(f"bench-proxy: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        for s in bench.servers:
            try:
                s.stop(signal.SIGTERM, timeout=5)
            except BenchError as e:
                print(f"bench-proxy: {e}", file=sys.stderr)
    text = (f"{args.note}\n\n`pip download --no-deps -r requirements.txt` of {len(bench.wheels)} "
            f"real wheels ({bench.bytes / (1 << 20):.0f} MiB), the store on a local "
            f"docker-registry; {args.runs} timed runs per variant, taking turns, after one "
            f"warm-up round. \"registry requests\": median per install, from the registry's "
            f"access log.\n\n" + markdown(DOWNLOAD_HEADER, downloads) +
            f"\n\nPush and pull of the same wheels, {args.runs} runs; wall time of the whole "
            f"set, peak RSS of the largest single process (GNU time).\n\n" +
            markdown(TRANSFER_HEADER, transfers) + "\n")
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"tables written to {args.out}")


if __name__ == "__main__":
    main()
