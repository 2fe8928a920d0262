"""NAT egress of a Python dependency install: no cache vs GitHub-cache style vs pipnexus.

Run from the repository root: ``python -m bench.egress [-n 3] [--installers pip,uv]``
(needs ``pip install -e '.[bench]'`` for devpi-server).

* "pypi.org" is a PEP 503 index on 127.0.0.1 over the real wheels of a typical web backend
  (fetched once with ``pip download`` into ``bench/.cache/wheels``); every byte it serves
  crosses the "NAT gateway".
* The in-cluster Nexus is played by devpi-server: a pull-through mirror index of that upstream
  (``--no-root-pypi``; it never talks to pypi.org). The bytes it hands to the build stay
  "inside the cluster" (counted by a relay in front of it).
* Each build is a fresh virtual environment on an ephemeral runner (empty installer cache)
  installing the same requirements, in three set-ups:
  1. no cache: straight from upstream;
  2. GitHub-cache style: the installer's cache directory is packed into an archive after
     build 1 (uploaded: NAT) and unpacked before every later build (downloaded: NAT), like
     ``actions/setup-python cache: pip`` / ``setup-uv enable-cache`` (uv: after
     ``uv cache prune --ci``, as setup-uv does by default);
  3. pipnexus: ``pipnexus configure`` points the installer at the cache; build 1 finds the
     cache cold, later builds find it warm.

It prints tables and never asserts anything about time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from bench._common import (
    CACHE,
    CountingIndex,
    CountingRelay,
    Counts,
    devpi,
    human,
    isolated_env,
    machine,
    pipnexus_configure,
    run,
    table,
    tempdir,
)

REQUIREMENTS = (
    "fastapi",
    "uvicorn[standard]",
    "sqlalchemy",
    "alembic",
    "psycopg2-binary",
    "pydantic",
    "requests",
    "httpx",
    "redis",
    "celery",
    "boto3",
)
WHEELS = CACHE / "wheels"
SETUPS = ("no cache", "GitHub cache", "pipnexus")


def fetch_wheels(requirements: Sequence[str]) -> Path:
    """Download the wheel closure once (via this machine's normal pip configuration)."""
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:16]
    stamp = WHEELS / f".fetched-{key}"
    if stamp.exists():
        return WHEELS
    WHEELS.mkdir(parents=True, exist_ok=True)
    print(f"fetching the wheels of {' '.join(requirements)} (once) into {WHEELS} ...",
          flush=True)
    # pip is in the set too: pipnexus's probe uses it as the canary project.
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(WHEELS),
           "pip", *requirements]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"pip download failed:\n{proc.stdout}{proc.stderr}")
    stamp.write_text(" ".join(requirements) + "\n")
    return WHEELS


def uv_bin() -> str:
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("uv is not installed: pip install -e '.[bench]'")
    return found


class Build(NamedTuple):
    setup: str
    number: int
    ok: bool
    wall: float
    upstream: Counts
    archive_down: int
    archive_up: int
    inside: int

    @property
    def nat(self) -> int:
        return self.upstream.total + self.archive_down + self.archive_up


