"""devpi-server as a pull-through mirror of a loopback upstream (the benchmarks' stand-in for
the in-cluster Nexus), and the helpers that start and stop such a server process.

``devpi(upstream_url, indexes, workdir, env)`` runs a real devpi-server on 127.0.0.1 with one
mirror index per name (``--no-root-pypi``: it never talks to pypi.org) and yields its base URL;
the server is stopped when the block ends.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from testbed.commands import run
from testbed.httpbase import free_port


class ServerDidNotStart(RuntimeError):
    pass


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


def devpi_installed() -> bool:
    return all(devpi_bin(n) for n in ("devpi-server", "devpi-init", "devpi-gen-secret"))


def wait_until_up(probe: Callable[[], object], proc: subprocess.Popen[bytes], seconds: float,
                  what: str, logfile: Path) -> None:
    """Call ``probe`` until it stops raising ``OSError``; raise ``ServerDidNotStart`` with
    ``logfile`` if ``proc`` dies or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServerDidNotStart(f"{what} did not start: {logfile.read_text()}") from None
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
def devpi(upstream_url: str, indexes: Sequence[str], workdir: Path, env: Mapping[str, str],
          cache_expiry: int = 1800) -> Iterator[str]:
    """Run devpi-server with one mirror index of ``upstream_url`` per name; yields its base URL.

    ``env`` is the server's whole environment (give it one without proxy variables).
    ``cache_expiry`` is each index's ``mirror_cache_expiry`` (seconds): how long devpi serves a
    project page, and its project list, before asking upstream again.
    """
    server, init, gen = (devpi_bin(n) for n in ("devpi-server", "devpi-init", "devpi-gen-secret"))
    if not (server and init and gen):
        raise FileNotFoundError("devpi-server is not installed: pip install -e '.[bench]'")
    srv, sec = workdir / "devpi-srv", workdir / "devpi-sec"
    sec.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = sec / "secret"
    password = base64.b16encode(os.urandom(8)).decode()
    for cmd in ([init, "--serverdir", str(srv), "--no-root-pypi", "--root-passwd", password],
                [gen, "--secretfile", str(secret)]):
        r = run(cmd, env, timeout=120)
        if r.rc:
            raise ServerDidNotStart(f"{r.cmd} failed:\n{r.output}")
    port = free_port()
    log = open(workdir / "devpi.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [server, "--serverdir", str(srv), "--host", "127.0.0.1", "--port", str(port),
         "--secretfile", str(secret)], env=dict(env), stdout=log, stderr=subprocess.STDOUT,
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
