"""NAT egress of a CI job, per kind (packages, interpreter, cache archives): no cache vs
GitHub-cache style vs pipnexus; and, with options, the other egress tables.

Run from the repository root (needs ``pip install -e '.[bench]'`` for devpi-server, proxpi and
uv)::

    python -m bench.egress [-n 3] [--cold-runs 3] [--installers pip,uv]   # per kind (default)
    python -m bench.egress --runners 1,4,16   # N parallel cold builds (bench/egress_concurrency.py)
    python -m bench.egress --metadata         # expiring metadata (bench/egress_metadata.py)
    python -m bench.egress --wan              # a modelled WAN (bench/egress_wan.py)
    python -m bench.egress --docker           # Docker images alone (bench/egress_docker.py)
    python -m bench.egress --all              # all five tables, one after the other

``-n`` and ``--installers`` apply to every table but the concurrency one (which takes
``--installers`` only).

The per-kind table:

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
     cold, later builds find them warm. Every pipnexus build (cold and warm) runs configure
     in its measured window, as every job runs the action: its probe (the canary page from
     the package cache, the mirror's checksum file from the raw proxy, and what the caches
     fetch upstream for them) is the "probe" column, counted in the NAT and inside totals;
     "packages" and "interpreter" are the install and interpreter steps alone
     (bench/egress_table.py).

  Build 1 (cold) of every set-up runs ``--cold-runs`` times, each from nothing (no archive, a
  fresh devpi index and a fresh Nexus double): cold NAT bytes vary between runs (devpi
  downloads a wheel twice when requests for it overlap), so they are printed as min–max.
  Warm builds start from the last cold run's caches.
* Images: every build also pulls a Docker image, measured once for all installers by
  bench/egress_docker.py (containerd and real registries in a network namespace; skipped, with
  the reason, where they are missing): "images" is what "Docker Hub" sent, and the
  GitHub-cache set-ups carry the image in their archive.

It prints tables and never asserts anything about time.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from bench import egress_docker
from bench._common import (
    CACHE,
    REPO,
    CountingIndex,
    CountingRelay,
    builds_parser,
    devpi,
    human,
    isolated_env,
    machine,
    parse_builds,
    run,
    tempdir,
)
from bench.egress_table import NO_PRUNE, SETUPS, Build, label, report
from pipnexus.nexus.values import PYTHON_MIRROR_REPOSITORY
from testbed.interpreters import (
    GITHUB_CACHE,
    PIPNEXUS,
    InterpreterBed,
    Probe,
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
    # relative to the repository: the output is pasted into bench/README.md
    print(f"fetching the wheels of {' '.join(requirements)} (once) into "
          f"{WHEELS.relative_to(REPO).as_posix()} ...", flush=True)
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
    installer: str, n: int, cold_runs: int, work: Path, reqs: Path, up: CountingIndex,
    relay: CountingRelay, new_bed: Callable[[], InterpreterBed],
    images: Mapping[egress_docker.Key, egress_docker.ImageJob] | None = None,
    which: Sequence[str] | None = None,
) -> list[Build]:
    """``cold_runs`` cold builds (each from nothing), then ``n - 1`` warm ones, per set-up
    (``which``, default all of the installer's).

    ``relay`` leads to devpi, which has one mirror index per cold run (``index_name``);
    ``new_bed()`` returns a fresh interpreter bed (cold Nexus double) for each pipnexus cold
    run, the other set-ups share one. ``images``: each build's image pull (none: not counted).
    """
    builds: list[Build] = []
    cache_var = "PIP_CACHE_DIR" if installer == "pip" else "UV_CACHE_DIR"
    base = isolated_env(work / "home", {"UV_LINK_MODE": "copy"})
    # pip caches plain-http responses only from trusted hosts; pypi.org is https.
    direct = {"PIP_INDEX_URL": up.index_url, "PIP_TRUSTED_HOST": "127.0.0.1",
              "UV_DEFAULT_INDEX": up.index_url}
    shared_bed = new_bed()

    def configure(cold_run: int, bed: InterpreterBed) -> Probe:
        """The job's ``pipnexus configure`` step and its probe's bytes (testbed/interpreters.py);
        the warm builds use the last cold run's index."""
        index = f"http://127.0.0.1:{relay.port}/root/" \
                f"{index_name(installer, cold_run or cold_runs)}/+simple/"
        probe = bed.probe(index, up.index_url, base,
                          lambda: (up.counts().total, relay.downstream_bytes()))
        configured = probe.configured
        if configured.source != "nexus":
            print(f"  warning: pipnexus configure chose {configured.source!r} "
                  f"({configured.index_url}): the numbers below are not through the cache")
        if configured.env.get("UV_PYTHON_INSTALL_MIRROR") != bed.mirror_url:
            print("  warning: pipnexus configure set no interpreter mirror: the pipnexus "
                  "interpreter numbers below are not through the cache")
        if cold_run == 1:
            # the devpi index path (/root/<index>/+simple/) would read as a home directory
            shown = f"a devpi mirror index (one per cold run, root/{index_name(installer, 1)}"\
                "...)" if configured.source == "nexus" else configured.index_url
            print(f"  pipnexus configure -> {configured.source} {shown}, interpreter mirror: "
                  f"the Nexus double's raw proxy {PYTHON_MIRROR_REPOSITORY}; sets "
                  + " ".join(sorted(configured.env)), flush=True)
        return probe

    # one cold build per cold run, then the warm builds from the last cold run's caches
    plan = [(1, k) for k in range(1, cold_runs + 1)] + [(i, 0) for i in range(2, n + 1)]
    for setup in which or setups(installer):
        github = setup in (GITHUB_CACHE, NO_PRUNE)
        bed, pipnexus_env = shared_bed, {}
        for number, cold_run in plan:
            # a fresh tag per cold run: no archive from an earlier one (packages, interpreter)
            tag = f"{installer}-{setup.replace(' ', '-').replace(':', '')}-" \
                  f"{cold_run or cold_runs}"
            archive = work / f"{tag}-cache.tar.gz"
            if setup == PIPNEXUS and cold_run:
                bed = new_bed()
            venv = work / f"venv-{installer}"
            cache_dir = work / f"{tag}-gh-cache" if github else work / f"{tag}-cache-{number}"
            start = time.perf_counter()
            probe_nat = probe_inside = 0
            if setup == PIPNEXUS:
                # every job runs the action, so every pipnexus build probes, in its window
                probe = configure(cold_run, bed)
                pipnexus_env, probe_nat, probe_inside = probe.configured.env, probe.nat, \
                    probe.inside
            env = dict(base, **(pipnexus_env if setup == PIPNEXUS else direct))
            up_before, in_before = up.counts(), relay.downstream_bytes()
            down = upl = 0
            step = bed.job(GITHUB_CACHE if github else setup, env, tag)
            if not step.ok:
                print(f"  FAILED: uv python install\n{step.output[-2000:]}", flush=True)
            if github and archive.exists():
                down = unpack(archive, cache_dir)
            env[cache_var] = str(cache_dir)
            ok = install(installer, venv, reqs, env) and step.ok
            if github and not archive.exists():
                if installer == "uv" and setup == GITHUB_CACHE:
                    run([uv_bin(), "cache", "prune", "--ci"], env, timeout=120)
                upl = pack(cache_dir, archive)
            wall = time.perf_counter() - start
            inside = relay.downstream_bytes() - in_before if setup == PIPNEXUS else 0
            img = (images or {}).get((GITHUB_CACHE if github else setup, number, cold_run))
            b = Build(setup, number, cold_run, ok and (img is None or img.ok), wall,
                      up.counts() - up_before, step.upstream,
                      down + step.archive_down + (img.archive_down if img else 0),
                      upl + step.archive_up + (img.archive_up if img else 0),
                      inside + step.inside + (img.inside if img else 0) + probe_inside,
                      img.images if img else 0, probe_nat, probe_inside)
            builds.append(b)
            print(f"  {setup:{WIDTH}} build {label(b)}: {'ok' if ok else 'FAILED'}, packages "
                  f"{human(b.packages)}, interpreter {human(b.interpreter)}, images "
                  f"{human(b.images)}, probe {human(b.probe_nat)}, archives "
                  f"{human(b.archives)}, NAT {human(b.nat)}, inside {human(b.inside)}, "
                  f"{wall:.1f} s", flush=True)
            if not github:
                shutil.rmtree(cache_dir, ignore_errors=True)
    return builds


def index_name(installer: str, cold_run: int) -> str:
    """devpi's mirror index for one installer's pipnexus cold run (and the warm builds after
    the last one)."""
    return f"{installer}-{cold_run}"


def bed_factory(beds: ExitStack, work: Path, installer: str) -> Callable[[], InterpreterBed]:
    """Fresh interpreter beds, closed with ``beds``: one per installer and pipnexus cold run, so
    that every cold run finds its Nexus double cold."""
    numbers = itertools.count(1)

    def new_bed() -> InterpreterBed:
        return beds.enter_context(InterpreterBed(work / f"python-{installer}-{next(numbers)}",
                                                 uv_bin(), PYTHON, PYTHON_SIZE))

    return new_bed


def per_kind(args: argparse.Namespace, installers: list[str]) -> int:
    """The per-kind table (this module's own)."""
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
    print(f"cache (plays the in-cluster Nexus): devpi-server {dv}, a fresh pull-through mirror "
          "index per installer and cold run, 127.0.0.1")
    print(f"builds per set-up: build 1 (cold) {args.cold_runs} times, each from nothing (no "
          "cache archive, a fresh cache), then builds 2-"
          f"{args.builds} (warm) from the last cold run's caches; a fresh venv and an empty "
          "installer cache each (ephemeral runner)")
    print("every build: `uv python install` (the interpreter step), then a fresh venv and "
          "the install")
    print("NAT = packages (the install step: upstream files + pages + metadata, body bytes) + "
          "interpreter (the interpreter step: bytes from \"GitHub releases\", headers "
          "included) + images + probe (pipnexus: what the caches fetched upstream for the "
          "job's `pipnexus configure`) + cache archives down + up; inside = bytes the caches "
          "sent to the runner, the probe's canary page and mirror file included")
    print("packages cache: devpi-server; interpreter cache: the Nexus double (testbed)\n",
          flush=True)

    with tempdir("pipnexus-egress-") as tmp:
        work = Path(tmp)
        reqs = work / "requirements.txt"
        reqs.write_text("\n".join(requirements) + "\n")
        names = [index_name(i, k) for i in installers for k in range(1, args.cold_runs + 1)]
        images = egress_docker.image_jobs(args.builds, args.cold_runs, work / "images")
        print(f"images not counted: {images}\n" if isinstance(images, str) else
              egress_docker.describe(egress_docker.IMAGE_SIZE) + "\n", flush=True)
        with CountingIndex(wheels) as up, devpi(up.index_url, names, work) as cache:
            port = int(cache.rsplit(":", 1)[1])
            with CountingRelay(port) as relay:
                for installer in installers:
                    print(f"## {installer}", flush=True)
                    with ExitStack() as beds:
                        new_bed = bed_factory(beds, work, installer)
                        print(f"  interpreter: `uv python install {PYTHON.version}`, a "
                              f"{human(PYTHON_SIZE)} python-build-standalone style archive "
                              "from \"GitHub releases\" (127.0.0.1, behind a byte-counting "
                              "relay: NAT); a fresh Nexus double's raw proxy "
                              f"{PYTHON_MIRROR_REPOSITORY} plays the in-cluster interpreter "
                              "mirror", flush=True)
                        builds = bench_installer(installer, args.builds, args.cold_runs, work,
                                                 reqs, up, relay, new_bed,
                                                 None if isinstance(images, str) else images)
                    print()
                    print(report(installer, builds))
                    print(flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = builds_parser("python -m bench.egress", __doc__)
    parser.add_argument("--requirement", action="append", default=None,
                        help="a requirement to install (repeatable; default: a web backend); "
                             "per-kind table only")
    parser.add_argument("--cold-runs", type=int, default=3,
                        help="cold builds per set-up, each from nothing (default 3); per-kind "
                             "table only")
    parser.add_argument("--runners", default=None,
                        help="print the concurrency table: comma-separated numbers of parallel "
                             "cold builds, e.g. 1,4,16 (bench/egress_concurrency.py)")
    parser.add_argument("--metadata", action="store_true",
                        help="print the expiring-metadata table (bench/egress_metadata.py)")
    parser.add_argument("--wan", action="store_true",
                        help="print the modelled-WAN table (bench/egress_wan.py)")
    parser.add_argument("--docker", action="store_true",
                        help="print the Docker image table alone (bench/egress_docker.py)")
    parser.add_argument("--all", action="store_true",
                        help="every table: per kind, --runners 1,4,16, --metadata, --wan, --docker")
    args, installers = parse_builds(parser, argv)
    if args.cold_runs < 1:
        parser.error("--cold-runs must be at least 1")
    chosen = bool(args.runners or args.metadata or args.wan or args.docker)
    # the other tables' modules import this one: import them here, not at the top
    sections: list[Callable[[], int]] = []
    if args.all or not chosen:
        sections.append(lambda: per_kind(args, installers))
    if args.all or args.runners:
        from bench import egress_concurrency
        sections.append(lambda: egress_concurrency.main(
            ["--runners", args.runners or "1,4,16", "--installers", ",".join(installers)]))
    common = ["-n", str(args.builds), "--installers", ",".join(installers)]
    if args.all or args.metadata:
        from bench import egress_metadata
        sections.append(lambda: egress_metadata.main(common))
    if args.all or args.wan:
        from bench import egress_wan
        sections.append(lambda: egress_wan.main(common))
    if args.all or args.docker:
        sections.append(lambda: egress_docker.main([*common[:2], "--cold-runs",
                                                    str(args.cold_runs)]))
    status = 0
    for section in sections:
        status = section() or status
        print(flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
