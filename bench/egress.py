"""NAT egress of a CI job, per kind (packages, interpreter, cache archives): no cache vs
GitHub-cache style vs pipnexus.

Run from the repository root: ``python -m bench.egress [-n 3] [--installers pip,uv]``
(needs ``pip install -e '.[bench]'`` for devpi-server and uv).

* "pypi.org" is a PEP 503 index on 127.0.0.1 over the real wheels of a typical web backend
  (fetched once with ``pip download`` into ``bench/.cache/wheels``); every byte it serves
  crosses the "NAT gateway".
* "GitHub releases" is ``testbed.pbs.Releases`` serving one python-build-standalone style
  archive (``PYTHON_SIZE`` bytes, incompressible) behind a byte-counting relay: every byte it
  sends crosses the NAT too (testbed/interpreters.py).
* The in-cluster Nexus is played by devpi-server for packages: a pull-through mirror index of
  that upstream (``--no-root-pypi``; it never talks to pypi.org), and by the Nexus double's
  raw proxy repository ``python-build-standalone`` (remote: "GitHub releases") for
  interpreters. The bytes they hand to the build stay "inside the cluster".
* Each build is an ephemeral runner's job: ``uv python install`` of the interpreter, then a
  fresh virtual environment (empty installer cache) installing the same requirements, in
  these set-ups:
  1. no cache: straight from upstream;
  2. GitHub-cache style: the installer's cache directory and the interpreter directory
     (setup-uv ``cache-python: true``) are packed into archives after build 1 (uploaded: NAT)
     and unpacked before every later build (downloaded: NAT), like ``actions/setup-python
     cache: pip`` / ``setup-uv enable-cache`` (uv: after ``uv cache prune --ci``, setup-uv's
     default ``prune-cache: true``);
  3. uv only, the same with ``prune-cache: false``: the archive keeps the wheels;
  4. pipnexus: ``pipnexus configure`` points the installer at the cache and uv's interpreter
     downloads at the raw proxy (``UV_PYTHON_INSTALL_MIRROR``); build 1 finds the caches
     cold, later builds find them warm.

It prints tables and never asserts anything about time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from bench._common import (
    CACHE,
    CountingIndex,
    CountingRelay,
    Counts,
    builds_parser,
    devpi,
    human,
    isolated_env,
    machine,
    parse_builds,
    pipnexus_configure,
    run,
    table,
    tempdir,
)
from pipnexus.nexus.values import PYTHON_MIRROR_REPOSITORY
from testbed.interpreters import (
    GITHUB_CACHE,
    NO_CACHE,
    PIPNEXUS,
    InterpreterBed,
    pack,
    unpack,
)
from testbed.pbs import Build as PythonBuild

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
NO_PRUNE = "GitHub cache, prune-cache: false"
SETUPS = (NO_CACHE, GITHUB_CACHE, NO_PRUNE, PIPNEXUS)
WIDTH = max(len(s) for s in SETUPS)
# The interpreter archive: 30 MB of incompressible bytes, the order of python-build-standalone's
# install_only_stripped CPython 3.12 x86_64 Linux release asset (the archive setup-uv's
# python-version and `uv python install` download; sizes on the project's GitHub releases).
PYTHON = PythonBuild("3.12.7", "20241016")
PYTHON_SIZE = 30_000_000


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
    upstream: Counts  # packages from "pypi.org"
    interpreter: int  # interpreter bytes from "GitHub releases"
    archive_down: int  # cache archives restored (packages + interpreter)
    archive_up: int  # cache archives saved
    inside: int

    @property
    def packages(self) -> int:
        return self.upstream.total

    @property
    def archives(self) -> int:
        return self.archive_down + self.archive_up

    @property
    def nat(self) -> int:
        return self.packages + self.interpreter + self.archives


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


def setups(installer: str) -> tuple[str, ...]:
    # setup-python's pip cache is never pruned: the prune-cache row is uv's only
    return SETUPS if installer == "uv" else tuple(s for s in SETUPS if s != NO_PRUNE)


def bench_installer(
    installer: str, n: int, work: Path, reqs: Path, up: CountingIndex, relay: CountingRelay,
    cache_index_url: str, bed: InterpreterBed,
) -> list[Build]:
    builds: list[Build] = []
    cache_var = "PIP_CACHE_DIR" if installer == "pip" else "UV_CACHE_DIR"
    base = isolated_env(work / "home", {"UV_LINK_MODE": "copy"})
    # pip caches plain-http responses only from trusted hosts; pypi.org is https.
    direct = {"PIP_INDEX_URL": up.index_url, "PIP_TRUSTED_HOST": "127.0.0.1",
              "UV_DEFAULT_INDEX": up.index_url}

    configured = pipnexus_configure(cache_index_url, up.index_url, base,
                                    args=["--python-mirror", bed.mirror_url])
    if configured.source != "nexus":
        print(f"  warning: pipnexus configure chose {configured.source!r} "
              f"({configured.index_url}): the numbers below are not through the cache")
    if configured.env.get("UV_PYTHON_INSTALL_MIRROR") != bed.mirror_url:
        print("  warning: pipnexus configure set no interpreter mirror: the pipnexus "
              "interpreter numbers below are not through the cache")
    # the devpi index path (/root/<installer>/+simple/) would read as a home directory
    shown = f"the devpi mirror index root/{installer}" if configured.source == "nexus" \
        else configured.index_url
    print(f"  pipnexus configure -> {configured.source} {shown}, interpreter mirror: the "
          f"Nexus double's raw proxy {PYTHON_MIRROR_REPOSITORY}; sets "
          + " ".join(sorted(configured.env)), flush=True)

    for setup in setups(installer):
        tag = f"{installer}-{setup.replace(' ', '-').replace(':', '')}"
        archive = work / f"{tag}-cache.tar.gz"
        gh_cache = work / f"{tag}-gh-cache"
        github = setup in (GITHUB_CACHE, NO_PRUNE)
        for i in range(1, n + 1):
            venv = work / f"venv-{installer}"
            cache_dir = work / f"{tag}-cache-{i}"
            env = dict(base, **(configured.env if setup == PIPNEXUS else direct))
            up_before, in_before = up.counts(), relay.downstream_bytes()
            down = upl = 0
            start = time.perf_counter()
            step = bed.job(GITHUB_CACHE if github else setup, env, tag)
            if not step.ok:
                print(f"  FAILED: uv python install\n{step.output[-2000:]}", flush=True)
            if github:
                cache_dir = gh_cache
                if archive.exists():
                    down = unpack(archive, cache_dir)
            env[cache_var] = str(cache_dir)
            ok = install(installer, venv, reqs, env) and step.ok
            if github and not archive.exists():
                if installer == "uv" and setup == GITHUB_CACHE:
                    run([uv_bin(), "cache", "prune", "--ci"], env, timeout=120)
                upl = pack(cache_dir, archive)
            wall = time.perf_counter() - start
            inside = relay.downstream_bytes() - in_before if setup == PIPNEXUS else 0
            b = Build(setup, i, ok, wall, up.counts() - up_before, step.upstream,
                      down + step.archive_down, upl + step.archive_up, inside + step.inside)
            builds.append(b)
            print(f"  {setup:{WIDTH}} build {i}: {'ok' if ok else 'FAILED'}, packages "
                  f"{human(b.packages)}, interpreter {human(b.interpreter)}, archives "
                  f"{human(b.archives)}, NAT {human(b.nat)}, inside {human(b.inside)}, "
                  f"{wall:.1f} s", flush=True)
            if not github:
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
            "ok" if b.ok else "FAILED", human(b.packages), human(b.interpreter),
            f"{human(b.archives)} ({human(b.archive_down)} down, {human(b.archive_up)} up)",
            human(b.nat), human(b.inside), f"{b.wall:.1f} s",
        ])
    out = [table(["set-up", "build", "result", "packages", "interpreter",
                  "cache archive", "NAT total", "inside cluster", "wall"], rows)]

    def mean(setup: str, attr: str, warm: bool) -> float:
        vals = [getattr(b, attr) for b in builds if b.setup == setup and (b.number > 1) == warm]
        return sum(vals) / len(vals) if vals else 0.0

    present = [s for s in SETUPS if any(b.setup == s for b in builds)]
    summary = []
    for setup in present:
        summary.append([
            setup, human(mean(setup, "nat", False)), human(mean(setup, "packages", True)),
            human(mean(setup, "interpreter", True)), human(mean(setup, "archives", True)),
            human(mean(setup, "nat", True)),
            human(sum(b.nat for b in builds if b.setup == setup)),
        ])
    out.append("")
    out.append(table(["set-up", "NAT cold", "warm: packages", "warm: interpreter",
                      "warm: cache archive", "warm: NAT total", "NAT all builds"], summary))
    pn_warm = mean(PIPNEXUS, "nat", True)
    pn_files = sum(b.upstream.files for b in builds if b.setup == PIPNEXUS and b.number > 1)
    pn_interp = sum(b.interpreter for b in builds if b.setup == PIPNEXUS and b.number > 1)
    out.append("")
    out.append(f"- warm pipnexus builds: {human(pn_files)} of package files and "
               f"{human(pn_interp)} of interpreter from upstream (goal 0 and 0)")
    for other in (GITHUB_CACHE, NO_PRUNE, NO_CACHE):
        if other in present:
            out.append(f"- NAT per warm build, pipnexus vs {other}: "
                       f"{_ratio(pn_warm, mean(other, 'nat', True))}")
    cold = [b for b in builds if b.number == 1]
    files = {b.setup: b.upstream.files for b in cold}
    if files.get(PIPNEXUS, 0) > files.get(NO_CACHE, 0):
        out.append(f"- cold pipnexus build: the cache fetched {human(files[PIPNEXUS])} of files "
                   f"for {human(files[NO_CACHE])} of wheels: requests for a wheel that arrive "
                   "while the cache is still downloading it (uv sends a HEAD and then a GET) "
                   "start a second upstream download in devpi")
    if installer == "uv":
        out.append(f"- uv, {GITHUB_CACHE}: the archive is what setup-uv saves by default, after "
                   "`uv cache prune --ci` (which drops wheels downloaded from an index), so warm "
                   f"builds still download every wheel; {NO_PRUNE} keeps them in the archive")
        out.append("- uv: inside the cluster it moves about twice the wheel bytes: the cache "
                   "(like Nexus, nexus-public#296) serves no PEP 658 metadata, so uv reads each "
                   "wheel's metadata from the wheel itself before installing it")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = builds_parser("python -m bench.egress", __doc__)
    parser.add_argument("--requirement", action="append", default=None,
                        help="a requirement to install (repeatable; default: a web backend)")
    args, installers = parse_builds(parser, argv)
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
    print("every build: `uv python install` (the interpreter step), then a fresh venv and "
          "the install")
    print("NAT = packages (upstream files + pages + metadata, body bytes) + interpreter (bytes "
          "from \"GitHub releases\", headers included) + cache archives down + up; "
          "inside = bytes the caches sent to the runner")
    print("packages cache: devpi-server; interpreter cache: the Nexus double (testbed)\n",
          flush=True)

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
                    # a Nexus double per installer, so that its first build finds it cold
                    # (devpi has an index per installer)
                    with InterpreterBed(work / f"python-{installer}", uv_bin(), PYTHON,
                                        PYTHON_SIZE) as bed:
                        print(f"  interpreter: `uv python install {PYTHON.version}`, a "
                              f"{human(len(bed.archive))} python-build-standalone style archive "
                              "from \"GitHub releases\" (127.0.0.1, behind a byte-counting "
                              "relay: NAT); a fresh Nexus double's raw proxy "
                              f"{PYTHON_MIRROR_REPOSITORY} plays the in-cluster interpreter "
                              "mirror", flush=True)
                        builds = bench_installer(installer, args.builds, work, reqs, up, relay,
                                                 index, bed)
                    print()
                    print(report(installer, builds))
                    print(flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
