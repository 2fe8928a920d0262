"""The interpreter step of an ephemeral runner's job, as the egress benchmark measures it.

Every job runs ``uv python install <version>`` on a fresh runner. The interpreter comes from
"GitHub releases": ``testbed.pbs.Releases`` behind a ``CountingRelay``, so every byte it sends
counts as NAT traffic. Three set-ups:

* ``no cache``: uv downloads the archive from "GitHub" in every job;
* ``GitHub cache`` (setup-uv ``cache-python: true``): the interpreter directory is packed
  into a cache archive after the first job and restored before later ones (both transfers
  cross the NAT; the archive sizes are returned, the caller counts them);
* ``pipnexus``: ``UV_PYTHON_INSTALL_MIRROR`` (as ``pipnexus configure`` sets it) points at a
  Nexus double's raw proxy repository whose remote is the relay: the first job makes Nexus
  fetch the archive once, later jobs fetch 0 interpreter bytes upstream.

``InterpreterBed`` owns the servers; ``InterpreterBed.job`` runs one job's step, and
``InterpreterBed.probe`` a pipnexus job's ``pipnexus configure`` step before it: every job runs
the action, so every job probes (the canary page, the mirror's ``SHA256SUMS``), and those bytes
are the job's too.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from pipnexus.nexus.values import PYTHON_MIRROR_REPOSITORY
from testbed.commands import Configured, pipnexus_configure, run
from testbed.nexus_double import NexusDouble
from testbed.pbs import Build, Releases, make_archive, write_downloads_json
from testbed.relay import CountingRelay

NO_CACHE, GITHUB_CACHE, PIPNEXUS = "no cache", "GitHub cache", "pipnexus"


class Step(NamedTuple):
    """One job's interpreter step: bytes by kind (the caller adds the archive ones to NAT)."""

    ok: bool
    upstream: int  # bytes "GitHub releases" sent through the NAT (directly or to Nexus)
    archive_down: int  # cache archive restored before the step
    archive_up: int  # cache archive saved after the step (first job only)
    inside: int  # bytes the Nexus double sent to the runner
    output: str


class Probe(NamedTuple):
    """One pipnexus job's ``pipnexus configure`` step: what it set, and its probe's bytes."""

    configured: Configured
    nat: int  # what the caches fetched upstream meanwhile (package side and "GitHub releases")
    inside: int  # what the caches sent the runner: the canary page and the mirror file


def pack(directory: Path, archive: Path) -> int:
    """A GitHub-cache style archive of ``directory``; returns its size."""
    with tarfile.open(archive, "w:gz", compresslevel=1) as tf:
        tf.add(directory, arcname="cache")
    return archive.stat().st_size


def unpack(archive: Path, directory: Path) -> int:
    """Restore ``archive`` (from ``pack``) as ``directory``; returns the archive's size."""
    shutil.rmtree(directory, ignore_errors=True)
    restore = directory.parent / f".restore-{directory.name}"
    shutil.rmtree(restore, ignore_errors=True)
    with tarfile.open(archive) as tf:
        # "tar", not "data": uv links the minor version to the install by absolute path, and
        # the archive is restored at the path it was packed from (as setup-uv does)
        tf.extractall(restore, filter="tar")
    shutil.move(str(restore / "cache"), directory)
    shutil.rmtree(restore, ignore_errors=True)
    return archive.stat().st_size


