"""Many runners at once on a cold cache: N parallel cold builds through devpi, proxpi and the
Nexus double.

Run from the repository root: ``python -m bench.egress --runners 1,4,16 [--installers pip,uv]``
or ``python -m bench.egress_concurrency [--runners 1,4,16] [--installers pip,uv] [--proxies
devpi,proxpi,nexus]`` (needs devpi-server, proxpi and uv: ``pip install -e '.[bench]'``).

A matrix fans out: N ephemeral runners start the same job at the same moment, each with a
fresh venv and an empty installer cache, all pointed at one cache that has never seen the
requirements (cold). "pypi.org" is a PEP 503 index on 127.0.0.1 over real wheels (fetched once
into ``bench/.cache/wheels-concurrency``); every byte it serves crosses the "NAT gateway". For
each cache, installer and N it prints the failed builds, the bytes the cache (or, when the
cache redirects, the runners) pulled from upstream, and the wall time of the whole fan-out.

* devpi-server: a fresh mirror index (``--no-root-pypi``) per cell;
* proxpi: a fresh server (``flask run``, threaded) and cache directory per cell;
* the Nexus double (testbed/nexus_double.py): a fresh PyPI proxy per cell, with Nexus' proxy
  cooperation (concurrent misses for one asset share one upstream fetch).

Installers run with their default retries (pip ``--retries`` 5, uv ``UV_HTTP_RETRIES`` 3).
It prints a table and never asserts anything about time.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from bench._common import (
    CACHE,
    CountingIndex,
    devpi,
    free_port,
    human,
    isolated_env,
    machine,
    run,
    stop_server,
    table,
    tempdir,
    wait_until_up,
)
from bench.egress import uv_bin
from testbed.nexus_double import NexusDouble

# Small on purpose (the default run stays short): two projects and their closure, one wheel of
# a few MB (pydantic-core) among small ones.
REQUIREMENTS = ("requests", "pydantic")
WHEELS = CACHE / "wheels-concurrency"
PROXIES = ("devpi", "proxpi", "nexus")


def fetch_wheels(requirements: Sequence[str]) -> Path:
    """Download the wheel closure once (via this machine's normal pip configuration)."""
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:16]
    dest = WHEELS / key
    stamp = dest / ".fetched"
    if stamp.exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    print(f"fetching the wheels of {' '.join(requirements)} (once) ...", flush=True)
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(dest),
           *requirements]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"pip download failed:\n{proc.stdout}{proc.stderr}")
    stamp.write_text(" ".join(requirements) + "\n")
    return dest


