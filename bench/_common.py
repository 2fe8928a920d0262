"""Shared pieces of the benchmarks: loopback servers that count, installer isolation, devpi.

Everything listens on 127.0.0.1 only and is stopped by its context manager.

* ``CountingIndex``: a PEP 503 index (+ PEP 658 ``.metadata``) over a directory of
  distributions, counting every byte it writes per kind (page, metadata, file). Plays pypi.org.
* ``devpi``: testbed/devpi.py's devpi-server with mirror indexes of an upstream (plays the
  in-cluster Nexus), in an isolated environment.
* ``isolated_env``: an environment with no host installer configuration at all.

``DeadProxy``/``proxy_env`` (testbed/proxies.py), ``CountingRelay`` (testbed/relay.py: a TCP
relay counting the bytes it hands to clients) and ``run``/``pipnexus_configure``
(testbed/commands.py) live in the test bed, which tests use too; they are re-exported here.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from testbed.commands import Configured, Run, parse_dotenv, pipnexus_configure, run
from testbed.devpi import devpi as _devpi
from testbed.devpi import devpi_installed, stop_server, wait_until_up
from testbed.httpbase import free_port
from testbed.proxies import Bypass, DeadProxy, proxy_env
from testbed.relay import CountingRelay
from testbed.upstream import PypiHeaders

__all__ = [  # re-exported for the bench scripts
    "Bypass",
    "Configured",
    "CountingRelay",
    "DeadProxy",
    "Run",
    "free_port",
    "parse_dotenv",
    "pipnexus_configure",
    "proxy_env",
    "run",
    "stop_server",
    "wait_until_up",
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


class CountingIndex(PypiHeaders):
    """The bed's PEP 503 upstream with pypi.org's caching headers (``PypiHeaders``), counting
    body bytes per kind (page, metadata, file)."""

    def __init__(self, files_dir: Path) -> None:
        self._counts = Counts(0, 0, 0, 0)
        super().__init__(files_dir)

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


@contextmanager
def devpi(upstream_url: str, indexes: Sequence[str], workdir: Path,
          cache_expiry: int = 1800) -> Iterator[str]:
    """testbed.devpi's devpi-server, with the host's installer and proxy settings removed from
    its environment; exits with a message when devpi-server is missing."""
    if not devpi_installed():
        raise SystemExit("devpi-server is not installed: pip install -e '.[bench]'")
    with _devpi(upstream_url, indexes, workdir, isolated_env(workdir / "home"),
                cache_expiry) as base:
        yield base


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