class InterpreterBed:
    """python-build-standalone releases behind a counting relay, and a Nexus double proxying them.

    ``padding`` makes the archive interpreter-sized (incompressible bytes). ``pypi_upstream``,
    when given, also gives the double a ``pypi-proxy`` repository of that index (so
    ``pipnexus configure --nexus-url`` finds an index there).
    """

    def __init__(self, work: Path, uv: str, build: Build | None = None, padding: int = 0,
                 pypi_upstream: str | None = None) -> None:
        self.work = work
        self.uv = uv
        self.build = build or Build()
        self.archive = make_archive(self.build, padding=padding)
        work.mkdir(parents=True, exist_ok=True)
        self.downloads = write_downloads_json(work / "python-downloads.json",
                                              {self.build: self.archive})
        self.releases = Releases({self.build: self.archive})
        self.relay = CountingRelay(self.releases.port).__enter__()
        self.nexus = NexusDouble(pypi_upstream, "pypi-proxy" if pypi_upstream else None)
        self.nexus.add_raw_proxy(PYTHON_MIRROR_REPOSITORY, self.github_url)

    @property
    def github_url(self) -> str:
        """The "GitHub releases" URL through the NAT (what uv downloads from without a mirror)."""
        return f"http://127.0.0.1:{self.relay.port}"

    @property
    def mirror_url(self) -> str:
        """The double's raw proxy (``--python-mirror``; configure sets it as the mirror)."""
        return f"{self.nexus.base_url}/repository/{PYTHON_MIRROR_REPOSITORY}"

    def close(self) -> None:
        self.nexus.stop()
        self.relay.__exit__()
        self.releases.stop()

    def __enter__(self) -> InterpreterBed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def job(self, setup: str, env: Mapping[str, str], tag: str) -> Step:
        """One job's ``uv python install`` on a fresh runner in ``setup``.

        ``env`` is the job's environment (for ``pipnexus``: with the ``UV_PYTHON_INSTALL_MIRROR``
        configure printed). ``tag`` names the set-up's state below ``work`` (the GitHub cache
        archive survives between jobs of the same tag; nothing else does).
        """
        runner = self.work / f"runner-{tag}"
        shutil.rmtree(runner, ignore_errors=True)  # ephemeral: nothing left from the last job
        pythons = runner / "pythons"
        archive = self.work / f"python-cache-{tag}.tar.gz"
        job_env = dict(env)
        job_env.update(
            UV_PYTHON_INSTALL_DIR=str(pythons),
            UV_PYTHON_BIN_DIR=str(runner / "bin"),
            UV_CACHE_DIR=str(runner / "uv-cache"),
            UV_PYTHON_DOWNLOADS="automatic",
            UV_PYTHON_DOWNLOADS_JSON_URL=str(self.downloads),
        )
        if setup != PIPNEXUS:
            job_env["UV_PYTHON_INSTALL_MIRROR"] = self.github_url
        elif "UV_PYTHON_INSTALL_MIRROR" not in job_env:
            raise ValueError("pipnexus set-up without UV_PYTHON_INSTALL_MIRROR in env")
        down = up = 0
        if setup == GITHUB_CACHE and archive.exists():
            runner.mkdir(parents=True)
            down = unpack(archive, pythons)
        nat_before, inside_before = self.relay.downstream_bytes(), self.nexus.bytes_served
        r = run([self.uv, "python", "install", self.build.version], job_env, timeout=300)
        exe = pythons / self.build.key / "bin" / f"python{self.build.minor}"
        ok = r.rc == 0 and exe.is_file()
        upstream = self.relay.downstream_bytes() - nat_before
        inside = self.nexus.bytes_served - inside_before if setup == PIPNEXUS else 0
        if setup == GITHUB_CACHE and ok and not archive.exists():
            up = pack(pythons, archive)
        return Step(ok, upstream, down, up, inside, r.output)

    def probe(self, index_url: str, fallback: str, env: Mapping[str, str],
              packages: Callable[[], tuple[int, int]]) -> Probe:
        """A pipnexus job's ``pipnexus configure`` step with this bed's raw proxy as
        ``--python-mirror``: one run, so one probe, as the action's step makes in every job.

        ``packages()`` gives the package side's byte counters so far, (NAT, inside): what the
        upstream index sent the package cache, and what that cache sent the runner (0 when the
        package cache is this bed's double, whose bytes are counted here already).
        """
        (nat, inside), relay, served = packages(), self.relay.downstream_bytes(), \
            self.nexus.bytes_served
        configured = pipnexus_configure(index_url, fallback, env, decision=False,
                                        args=["--python-mirror", self.mirror_url])
        nat_after, inside_after = packages()
        return Probe(configured, nat_after - nat + self.relay.downstream_bytes() - relay,
                     inside_after - inside + self.nexus.bytes_served - served)
