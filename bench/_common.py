"""Shared pieces of the benchmarks: loopback servers that count, installer isolation, devpi.

Everything listens on 127.0.0.1 only and is stopped by its context manager.

* ``CountingIndex``: a PEP 503 index (+ PEP 658 ``.metadata``) over a directory of
  distributions, counting every byte it writes per kind (page, metadata, file). Plays pypi.org.
* ``DeadProxy``: what ``HTTPS_PROXY``/``HTTP_PROXY`` point at: records the target of each
  connection (``CONNECT pypi.org:443``), answers 502 and closes. Every record is a bypass.
* ``CountingRelay``: a TCP relay that counts the bytes it hands to clients (traffic "inside
  the cluster" between the runner and the cache).
* ``Devpi``: a real devpi-server with mirror indexes of an upstream (plays the in-cluster Nexus).
* ``isolated_env``: an environment with no host installer configuration at all.
* ``pipnexus_configure``: the variables ``pipnexus configure --format dotenv`` emits.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple

from testbed.httpbase import QuietHandler, Response
from testbed.upstream import Upstream

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache"

# Installer settings that would leak the host's configuration into a measured run.
_HOST_PREFIXES = ("PIP_", "UV_", "PDM_", "PIPENV_", "POETRY_", "HATCH_", "TOX_", "NOX_",
                  "VIRTUALENV_", "PIPNEXUS_", "CONDA_")
_HOST_NAMES = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "REQUESTS_CA_BUNDLE",
               "CURL_CA_BUNDLE", "SSL_CERT_FILE", "GITHUB_ACTIONS", "GITHUB_ENV", "GITHUB_OUTPUT",
               "GITHUB_STEP_SUMMARY", "CI"}
_PROXY_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def machine() -> str:
    """One line naming the machine and the date, for every benchmark's output."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; {os.cpu_count()} CPUs; Python {platform.python_version()} "
        f"({sys.executable}); {platform.platform()}"
    )