@contextmanager
def proxpi(upstream_index: str, workdir: Path) -> Iterator[str]:
    """A fresh proxpi server with an empty cache directory; yields its index URL."""
    port = free_port()
    env = isolated_env(workdir / "home", {
        "PROXPI_INDEX_URL": upstream_index,
        "PROXPI_CACHE_DIR": str(workdir / "proxpi-cache"),
        "PROXPI_LOGGING_LEVEL": "WARNING",
    })
    log = open(workdir / "proxpi.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "proxpi.server", "run", "--host", "127.0.0.1",
         "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        def health() -> None:
            with opener.open(f"{base}/health", timeout=5):
                pass

        wait_until_up(health, proc, 60, "proxpi", workdir / "proxpi.log")
        yield f"{base}/index/"
    finally:
        stop_server(proc, log)


class Runner(NamedTuple):
    ok: bool
    error: str  # the last line of a failed step's output


def build(installer: str, work: Path, reqs: Path, index_url: str) -> Runner:
    """One ephemeral runner's job: a fresh venv, an empty cache, the install."""
    work.mkdir(parents=True)
    venv = work / "venv"
    env = isolated_env(work / "home", {
        "PIP_INDEX_URL": index_url, "PIP_TRUSTED_HOST": "127.0.0.1",
        "UV_DEFAULT_INDEX": index_url, "UV_LINK_MODE": "copy",
        "PIP_CACHE_DIR": str(work / "cache"), "UV_CACHE_DIR": str(work / "cache"),
    })
    if installer == "pip":
        steps = [
            [sys.executable, "-m", "venv", "--without-pip", str(venv)],
            [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
             "-r", str(reqs)],
        ]
    else:
        steps = [
            [uv_bin(), "venv", "--quiet", "--python", sys.executable, str(venv)],
            [uv_bin(), "pip", "install", "--python", str(venv / "bin" / "python"), "-r",
             str(reqs)],
        ]
    for cmd in steps:
        r = run(cmd, env, timeout=600)
        if r.rc:
            lines = [ln.strip() for ln in r.output.splitlines() if ln.strip()]
            return Runner(False, lines[-1] if lines else f"exit {r.rc}")
    return Runner(True, "")


class Cell(NamedTuple):
    proxy: str
    installer: str
    runners: int
    failed: int
    files: int  # upstream file bytes
    total: int  # upstream bytes, pages + metadata + files
    wall: float
    errors: tuple[str, ...]


@contextmanager
def cold_cache(proxy: str, up: CountingIndex, work: Path, devpi_base: str | None,
               name: str) -> Iterator[str]:
    """A cache that has never seen anything; yields the index URL the runners use."""
    if proxy == "devpi":
        assert devpi_base is not None
        yield f"{devpi_base}/root/{name}/+simple/"
    elif proxy == "proxpi":
        work.mkdir(parents=True)
        with proxpi(up.index_url, work) as index:
            yield index
    else:
        with NexusDouble(up.base_url) as nexus:
            yield nexus.index_url()


def cell(proxy: str, installer: str, n: int, up: CountingIndex, work: Path, reqs: Path,
         devpi_base: str | None) -> Cell:
    name = f"{installer}-{n}"
    with cold_cache(proxy, up, work / f"{proxy}-{name}", devpi_base, name) as index:
        before = up.counts()
        start = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(
                lambda i: build(installer, work / f"{proxy}-{name}-runner-{i}", reqs, index),
                range(n)))
        wall = time.perf_counter() - start
        got = up.counts() - before
    errors = tuple(sorted({r.error for r in results if not r.ok}))
    return Cell(proxy, installer, n, sum(not r.ok for r in results), got.files, got.total, wall,
                errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.egress_concurrency",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runners", default="1,4,16",
                        help="comma-separated numbers of parallel cold builds (default 1,4,16)")
    parser.add_argument("--installers", default="pip,uv", help="from pip,uv (default both)")
    parser.add_argument("--proxies", default=",".join(PROXIES),
                        help=f"from {','.join(PROXIES)} (default all)")
    parser.add_argument("--requirement", action="append", default=None,
                        help="a requirement to install (repeatable; default: "
                             f"{' '.join(REQUIREMENTS)})")
    args = parser.parse_args(argv)
    try:
        counts = [int(x) for x in args.runners.split(",") if x]
    except ValueError:
        parser.error("--runners takes comma-separated numbers")
    if not counts or min(counts) < 1:
        parser.error("--runners takes numbers >= 1")
    installers = [i for i in args.installers.split(",") if i]
    if not installers or not set(installers) <= {"pip", "uv"}:
        parser.error("--installers takes pip and/or uv")
    proxies = [p for p in args.proxies.split(",") if p]
    if not proxies or not set(proxies) <= set(PROXIES):
        parser.error(f"--proxies takes {', '.join(PROXIES)}")
    requirements = tuple(args.requirement or REQUIREMENTS)
    wheels = fetch_wheels(requirements)
    files = [p for p in wheels.iterdir() if p.suffix == ".whl"]
    wheel_bytes = sum(p.stat().st_size for p in files)

    print("# pipnexus concurrency benchmark: N parallel cold builds\n")
    print(f"machine: {machine()}")
    print(f"requirements: {' '.join(requirements)} -> {len(files)} real wheels, "
          f"{human(wheel_bytes)} (what one build needs)")
    print("every runner: a fresh venv and an empty installer cache, default retries; all N "
          "start at once against a cache that has never seen the requirements")
    print("upstream = body bytes \"pypi.org\" (127.0.0.1) served during the fan-out (NAT)\n",
          flush=True)

    cells: list[Cell] = []
    with tempdir("pipnexus-concurrency-") as tmp:
        work = Path(tmp)
        reqs = work / "requirements.txt"
        reqs.write_text("\n".join(requirements) + "\n")
        with CountingIndex(wheels) as up:
            names = [f"{i}-{n}" for i in installers for n in counts]
            with devpi(up.index_url, names, work / "devpi") if "devpi" in proxies \
                    else _nothing() as devpi_base:
                for proxy in proxies:
                    for installer in installers:
                        for n in counts:
                            c = cell(proxy, installer, n, up, work, reqs, devpi_base)
                            cells.append(c)
                            print(f"  {proxy} {installer} x{n}: {c.failed} failed, upstream "
                                  f"{human(c.total)} ({human(c.files)} files), "
                                  f"{c.wall:.1f} s", flush=True)
                            for err in c.errors:
                                print(f"    error: {err[:160]}", flush=True)
    print()
    print(table(
        ["cache", "installer", "runners", "failed", "upstream files", "upstream total",
         "files / one build's wheels", "wall"],
        [[c.proxy, c.installer, c.runners, f"{c.failed} of {c.runners}", human(c.files),
          human(c.total), f"{c.files / wheel_bytes:.2f}" if wheel_bytes else "n/a",
          f"{c.wall:.1f} s"] for c in cells]))
    return 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    raise SystemExit(main())
