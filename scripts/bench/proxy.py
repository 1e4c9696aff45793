#!/usr/bin/env python3
"""Benchmark body for scripts/bench-proxy.sh: pip through `opp proxy` beside a static index.

Responsible for: making one app wheel that depends on N library wheels (so one
`pip install pxbench-app` resolves them all), pushing them into a fresh local store and laying
the same files out as a static PEP 503 tree; starting `python3 -m http.server` over that tree
and `opp proxy --http` in serve mode; timing `pip install` each way (interleaved, after one
warm-up round), then the per-request latency of both servers on one connection; stopping opp
with SIGINT and checking it exits 0; printing the tables (and writing them as Markdown with
--out).
Not responsible for: building opp or removing the work directory; bench-proxy.sh does those,
and its trap stops every process group still listed in the --pids file (this script lists
each server and each measured command while it runs), should this script die first.
"""

import argparse
import base64
import hashlib
import html
import http.client
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import zipfile

APP = "pxbench-app"
VERSION = "1.0.0"
MISSING = "pxbench-no-such-project"
# Variables that would change what pip trusts: dropped from every child's environment (opp
# sets its own for HTTPS, as a user's shell would not).
CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


class BenchError(Exception):
    pass


class Interrupted(Exception):
    pass


def _interrupted(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


# ---------------------------------------------------------------- wheels


def lib_name(i: int) -> str:
    return f"pxbench-lib-{i:02d}"


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_wheel(out_dir: str, name: str, requires: list, payload_kib: int) -> tuple:
    """Writes `<module>-1.0.0-py3-none-any.whl`; returns (path, METADATA bytes).

    A valid pure-Python wheel: `<module>/__init__.py` sets VERSION, `<module>/_data.py` holds
    about payload_kib KiB of base64 text, METADATA has Requires-Python and one Requires-Dist
    per entry of `requires`, RECORD lists every member's sha256 and size.
    """
    module = name.replace("-", "_")
    info = f"{module}-{VERSION}.dist-info"
    metadata = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {VERSION}\n"
        f"Summary: opp proxy benchmark wheel\nRequires-Python: >=3.8\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires)
    ).encode()
    text = base64.b64encode(os.urandom(payload_kib * 768)).decode()
    lines = "\n".join(f'    "{text[i:i + 76]}"' for i in range(0, len(text), 76))
    members = [
        (f"{module}/__init__.py", f'VERSION = "{VERSION}"\n'.encode()),
        (f"{module}/_data.py", f"DATA = (\n{lines}\n)\n".encode()),
        (f"{info}/METADATA", metadata),
        (f"{info}/WHEEL",
         b"Wheel-Version: 1.0\nGenerator: opp-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = "".join(f"{arc},{_record_hash(data)},{len(data)}\n" for arc, data in members)
    record += f"{info}/RECORD,,\n"
    path = os.path.join(out_dir, f"{module}-{VERSION}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arc, data in members:
            zf.writestr(arc, data)
        zf.writestr(f"{info}/RECORD", record)
    return path, metadata


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def static_tree(root: str, wheels: dict):
    """A PEP 503 tree as a static server serves it: `simple/index.html`,
    `simple/<name>/index.html` whose link carries `#sha256=`, `data-requires-python` and the
    PEP 658/714 metadata attributes (as PyPI and opp give them), and `files/<wheel>` beside
    `files/<wheel>.metadata`. Both indexes thus offer pip the same requests."""
    files = os.path.join(root, "files")
    os.makedirs(files)
    links = []
    for name, (path, metadata) in sorted(wheels.items()):
        file_name = os.path.basename(path)
        shutil.copyfile(path, os.path.join(files, file_name))
        with open(os.path.join(files, file_name + ".metadata"), "wb") as f:
            f.write(metadata)
        with open(path, "rb") as f:
            sha = sha256_hex(f.read())
        meta = sha256_hex(metadata)
        page_dir = os.path.join(root, "simple", name)
        os.makedirs(page_dir)
        with open(os.path.join(page_dir, "index.html"), "w") as f:
            f.write(
                f"<!DOCTYPE html>\n<html><head><title>Links for {name}</title></head>\n<body>\n"
                f"<h1>Links for {name}</h1>\n"
                f'<a href="../../files/{file_name}#sha256={sha}" '
                f'data-requires-python="{html.escape(">=3.8")}" '
                f'data-dist-info-metadata="sha256={meta}" data-core-metadata="sha256={meta}">'
                f"{file_name}</a><br/>\n</body></html>\n"
            )
        links.append(f'<a href="{name}/">{name}</a><br/>')
    with open(os.path.join(root, "simple", "index.html"), "w") as f:
        f.write("<!DOCTYPE html>\n<html><body>\n" + "\n".join(links) + "\n</body></html>\n")


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PidFile:
    """The process groups this script has running, one id a line, for bench-proxy.sh's trap.
    A group is listed from its start until it has been waited for, never after: its id may
    then belong to someone else."""

    def __init__(self, path: str):
        self.path = path
        self.live = []

    def add(self, pid: int):
        self.live.append(pid)
        self._write()

    def remove(self, pid: int):
        if pid in self.live:
            self.live.remove(pid)
            self._write()

    def _write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("".join(f"{p}\n" for p in self.live))
        os.replace(tmp, self.path)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A server process started by this script, listed in the pid file until it has exited."""

    def __init__(self, cmd: list, env: dict, log_path: str, pids: PidFile):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.pids = pids
        # Its own session: a Ctrl-C at the terminal reaches this script, which stops it.
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
        pids.add(self.proc.pid)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_listening(self, port: int, what: str, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{what} exited {self.proc.returncode} while starting:\n"
                                 f"{self.text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise BenchError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")

    def stop(self, sig=signal.SIGTERM, timeout: float = 10.0) -> tuple:
        """Sends `sig` and waits; returns (exit status, seconds it took). SIGKILL (and an
        error) when it has not exited within `timeout`."""
        took = 0.0
        try:
            if self.proc.poll() is None:
                t0 = time.perf_counter()
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    raise BenchError(
                        f"pid {self.pid} did not exit within {timeout:.0f} s of {sig.name}")
                took = time.perf_counter() - t0
        finally:
            self.log.close()
            # Reaped: its id is no longer ours. (Interrupted while waiting, it stays listed.)
            if self.proc.returncode is not None:
                self.pids.remove(self.pid)
        return self.proc.returncode, took


def run_child(cmd: list, env: dict, log_path: str, pids: PidFile) -> tuple:
    """Runs `cmd` to its end; returns (wall s, CPU s of it and of the children it waited for)."""
    with open(log_path, "ab") as log:
        log.write(("\n$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        start = log.tell()
        t0 = time.perf_counter()
        # Its own process group, so that an interruption stops opp *and* pip.
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
        pids.add(p.pid)
        try:
            # wait4: this child's own rusage (opp's includes pip's, which opp waits for).
            _, status, usage = os.wait4(p.pid, 0)
        except BaseException:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
        finally:
            pids.remove(p.pid)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        with open(log_path, "rb") as log:
            log.seek(start)
            tail = log.read().decode(errors="replace")[-3000:]
        raise BenchError(f"`{' '.join(cmd)}` exited {p.returncode}:\n{tail}")
    return wall, usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, args):
        self.opp = args.opp
        self.pip = args.pip
        self.work = args.work
        self.pids = PidFile(args.pids)
        self.runs = args.runs
        self.requests = args.requests
        self.libs = args.libs
        self.kib = args.wheel_kib
        self.log = os.path.join(self.work, "commands.log")
        self.servers = []
        self.http_server = self.opp_server = None
        home = os.path.join(self.work, "home")
        os.makedirs(home)
        open(os.path.join(home, "opp-config.toml"), "w").close()
        # No pip configuration, CA or proxy variables from the machine (PIP_FIND_LINKS,
        # PIP_CERT, ... would change what pip does), no opp settings: only what each variant
        # says counts. Both sides get the same environment.
        env = {
            k: v for k, v in os.environ.items()
            if not k.startswith(("PIP_", "OPP_", "PYTHON")) and k not in CA_VARS
            and not k.lower().endswith("_proxy")
        }
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=os.path.join(home, ".config"),
            XDG_DATA_HOME=os.path.join(home, ".local/share"),
            XDG_CACHE_HOME=os.path.join(home, ".cache"),
            OPP_CONFIG=os.path.join(home, "opp-config.toml"),
            PIP_CONFIG_FILE="/dev/null",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PIP_NO_INPUT="1",
            NO_COLOR="1",
        )
        self.env = env
        self.store = os.path.join(self.work, "store")
        self.names = [APP] + [lib_name(i) for i in range(1, self.libs + 1)]
        self.installs = 0

    # -- set-up

    def prepare(self):
        wheels_dir = os.path.join(self.work, "wheels")
        os.makedirs(wheels_dir)
        self.wheels = {}
        for i in range(1, self.libs + 1):
            self.wheels[lib_name(i)] = make_wheel(wheels_dir, lib_name(i), [], self.kib)
        requires = [f"{lib_name(i)}>=1.0" for i in range(1, self.libs + 1)]
        self.wheels[APP] = make_wheel(wheels_dir, APP, requires, self.kib)
        self.wheel_bytes = sum(os.path.getsize(p) for p, _ in self.wheels.values())
        run_child([self.opp, "--store", self.store, "-q", "push", "pypi", wheels_dir], self.env,
                  self.log, self.pids)
        self.static = os.path.join(self.work, "static")
        static_tree(self.static, self.wheels)

    def start_servers(self):
        port = free_port()
        self.http_server = self.server(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
             self.static, str(port)], "http-server.log")
        self.http_server.wait_listening(port, "python3 -m http.server")
        self.static_port = port
        self.static_index = f"http://127.0.0.1:{port}/simple/"

        self.opp_server = self.server(
            [self.opp, "--store", self.store, "proxy", "--http"], "opp-serve.log")
        base = self.wait_for_url(self.opp_server)
        parsed = urllib.parse.urlsplit(base)
        if parsed.scheme != "http" or parsed.hostname != "127.0.0.1" or not parsed.port:
            raise BenchError(
                f"opp proxy --http printed OPP_PROXY_URL={base}, not http://127.0.0.1:PORT")
        self.opp_server.wait_listening(parsed.port, "opp proxy --http")
        self.opp_port = parsed.port
        self.opp_index = f"{base}/pypi/simple/"

    def server(self, cmd: list, log_name: str) -> Server:
        s = Server(cmd, self.env, os.path.join(self.work, log_name), self.pids)
        self.servers.append(s)
        return s

    @staticmethod
    def wait_for_url(server: Server, timeout: float = 15.0) -> str:
        """OPP_PROXY_URL, from the exports opp prints in serve mode."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"^\s*export OPP_PROXY_URL=(\S+)\s*$", server.text(), re.M)
            if m:
                return m.group(1).strip("'")
            if server.proc.poll() is not None:
                raise BenchError(f"opp proxy exited {server.proc.returncode} while starting:\n"
                                 f"{server.text()[-3000:]}")
            time.sleep(0.02)
        raise BenchError(f"opp proxy printed no `export OPP_PROXY_URL=` within {timeout:.0f} s:"
                         f"\n{server.text()[-3000:]}")

    def stop_servers(self):
        """Stops whatever still runs (after an error or an interruption)."""
        for s in self.servers:
            try:
                s.stop(signal.SIGTERM, timeout=5)
            except BenchError as e:
                print(f"bench-proxy: {e}", file=sys.stderr)

    # -- pip install

    def target(self) -> str:
        self.installs += 1
        return os.path.join(self.work, "site", str(self.installs))

    def pip_install(self, target: str, index: str = None) -> list:
        cmd = [self.pip, "install", "--no-cache-dir", "--quiet", "--target", target]
        if index:
            cmd += ["--index-url", index]
        return cmd + [APP]

    def check_installed(self, target: str, what: str):
        for name in self.names:
            module = name.replace("-", "_")
            for member in (f"{module}/_data.py", f"{module}-{VERSION}.dist-info/RECORD"):
                if not os.path.isfile(os.path.join(target, member)):
                    raise BenchError(f"{what}: {member} is missing from {target}")
        shutil.rmtree(target)

    def variants(self) -> list:
        """(key, label, command for a target directory, server to measure the CPU of)."""
        proxy = [self.opp, "--store", self.store, "-q", "proxy"]
        true = shutil.which("true") or "/bin/true"
        return [
            ("static", "B: pip <- python3 -m http.server",
             lambda t: self.pip_install(t, self.static_index), self.http_server),
            ("http", "A: opp proxy --http -- pip",
             lambda t: [*proxy, "--http", "--", *self.pip_install(t)], None),
            ("https", "A: opp proxy -- pip (HTTPS)",
             lambda t: [*proxy, "--", *self.pip_install(t)], None),
            ("serve", "pip <- opp proxy --http (serving)",
             lambda t: self.pip_install(t, self.opp_index), self.opp_server),
            ("start-http", "opp proxy --http -- true",
             lambda t: [*proxy, "--http", "--", true], None),
            ("start-https", "opp proxy -- true (HTTPS)",
             lambda t: [*proxy, "--", true], None),
        ]

    def install_rounds(self) -> dict:
        variants = self.variants()
        results = {key: [] for key, *_ in variants}
        # One round to warm the page cache (pip's own modules, the store), not counted; then
        # the variants take turns, so that a change of load on a shared machine hits them alike.
        for n in range(self.runs + 1):
            for key, label, make, server in variants:
                target = self.target()
                before = cpu_seconds(server.pid) if server else None
                wall, cpu = run_child(make(target), self.env, self.log, self.pids)
                server_cpu = cpu_seconds(server.pid) - before if server else None
                if not key.startswith("start"):
                    self.check_installed(target, label)
                if n > 0:
                    results[key].append((wall, cpu, server_cpu))
            print(f"  round {n}/{self.runs}{' (warm-up, not counted)' if n == 0 else ''} done",
                  flush=True)
        return results

    def count_requests(self) -> dict:
        """One more install each way, not timed, counting the requests pip makes and (from
        opp's debug log) the time opp's handlers took: where an install's time goes."""
        before = len(self.http_server.text().splitlines())
        target = self.target()
        run_child(self.pip_install(target, self.static_index), self.env, self.log, self.pids)
        self.check_installed(target, "counting run (static)")
        lines = self.http_server.text().splitlines()[before:]
        static = sum(1 for ln in lines if re.search(r'"(GET|HEAD) ', ln))

        env = dict(self.env, OPP_LOG="opp=debug")
        log = os.path.join(self.work, "opp-debug.log")
        target = self.target()
        run_child([self.opp, "--store", self.store, "proxy", "--http", "--",
                   *self.pip_install(target)], env, log, self.pids)
        self.check_installed(target, "counting run (opp)")
        with open(log, errors="replace") as f:
            handled = [int(ms) for ms in re.findall(r"(?:GET|HEAD) \S+ -> \d+ in (\d+) ms",
                                                    f.read())]
        return {"static": static, "opp": len(handled), "opp_ms": sum(handled)}

    # -- latency

    def latency(self) -> list:
        rows = []
        for server, port, prefix in (("opp proxy --http", self.opp_port, "/pypi"),
                                     ("python3 -m http.server", self.static_port, "")):
            page = f"{prefix}/simple/{lib_name(1)}/"
            wheel = self.file_url(port, page)
            rows += self.latency_of(server, port, [
                ("project page", page, 200),
                ("file", wheel, 200),
                # What pip asks first of every file the page offers PEP 658 metadata for.
                ("file metadata", wheel + ".metadata", 200),
                ("unknown project", f"{prefix}/simple/{MISSING}/", 404),
            ])
        return rows

    @staticmethod
    def file_url(port: int, page: str) -> str:
        """The path of the wheel a project page links to."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", page, headers={"Accept": "text/html"})
            r = conn.getresponse()
            body = r.read().decode(errors="replace")
        finally:
            conn.close()
        if r.status != 200:
            raise BenchError(f"GET {page} on port {port} answered {r.status}")
        m = re.search(r'href="([^"#]+\.whl)[#"]', body)
        if not m:
            raise BenchError(f"GET {page} on port {port}: no wheel link in\n{body[:2000]}")
        return urllib.parse.urljoin(page, html.unescape(m.group(1)))

    def latency_of(self, server: str, port: int, kinds: list) -> list:
        """N sequential GETs per kind, on one connection (http.client opens a new one only
        when the server closed the last: HTTP/1.0 answers do)."""
        rows = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for kind, path, want in kinds:
                times, size, kept = [], 0, True
                for _ in range(self.requests):
                    t0 = time.perf_counter()
                    conn.request("GET", path)
                    r = conn.getresponse()
                    body = r.read()
                    times.append(time.perf_counter() - t0)
                    if r.status != want:
                        raise BenchError(f"{server}: GET {path} answered {r.status}, not {want}")
                    size = len(body)
                    kept = kept and not r.will_close
                rows.append(LatencyRow(server, kind, path, times, size, kept))
        finally:
            conn.close()
        return rows


class LatencyRow:
    def __init__(self, server, kind, path, times, size, kept):
        self.server, self.kind, self.path, self.size, self.kept = server, kind, path, size, kept
        ordered = sorted(times)
        self.n = len(times)
        self.first = times[0] * 1000
        self.p50 = statistics.median(ordered) * 1000
        self.p95 = ordered[max(math.ceil(0.95 * self.n) - 1, 0)] * 1000
        self.max = ordered[-1] * 1000

    def cells(self):
        return [self.server, self.kind, str(self.n), f"{self.first:.2f}",
                f"{self.p50:.2f}", f"{self.p95:.2f}", f"{self.max:.2f}", str(self.size),
                "yes" if self.kept else "no (HTTP/1.0)"]


LATENCY_HEADER = ["server", "GET", "N", "first ms", "p50 ms", "p95 ms", "max ms", "bytes",
                  "kept alive"]
LATENCY_TEXT = {0, 1, 8}
INSTALL_HEADER = ["variant", "runs", "median s", "min s", "max s", "child CPU s",
                  "server CPU s", "/ B"]
INSTALL_TEXT = {0}


def latency_paths(rows: list) -> list:
    """Which path each kind of GET asked, per server."""
    by_server = {}
    for r in rows:
        by_server.setdefault(r.server, []).append(f"{r.kind} {r.path}")
    return [f"{server}: " + ", ".join(paths) for server, paths in by_server.items()]


def median_wall(results: dict, key: str) -> float:
    return statistics.median(w for w, _, _ in results[key])


def install_rows(bench: Bench, results: dict) -> list:
    static = median_wall(results, "static")
    rows = []
    for key, label, _, _ in bench.variants():
        walls = [w for w, _, _ in results[key]]
        cpus = [c for _, c, _ in results[key]]
        servers = [s for _, _, s in results[key] if s is not None]
        median = statistics.median(walls)
        rows.append([
            label, str(len(walls)), f"{median:.3f}", f"{min(walls):.3f}", f"{max(walls):.3f}",
            f"{statistics.median(cpus):.3f}",
            f"{statistics.median(servers):.3f}" if servers else "-",
            "-" if key.startswith("start") else f"{median / static:.2f}",
        ])
    return rows


def summary(results: dict, counts: dict) -> list:
    def med(key):
        return median_wall(results, key)

    static, http_, https, serve = med("static"), med("http"), med("https"), med("serve")
    return [
        f"A/B, opp proxy --http -- pip / pip <- http.server: {http_ / static:.2f} "
        f"({http_:.2f} s / {static:.2f} s)",
        f"A/B over HTTPS (opp's default):                    {https / static:.2f} "
        f"({https:.2f} s / {static:.2f} s)",
        f"pip <- opp already serving / pip <- http.server:   {serve / static:.2f} "
        f"({serve:.2f} s / {static:.2f} s)",
        f"opp proxy start + stop around `true`: {med('start-http') * 1000:.0f} ms (--http), "
        f"{med('start-https') * 1000:.0f} ms (HTTPS)",
        f"requests per install: {counts['static']} to http.server, {counts['opp']} to opp "
        f"(opp's handlers: {counts['opp_ms']} ms in all, by its debug log in whole ms)",
    ]


def table_text(header: list, rows: list, text: set) -> str:
    cells = [header] + rows
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for k, c in enumerate(cells):
        lines.append("  ".join(
            (s.ljust(widths[i]) if i in text else s.rjust(widths[i])) for i, s in enumerate(c)
        ).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def table_markdown(header: list, rows: list, text: set) -> str:
    align = ["---" if i in text else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opp", required=True)
    ap.add_argument("--pip", required=True)
    ap.add_argument("--work", required=True, help="an empty work directory")
    ap.add_argument("--pids", required=True, help="file listing the running process groups")
    ap.add_argument("--runs", type=int, default=5, help="timed installs per variant")
    ap.add_argument("--requests", type=int, default=200, help="GETs per kind of request")
    ap.add_argument("--libs", type=int, default=19, help="libraries the app depends on")
    ap.add_argument("--wheel-kib", type=int, default=8, help="payload KiB per wheel")
    ap.add_argument("--out", help="write the tables as Markdown to this file")
    ap.add_argument("--note", default="", help="a line printed above the Markdown tables")
    args = ap.parse_args()
    for opt in ("runs", "requests", "libs", "wheel_kib"):
        if getattr(args, opt) < 1:
            sys.exit(f"bench-proxy: --{opt.replace('_', '-')} must be at least 1")

    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    bench = Bench(args)
    t0 = time.perf_counter()
    try:
        bench.prepare()
        print(f"== {len(bench.wheels)} wheels ({bench.wheel_bytes / 1024:.0f} KiB in all): "
              f"{APP} requires {args.libs} libraries; pushed to {bench.store}", flush=True)
        bench.start_servers()
        print(f"== pip install {APP}: {args.runs} timed runs per variant", flush=True)
        results = bench.install_rounds()
        counts = bench.count_requests()
        print(f"== latency: {args.requests} sequential GETs per kind", flush=True)
        latency = bench.latency()
        status, took = bench.opp_server.stop(signal.SIGINT)
        if status != 0:
            raise BenchError(f"opp proxy (serve mode) exited {status} on SIGINT, not 0:\n"
                             f"{bench.opp_server.text()[-3000:]}")
        stopped = f"opp proxy (serve mode) exited 0 on SIGINT, {took * 1000:.0f} ms after it"
        bench.http_server.stop(signal.SIGTERM)
    except Interrupted as e:
        bench.stop_servers()
        sys.exit(f"bench-proxy: interrupted ({e})")
    except BenchError as e:
        bench.stop_servers()
        sys.exit(f"bench-proxy: {e}")
    except BaseException:
        bench.stop_servers()
        raise

    rows = install_rows(bench, results)
    lat = [r.cells() for r in latency]
    lines = summary(results, counts) + [stopped]
    print()
    paths = latency_paths(latency)
    print(table_text(INSTALL_HEADER, rows, INSTALL_TEXT))
    print()
    print(table_text(LATENCY_HEADER, lat, LATENCY_TEXT))
    print("\n".join(paths))
    print()
    print("\n".join(lines))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.out:
        with open(args.out, "w") as f:
            if args.note:
                f.write(args.note + "\n\n")
            f.write(f"`pip install --no-cache-dir --target T {APP}`: {APP} requires "
                    f"{args.libs} libraries, {len(bench.wheels)} wheels of "
                    f"{bench.wheel_bytes / 1024:.0f} KiB in all; {args.runs} timed runs per "
                    f"variant, taking turns, after one warm-up round.\n\n")
            f.write(table_markdown(INSTALL_HEADER, rows, INSTALL_TEXT) + "\n\n")
            f.write(f"Per-request latency: {args.requests} sequential GETs per kind on one "
                    f"connection (python's http.client), body read whole.\n\n")
            f.write(table_markdown(LATENCY_HEADER, lat, LATENCY_TEXT) + "\n\n")
            f.write("".join(f"- {p}\n" for p in paths) + "\n")
            f.write("```\n" + "\n".join(lines) + "\n```\n")
        print(f"tables written to {args.out}")


if __name__ == "__main__":
    main()
