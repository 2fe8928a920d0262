"""Shared pieces of the benchmarks: loopback servers that count, installer isolation, devpi.

Everything listens on 127.0.0.1 only and is stopped by its context manager.

* ``CountingIndex``: a PEP 503 index (+ PEP 658 ``.metadata``) over a directory of
  distributions, counting every byte it writes per kind (page, metadata, file). Plays pypi.org.
* ``Devpi``: a real devpi-server with mirror indexes of an upstream (plays the in-cluster Nexus).
* ``isolated_env``: an environment with no host installer configuration at all.

``DeadProxy``/``proxy_env`` (testbed/proxies.py), ``CountingRelay`` (testbed/relay.py: a TCP
relay counting the bytes it hands to clients) and ``run``/``pipnexus_configure``
(testbed/commands.py) live in the test bed, which tests use too; they are re-exported here.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import email.utils
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

from testbed.commands import Configured, Run, parse_dotenv, pipnexus_configure, run
from testbed.httpbase import QuietHandler, Response
from testbed.proxies import Bypass, DeadProxy, proxy_env
from testbed.relay import CountingRelay
from testbed.upstream import Upstream

__all__ = [  # re-exported for the bench scripts
    "Bypass", "Configured", "CountingRelay", "DeadProxy", "Run", "parse_dotenv",
    "pipnexus_configure", "proxy_env", "run",
]

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
    """One line naming the machine and the date, for every benchmark's output (no paths: the
    output is pasted into bench/README.md)."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; {os.cpu_count()} CPUs; {platform.python_implementation()} "
        f"{platform.python_version()}; {platform.platform()}"
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


def wait_until_up(probe: Callable[[], object], proc: subprocess.Popen[bytes], seconds: float,
                  what: str, logfile: Path) -> None:
    """Call ``probe`` until it stops raising ``OSError``; exit with ``logfile`` if ``proc`` dies
    or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start: {logfile.read_text()}") from None
            time.sleep(0.2)


def stop_server(proc: subprocess.Popen[bytes], log: IO[str]) -> None:
    """Terminate a server started by ``wait_until_up``'s callers (kill it after 20 s), close its
    log."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


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
        wait_until_up(lambda: _http_json("GET", f"{base}/+api"), proc, 90, "devpi-server",
                      workdir / "devpi.log")
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
        stop_server(proc, log)


def builds_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The egress benchmarks' command line: ``-n/--builds`` and ``--installers``; add more
    options, then parse with ``parse_builds``."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--builds", type=int, default=3,
                        help="builds per set-up (first cold, rest warm; default 3)")
    parser.add_argument("--installers", default="pip,uv",
                        help="comma-separated, from pip,uv (default both)")
    return parser


def parse_builds(parser: argparse.ArgumentParser,
                 argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Parse a ``builds_parser`` command line; returns the arguments and the installers."""
    args = parser.parse_args(argv)
    if args.builds < 2:
        parser.error("--builds must be at least 2 (one cold, one warm)")
    installers = [i for i in args.installers.split(",") if i]
    if not set(installers) <= {"pip", "uv"}:
        parser.error("--installers takes pip and/or uv")
    return args, installers


def tempdir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=prefix)