def install(installer: str, venv: Path, reqs: Path, env: dict[str, str]) -> bool:
    if installer == "pip":
        steps = [
            [sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)],
            [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
             "-r", str(reqs)],
        ]
    else:
        steps = [
            [uv_bin(), "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)],
            [uv_bin(), "pip", "install", "--python", str(venv / "bin" / "python"), "-r",
             str(reqs)],
        ]
    for cmd in steps:
        r = run(cmd, env, timeout=600)
        if r.rc:
            print(f"  FAILED ({r.rc}): {r.cmd}\n{r.output[-2000:]}", flush=True)
            return False
    return True


def pack(cache_dir: Path, archive: Path) -> int:
    with tarfile.open(archive, "w:gz", compresslevel=1) as tf:
        tf.add(cache_dir, arcname="cache")
    return archive.stat().st_size


def unpack(archive: Path, cache_dir: Path) -> int:
    shutil.rmtree(cache_dir, ignore_errors=True)
    with tarfile.open(archive) as tf:
        tf.extractall(cache_dir.parent / "restore", filter="data")
    shutil.move(str(cache_dir.parent / "restore" / "cache"), cache_dir)
    shutil.rmtree(cache_dir.parent / "restore", ignore_errors=True)
    return archive.stat().st_size


def bench_installer(
    installer: str, n: int, work: Path, reqs: Path, up: CountingIndex, relay: CountingRelay,
    cache_index_url: str,
) -> list[Build]:
    builds: list[Build] = []
    cache_var = "PIP_CACHE_DIR" if installer == "pip" else "UV_CACHE_DIR"
    base = isolated_env(work / "home", {"UV_LINK_MODE": "copy"})
    # pip caches plain-http responses only from trusted hosts; pypi.org is https.
    direct = {"PIP_INDEX_URL": up.index_url, "PIP_TRUSTED_HOST": "127.0.0.1",
              "UV_DEFAULT_INDEX": up.index_url}

    configured = pipnexus_configure(cache_index_url, up.index_url, base)
    if configured.source != "nexus":
        print(f"  warning: pipnexus configure chose {configured.source!r} "
              f"({configured.index_url}): the numbers below are not through the cache")
    # the devpi index path (/root/<installer>/+simple/) would read as a home directory
    shown = f"the devpi mirror index root/{installer}" if configured.source == "nexus" \
        else configured.index_url
    print(f"  pipnexus configure -> {configured.source} {shown}; sets "
          + " ".join(sorted(configured.env)), flush=True)

    for setup in SETUPS:
        archive = work / f"{installer}-cache.tar.gz"
        gh_cache = work / f"{installer}-gh-cache"
        for i in range(1, n + 1):
            venv = work / f"venv-{installer}"
            cache_dir = work / f"{installer}-cache-{setup.replace(' ', '-')}-{i}"
            env = dict(base, **(configured.env if setup == "pipnexus" else direct))
            up_before, in_before = up.counts(), relay.downstream_bytes()
            down = upl = 0
            start = time.perf_counter()
            if setup == "GitHub cache":
                cache_dir = gh_cache
                if archive.exists():
                    down = unpack(archive, cache_dir)
            env[cache_var] = str(cache_dir)
            ok = install(installer, venv, reqs, env)
            if setup == "GitHub cache" and not archive.exists():
                if installer == "uv":
                    run([uv_bin(), "cache", "prune", "--ci"], env, timeout=120)
                upl = pack(cache_dir, archive)
            wall = time.perf_counter() - start
            inside = relay.downstream_bytes() - in_before if setup == "pipnexus" else 0
            b = Build(setup, i, ok, wall, up.counts() - up_before, down, upl, inside)
            builds.append(b)
            print(f"  {setup:12} build {i}: {'ok' if ok else 'FAILED'}, NAT {human(b.nat)}, "
                  f"inside {human(b.inside)}, {wall:.1f} s", flush=True)
            if setup != "GitHub cache":
                shutil.rmtree(cache_dir, ignore_errors=True)
    return builds


def _ratio(new: float, old: float) -> str:
    if old <= 0:
        return "n/a"
    return f"{100 * (1 - new / old):.2f} % less"


def report(installer: str, builds: list[Build]) -> str:
    rows = []
    for b in builds:
        rows.append([
            b.setup, f"{b.number} ({'cold' if b.number == 1 else 'warm'})",
            "ok" if b.ok else "FAILED", b.upstream.requests, human(b.upstream.files),
            human(b.upstream.pages + b.upstream.metadata), human(b.archive_down),
            human(b.archive_up), human(b.nat), human(b.inside), f"{b.wall:.1f} s",
        ])
    out = [table(["set-up", "build", "result", "upstream req", "upstream files",
                  "upstream pages+meta", "archive down", "archive up", "NAT total",
                  "inside cluster", "wall"], rows)]

    def mean(setup: str, attr: str, warm: bool) -> float:
        vals = [getattr(b, attr) for b in builds if b.setup == setup and (b.number > 1) == warm]
        return sum(vals) / len(vals) if vals else 0.0

    summary = []
    for setup in SETUPS:
        summary.append([
            setup, human(mean(setup, "nat", False)), human(mean(setup, "nat", True)),
            human(mean(setup, "inside", True)), f"{mean(setup, 'wall', False):.1f} s",
            f"{mean(setup, 'wall', True):.1f} s",
            human(sum(b.nat for b in builds if b.setup == setup)),
        ])
    out.append("")
    out.append(table(["set-up", "NAT cold", "NAT warm (mean)", "inside warm (mean)",
                      "wall cold", "wall warm (mean)", "NAT all builds"], summary))
    gh_warm = mean("GitHub cache", "nat", True)
    pn_warm = mean("pipnexus", "nat", True)
    none_warm = mean("no cache", "nat", True)
    pn_files = sum(b.upstream.files for b in builds if b.setup == "pipnexus" and b.number > 1)
    gh_all = sum(b.nat for b in builds if b.setup == "GitHub cache")
    pn_all = sum(b.nat for b in builds if b.setup == "pipnexus")
    out.append("")
    out.append(f"- warm pipnexus builds: {human(pn_files)} of files from upstream (goal 0)")
    out.append(f"- NAT per warm build, pipnexus vs GitHub cache: {_ratio(pn_warm, gh_warm)} "
               f"(goal >= 99.9 %); vs no cache: {_ratio(pn_warm, none_warm)}")
    out.append(f"- NAT over all {max(b.number for b in builds)} builds, pipnexus vs GitHub "
               f"cache: {human(pn_all)} vs {human(gh_all)} ({_ratio(pn_all, gh_all)})")
    out.append(f"- wall per warm build: pipnexus {mean('pipnexus', 'wall', True):.1f} s, "
               f"GitHub cache {mean('GitHub cache', 'wall', True):.1f} s (archive transfer "
               "over a real network not included), no cache "
               f"{mean('no cache', 'wall', True):.1f} s")
    cold = [b for b in builds if b.number == 1]
    files = {b.setup: b.upstream.files for b in cold}
    if files.get("pipnexus", 0) > files.get("no cache", 0):
        out.append(f"- cold pipnexus build: the cache fetched {human(files['pipnexus'])} of files "
                   f"for {human(files['no cache'])} of wheels: requests for a wheel that arrive "
                   "while the cache is still downloading it (uv sends a HEAD and then a GET) "
                   "start a second upstream download in devpi")
    if installer == "uv":
        out.append("- uv: the GitHub-cache archive is what setup-uv saves by default, after "
                   "`uv cache prune --ci` (which drops wheels downloaded from an index), so warm "
                   "builds still download every wheel")
        out.append("- uv: inside the cluster it moves about twice the wheel bytes: the cache "
                   "(like Nexus, nexus-public#296) serves no PEP 658 metadata, so uv reads each "
                   "wheel's metadata from the wheel itself before installing it")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.egress", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--builds", type=int, default=3,
                        help="builds per set-up (first cold, rest warm; default 3)")
    parser.add_argument("--installers", default="pip,uv",
                        help="comma-separated, from pip,uv (default both)")
    parser.add_argument("--requirement", action="append", default=None,
                        help="a requirement to install (repeatable; default: a web backend)")
    args = parser.parse_args(argv)
    if args.builds < 2:
        parser.error("--builds must be at least 2 (one cold, one warm)")
    installers = [i for i in args.installers.split(",") if i]
    if not set(installers) <= {"pip", "uv"}:
        parser.error("--installers takes pip and/or uv")
    requirements = tuple(args.requirement or REQUIREMENTS)
    wheels = fetch_wheels(requirements)

    print("# pipnexus egress benchmark\n")
    print(f"machine: {machine()}")
    print(f"requirements: {' '.join(requirements)}")
    files = [p for p in wheels.iterdir() if p.suffix == ".whl"]
    print(f"upstream (plays pypi.org, 127.0.0.1): {len(files)} real wheels, "
          f"{human(sum(p.stat().st_size for p in files))}")
    version = run([sys.executable, "-m", "pip", "show", "devpi-server"], os.environ).output
    dv = next((ln.split()[-1] for ln in version.splitlines() if ln.startswith("Version")), "?")
    print(f"cache (plays the in-cluster Nexus): devpi-server {dv}, one pull-through mirror "
          "index per installer, 127.0.0.1")
    print(f"builds per set-up: {args.builds} (build 1 cold, the rest warm), fresh venv and "
          "empty installer cache each (ephemeral runner)")
    print("NAT = upstream bytes (files + pages + metadata) + cache archive down + up; "
          "inside = bytes the cache sent to the runner\n", flush=True)

    with tempdir("pipnexus-egress-") as tmp:
        work = Path(tmp)
        reqs = work / "requirements.txt"
        reqs.write_text("\n".join(requirements) + "\n")
        with CountingIndex(wheels) as up, devpi(up.index_url, installers, work) as cache:
            port = int(cache.rsplit(":", 1)[1])
            with CountingRelay(port) as relay:
                for installer in installers:
                    print(f"## {installer}", flush=True)
                    index = f"http://127.0.0.1:{relay.port}/root/{installer}/+simple/"
                    builds = bench_installer(installer, args.builds, work, reqs, up, relay,
                                             index)
                    print()
                    print(report(installer, builds))
                    print(flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
