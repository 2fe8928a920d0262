"""The interpreter part of the egress benchmark (testbed/interpreters.py), with a small archive:
a warm job through pipnexus (the mirror ``pipnexus configure`` printed, a Nexus double's raw
proxy) downloads 0 interpreter bytes upstream; without a cache every job downloads it; with the
GitHub cache later jobs download the archive instead. And the per-kind bench function
(bench/egress.py ``bench_installer``) on two small wheels: every pipnexus build, cold and warm,
counts its job's probe."""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from bench._common import CountingIndex, CountingRelay, devpi
from bench.egress import bench_installer, index_name
from pipnexus.probe.engine import MIRROR_PROBE_PATH
from testbed.commands import pipnexus_configure
from testbed.devpi import devpi_installed
from testbed.interpreters import GITHUB_CACHE, NO_CACHE, PIPNEXUS, InterpreterBed
from testbed.pbs import checksum_list
from testbed.upstream import Upstream
from testbed.wheels import make_wheel


def _uv() -> str:
    found = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (the test extra installs it)")
    return found


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "UV_NO_CONFIG": "1"}


def test_warm_jobs_through_pipnexus_download_no_interpreter_bytes_upstream(
    tmp_path: Path, upstream: Upstream
) -> None:
    env = _env(tmp_path)
    with InterpreterBed(tmp_path / "bed", _uv(), padding=64 * 1024,
                        pypi_upstream=upstream.base_url) as bed:
        size = len(bed.archive)
        configured = pipnexus_configure(bed.nexus.index_url(), upstream.index_url, env,
                                        args=["--python-mirror", bed.mirror_url])
        assert configured.source == "nexus"
        assert configured.env["UV_PYTHON_INSTALL_MIRROR"] == bed.mirror_url
        job_env = {**env, **configured.env}
        cold = bed.job(PIPNEXUS, job_env, "pipnexus")
        warm = [bed.job(PIPNEXUS, job_env, "pipnexus") for _ in range(2)]
        assert cold.ok, cold.output
        assert size <= cold.upstream < size + 4096  # the archive once, plus HTTP headers
        assert cold.inside >= size
        for step in warm:
            assert step.ok, step.output
            assert step.upstream == 0
            assert step.inside >= size  # from the cache, inside the cluster
            assert (step.archive_down, step.archive_up) == (0, 0)
        assert bed.releases.count(bed.build.path.split("%")[0]) == 1


def test_no_cache_downloads_every_job_and_the_github_cache_moves_the_archive(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)
    with InterpreterBed(tmp_path / "bed", _uv(), padding=64 * 1024) as bed:
        size = len(bed.archive)
        for _ in range(2):
            step = bed.job(NO_CACHE, env, "none")
            assert step.ok, step.output
            assert step.upstream >= size
            assert (step.archive_down, step.archive_up, step.inside) == (0, 0, 0)
        first = bed.job(GITHUB_CACHE, env, "gh")
        assert first.ok, first.output
        assert first.upstream >= size
        assert first.archive_up >= size and first.archive_down == 0
        second = bed.job(GITHUB_CACHE, env, "gh")
        assert second.ok, second.output
        assert second.upstream == 0  # restored from the archive ...
        assert second.archive_down == first.archive_up  # ... which crossed the NAT instead
        assert second.archive_up == 0


@pytest.mark.slow
def test_every_pipnexus_build_of_the_per_kind_bench_counts_its_probe(tmp_path: Path) -> None:
    """A real runner runs the action in every job, so every job probes: the canary page from
    the package cache and the mirror's checksum file from the raw proxy are inside-cluster bytes
    of each build, and what the caches fetch upstream for them NAT bytes of the cold one."""
    if not devpi_installed():
        pytest.skip("devpi-server is not installed (the test extra installs it)")
    uv = _uv()
    files = tmp_path / "files"
    make_wheel(files, "pip", "24.0")  # the canary project
    make_wheel(files, "small-project", "1.0")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("small-project\n")
    work = tmp_path / "work"
    beds: list[InterpreterBed] = []
    with ExitStack() as stack:
        up = stack.enter_context(CountingIndex(files))
        cache = stack.enter_context(devpi(up.index_url, [index_name("pip", 1)], tmp_path / "d"))
        relay = stack.enter_context(CountingRelay(int(cache.rsplit(":", 1)[1])))

        def new_bed() -> InterpreterBed:
            beds.append(stack.enter_context(InterpreterBed(work / f"py-{len(beds)}", uv)))
            return beds[-1]

        builds = bench_installer("pip", 3, 1, work, reqs, up, relay, new_bed, which=[PIPNEXUS])
        assert [(b.setup, b.number) for b in builds] == [(PIPNEXUS, 1), (PIPNEXUS, 2),
                                                         (PIPNEXUS, 3)]
        bed = beds[-1]  # the pipnexus cold run's (the first is the other set-ups' shared one)
        # every build asked the raw proxy for the mirror file; "GitHub" sent it once
        assert bed.nexus.count("/repository/python-build-standalone/" + MIRROR_PROBE_PATH) == 3
        assert bed.releases.count("/" + MIRROR_PROBE_PATH) == 1
    mirror_file = len(checksum_list())
    cold, *warm = builds
    assert all(b.ok for b in builds)
    # cold: the caches fetched the canary page and the mirror file upstream (NAT)
    assert cold.probe_nat > mirror_file
    for b in builds:
        # the canary page (devpi, through the relay) and the mirror file (the double)
        assert b.probe_inside > mirror_file
        assert b.inside >= b.probe_inside
        assert b.nat == (b.packages + b.interpreter + b.images + b.archives + b.probe_nat)
    for b in warm:
        assert b.probe_nat == 0  # both caches are warm, within their metadata lifetimes
        assert (b.packages, b.interpreter) == (0, 0)