def isolated_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without any installer/proxy settings, with a fresh HOME and no config files."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_HOST_PREFIXES)
        and k not in _HOST_NAMES
        and k.lower() not in _PROXY_NAMES
    }
    for sub in ("config", "cache", "data"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env


class Run(NamedTuple):
    cmd: str
    rc: int
    seconds: float
    output: str


def run(
    cmd: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 600
) -> Run:
    """Run a command, capturing output; a hang ends as rc 124 instead of blocking the run."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            list(cmd), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
        )
        rc, out = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as e:
        rc = 124
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (
            e.stdout or "")
        out += f"\n[timed out after {timeout:.0f} s]"
    except OSError as e:
        rc, out = 127, str(e)
    return Run(shlex.join(cmd), rc, time.perf_counter() - start, out)


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (readable as plain text too)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------------------------
# CountingIndex: the "pypi.org" of the benchmark (the test bed's upstream, with pypi.org headers)


class Counts(NamedTuple):
    """Requests and body bytes served, by kind."""

    requests: int
    pages: int
    metadata: int
    files: int

    @property
    def total(self) -> int:
        return self.pages + self.metadata + self.files

    def __sub__(self, other: object) -> Counts:
        assert isinstance(other, Counts)
        return Counts(*(a - b for a, b in zip(self, other)))


class CountingIndex(Upstream):
    """The bed's PEP 503 upstream, counting body bytes per kind (page, metadata, file).

    Like pypi.org, files and ``.metadata`` are served as immutable (cacheable for a year), so
    a restored pip/uv cache really does save their download; pages are short-lived.
    """

    def __init__(self, files_dir: Path) -> None:
        self._counts = Counts(0, 0, 0, 0)
        super().__init__(files_dir)

    def handle(self, handler: QuietHandler) -> Response | None:
        resp = super().handle(handler)
        if resp is None:
            return None
        headers = [*resp.headers, ("Date", email.utils.formatdate(usegmt=True))]
        if resp.status == 200:
            immutable = handler.path.startswith("/files/")
            cc = "max-age=365000000, immutable, public" if immutable else "max-age=600, public"
            headers.append(("Cache-Control", cc))
            etag = resp.header("ETag")
            if etag and handler.headers.get("If-None-Match") == etag:
                return Response(304, headers)
        return resp._replace(headers=headers)

    def log_request_done(self, method: str, path: str, status: int, nbytes: int) -> None:
        with self.lock:
            super().log_request_done(method, path, status, nbytes)
            kind = ("metadata" if path.endswith(".metadata") else "file") \
                if path.startswith("/files/") else "page"
            c = self._counts
            self._counts = Counts(
                c.requests + 1,
                c.pages + (nbytes if kind == "page" else 0),
                c.metadata + (nbytes if kind == "metadata" else 0),
                c.files + (nbytes if kind == "file" else 0),
            )

    def counts(self) -> Counts:
        with self.lock:
            return self._counts

    def __enter__(self) -> CountingIndex:
        return self


# --------------------------------------------------------------------------------------------
# DeadProxy: counts what tried to leave the machine


class Bypass(NamedTuple):
    target: str
    line: str


class DeadProxy:
    """A listener for ``HTTP(S)_PROXY``: every connection is a bypass; it is recorded and refused.

    ``CONNECT host:443`` (https through the proxy) and ``GET http://host/...`` (plain http) name
    their target; anything else (a direct TLS hello redirected here) is recorded as ``direct``.
    """

    def __init__(self) -> None:
        self.bypasses: list[Bypass] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n" not in data and len(data) < 8192:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            first = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
            parts = first.split()
            if len(parts) >= 2 and parts[0].isalpha() and parts[0].isupper():
                target = parts[1]
                if "://" in target:  # GET http://host/path: keep scheme://host
                    target = "/".join(target.split("/")[:3])
            else:
                target, first = "direct", repr(data[:40])
            with self._lock:
                self.bypasses.append(Bypass(target, first))
            with suppress(OSError):
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")

    def count(self) -> int:
        with self._lock:
            return len(self.bypasses)

    def since(self, mark: int) -> list[Bypass]:
        with self._lock:
            return self.bypasses[mark:]

    def __enter__(self) -> DeadProxy:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()


def proxy_env(proxy: DeadProxy, no_proxy: Sequence[str]) -> dict[str, str]:
    """Proxy variables sending everything but the loopback cache to the dead proxy."""
    hosts = ",".join(["127.0.0.1", "localhost", *no_proxy])
    return {
        "HTTPS_PROXY": proxy.url, "https_proxy": proxy.url,
        "HTTP_PROXY": proxy.url, "http_proxy": proxy.url,
        "ALL_PROXY": proxy.url, "all_proxy": proxy.url,
        "NO_PROXY": hosts, "no_proxy": hosts,
    }


# --------------------------------------------------------------------------------------------
# CountingRelay: bytes inside the cluster


class CountingRelay:
    """Forwards ``relay.port`` to ``target_port``, counting the bytes handed to clients."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._sock = socket.socket()
        self._lock = threading.Lock()
        self._down = 0

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def downstream_bytes(self) -> int:
        with self._lock:
            return self._down

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while chunk := src.recv(1 << 16):
                dst.sendall(chunk)
                if count:
                    with self._lock:
                        self._down += len(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def __enter__(self) -> CountingRelay:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


# --------------------------------------------------------------------------------------------
# devpi-server: the in-cluster Nexus stand-in


def _http_json(method: str, url: str, body: dict[str, object] | None = None,
               headers: dict[str, str] | None = None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", "Accept": "application/json", **(headers or {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as resp:
        result: dict[str, object] = json.loads(resp.read() or b"{}")
        return result


def devpi_bin(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


@contextmanager
def devpi(upstream_url: str, indexes: Sequence[str], workdir: Path,
          cache_expiry: int = 1800) -> Iterator[str]:
    """Run devpi-server with one mirror index of ``upstream_url`` per name; yields its base URL.

    ``--no-root-pypi`` keeps it from ever contacting pypi.org; each index caches files on first
    request and serves them from disk afterwards, like a Nexus PyPI proxy repository.
    """
    server, init, gen = (devpi_bin(n) for n in ("devpi-server", "devpi-init", "devpi-gen-secret"))
    if not (server and init and gen):
        raise SystemExit("devpi-server is not installed: pip install -e '.[bench]'")
    env = isolated_env(workdir / "home")
    srv, sec = workdir / "devpi-srv", workdir / "devpi-sec"
    sec.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = sec / "secret"
    password = base64.b16encode(os.urandom(8)).decode()
    for cmd in ([init, "--serverdir", str(srv), "--no-root-pypi", "--root-passwd", password],
                [gen, "--secretfile", str(secret)]):
        r = run(cmd, env, timeout=120)
        if r.rc:
            raise SystemExit(f"{r.cmd} failed:\n{r.output}")
    port = free_port()
    log = open(workdir / "devpi.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [server, "--serverdir", str(srv), "--host", "127.0.0.1", "--port", str(port),
         "--secretfile", str(secret)], env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _http_json("GET", f"{base}/+api")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(
                        f"devpi-server did not start: {(workdir / 'devpi.log').read_text()}"
                    ) from None
                time.sleep(0.2)
        login = _http_json("POST", f"{base}/+login", {"user": "root", "password": password})
        token = login["result"]["password"]  # type: ignore[index]
        auth = base64.b64encode(f"root:{token}".encode()).decode()
        for name in indexes:
            _http_json("PUT", f"{base}/root/{name}",
                       {"type": "mirror", "mirror_url": upstream_url,
                        "mirror_cache_expiry": cache_expiry},
                       headers={"X-Devpi-Auth": auth})
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# --------------------------------------------------------------------------------------------
# pipnexus configure


class Configured(NamedTuple):
    source: str
    index_url: str
    env: dict[str, str]
    warnings: list[str]


def parse_dotenv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ")
        key, sep, value = line.partition("=")
        if not sep:
            continue
        words = shlex.split(value) if value else [""]
        out[key.strip()] = words[0] if words else ""
    return out


def pipnexus_configure(index_url: str, fallback: str, env: Mapping[str, str],
                       project_dir: Path | None = None, args: Sequence[str] = ()) -> Configured:
    """Run the real ``pipnexus configure`` (decision as JSON, variables as dotenv).

    ``warnings`` are the warning diagnostic lines of the dotenv run (the one that
    configures, e.g. writes a pip config file) about ``project_dir`` and the environment.
    """
    base = [sys.executable, "-m", "pipnexus", "configure", "--index-url", index_url,
            "--fallback-index-url", fallback, *args]
    if project_dir is not None:
        project_dir.mkdir(parents=True, exist_ok=True)
        base += ["--project-dir", str(project_dir)]
    path = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env = {**env, "PYTHONPATH": path}
    env.pop("GITHUB_ACTIONS", None)
    outputs = []
    warnings: list[str] = []
    for fmt in ("json", "dotenv"):
        proc = subprocess.run([*base, "--format", fmt], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        if proc.returncode:
            raise SystemExit(f"pipnexus configure failed ({proc.returncode}):\n{proc.stderr}")
        outputs.append(proc.stdout)
        if fmt == "dotenv":
            # diagnostics: "path:line: warning: ..." or, about no file, "warning: ..."
            warnings = [ln for ln in proc.stderr.splitlines()
                        if ln.startswith("warning: ") or ": warning: " in ln]
    data = json.loads(outputs[0])
    return Configured(str(data.get("source")), str(data.get("index_url")),
                      parse_dotenv(outputs[1]), warnings)


def tempdir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=prefix)
