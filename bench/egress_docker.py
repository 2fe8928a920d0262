"""Docker image bytes of a CI job: no cache vs GitHub-cache style vs pipnexus (the Nexus Docker
proxy), cold and warm; the per-kind table (bench/egress.py) adds them as its "images" column.

Run from the repository root, as root (the runtimes run in a network namespace)::

    python -m bench.egress --docker [-n 3] [--cold-runs 3]   # this table alone
    python -m bench.egress_docker [-n 3] [--cold-runs 3] [--size BYTES]

* "Docker Hub" is a plain ``distribution`` registry (Debian's ``docker-registry``) on loopback
  holding one image, ``library/app:latest``: one gzip layer around ``IMAGE_SIZE``
  incompressible bytes. Every body byte it sends (its access log) crosses the "NAT gateway".
* "The Nexus Docker proxy" is a second ``distribution`` registry in proxy mode (a fresh one per
  cold run): the Nexus double does not serve manifests or blobs. The bytes it sends to the
  runner stay "inside the cluster".
* Each build is an ephemeral runner pulling the image with Debian's containerd 1.6
  (``ctr images pull --hosts-dir``; the image is removed after every build), in these set-ups:
  1. no cache: ``hosts.toml`` sends the pull to "Docker Hub";
  2. GitHub-cache style: the same for the cold build, then the image is exported into an
     archive (``ctr images export``, like ``docker save`` into ``actions/cache``: upload
     counted); warm builds import the archive instead of pulling (download counted);
  3. pipnexus: ``hosts.toml`` as examples/docker/hosts.toml, the mirror first.

  Build 1 runs ``--cold-runs`` times, each from nothing, then builds 2..n (warm).
* Everything runs in a network namespace with only loopback (testbed/runtimes.py).

It prints tables and never asserts anything about time.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from bench._common import human, machine, table, tempdir
from testbed import runtimes
from testbed.interpreters import GITHUB_CACHE, NO_CACHE, PIPNEXUS

SETUPS = (NO_CACHE, GITHUB_CACHE, PIPNEXUS)
# python:3.12-slim for linux/amd64 is about 45 MB compressed on Docker Hub (an assumption of
# this benchmark, not re-checked from this machine): a job's service or base image.
IMAGE_SIZE = 45_000_000


class ImageJob(NamedTuple):
    setup: str
    number: int  # 1 = cold, 2.. = warm
    cold_run: int  # a cold build: which of the cold runs (1..K); a warm one: 0
    ok: bool
    images: int  # body bytes "Docker Hub" sent: NAT
    upstream_blob_gets: int
    archive_down: int
    archive_up: int
    inside: int  # body bytes the cache sent to the runner

    @property
    def nat(self) -> int:
        return self.images + self.archive_down + self.archive_up


Key = tuple[str, int, int]  # (set-up, build number, cold run)


def image_jobs(builds: int, cold_runs: int, work: Path, size: int = IMAGE_SIZE,
               setups: Sequence[str] = SETUPS) -> dict[Key, ImageJob] | str:
    """Every set-up's image pulls, by (set-up, build, cold run); a string says why none ran."""
    reason = runtimes.missing()
    if reason:
        return reason
    try:
        steps = runtimes.run_isolated("image_jobs", work, {
            "size": size, "builds": builds, "cold_runs": cold_runs, "setups": list(setups)})
    except RuntimeError as e:
        return f"the image jobs failed: {str(e)[-1000:]}"
    jobs = {}
    for s in steps:
        setup, number, cold_run = s["name"].split("|")
        key = (setup, int(number), int(cold_run))
        jobs[key] = ImageJob(setup, int(number), int(cold_run), s["rc"] == 0, s["hub_bytes"],
                             s["hub_blob_gets"], s["archive_down"], s["archive_up"],
                             s["inside"])
    return jobs


def describe(size: int) -> str:
    return (f"images: one {human(size)} image (library/app, one layer of incompressible bytes) "
            "in a plain docker-registry (plays Docker Hub: NAT); a docker-registry pull-through "
            "cache (plays the Nexus Docker proxy, a fresh one per cold run); containerd 1.6 "
            "`ctr images pull` per build, the image removed after each; GitHub cache = `ctr "
            "images export` after the cold build, `import` before warm ones; in a network "
            "namespace")


def label(job: ImageJob) -> str:
    return f"{job.number} (cold, run {job.cold_run})" if job.number == 1 \
        else f"{job.number} (warm)"


def report(jobs: Mapping[Key, ImageJob]) -> str:
    rows = [[j.setup, label(j), "ok" if j.ok else "FAILED", human(j.images),
             str(j.upstream_blob_gets),
             f"{human(j.archive_down + j.archive_up)} ({human(j.archive_down)} down, "
             f"{human(j.archive_up)} up)", human(j.nat), human(j.inside)]
            for j in jobs.values()]
    out = [table(["set-up", "build", "result", "from Docker Hub", "blob GETs upstream",
                  "cache archive", "NAT total", "inside cluster"], rows)]
    summary = []
    for setup in SETUPS:
        mine = [j for j in jobs.values() if j.setup == setup]
        if not mine:
            continue
        cold = [j.nat for j in mine if j.number == 1]
        warm = [j.nat for j in mine if j.number > 1]
        lo, hi = human(min(cold)), human(max(cold))
        span = lo if lo == hi else f"{lo}–{hi}"
        summary.append([setup, span, human(sum(warm) / len(warm)) if warm else "n/a",
                        human(max(cold) + sum(warm))])
    out += ["", table(["set-up", "NAT cold (min–max)", "NAT per warm build",
                       "NAT, 1 cold (max) + warm"], summary)]
    cold_pn = [j for j in jobs.values() if j.setup == PIPNEXUS and j.number == 1]
    if cold_pn and any(j.upstream_blob_gets > 2 for j in cold_pn):
        out.append("")
        out.append("- cold pipnexus builds: the docker-registry (distribution 2.8) playing the "
                   "cache fetched each blob from upstream twice on a miss (see the blob GETs); "
                   "warm builds fetch no blob upstream, the cache only revalidates the manifest")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.egress_docker",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--builds", type=int, default=3,
                        help="builds per set-up: 1 cold, the rest warm (default 3)")
    parser.add_argument("--cold-runs", type=int, default=3,
                        help="cold builds per set-up, each from nothing (default 3)")
    parser.add_argument("--size", type=int, default=IMAGE_SIZE,
                        help=f"the image's incompressible bytes (default {IMAGE_SIZE})")
    args = parser.parse_args(argv)
    if args.builds < 1 or args.cold_runs < 1:
        parser.error("-n and --cold-runs must be at least 1")
    print("# pipnexus egress benchmark: Docker images\n")
    print(f"machine: {machine()}")
    print(describe(args.size))
    print("NAT = body bytes from \"Docker Hub\" (manifests and blobs) + image archives down + "
          "up; inside = body bytes the cache sent to the runner\n", flush=True)
    with tempdir("pipnexus-egress-docker-") as tmp:
        jobs = image_jobs(args.builds, args.cold_runs, Path(tmp), args.size)
    if isinstance(jobs, str):
        print(f"skipped: {jobs}")
        return 1
    print(report(jobs))
    return 0 if all(j.ok for j in jobs.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
