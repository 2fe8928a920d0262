"""The interpreter part of the egress benchmark (testbed/interpreters.py), with a small archive:
a warm job through pipnexus (the mirror ``pipnexus configure`` printed, a Nexus double's raw
proxy) downloads 0 interpreter bytes upstream; without a cache every job downloads it; with the
GitHub cache later jobs download the archive instead. And every pipnexus job, warm ones too,
counts its own probe (``InterpreterBed.probe``, which the bench runs in every pipnexus
build)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from pipnexus.nexus.values import PYTHON_MIRROR_REPOSITORY
from pipnexus.probe.engine import MIRROR_PROBE_PATH
from testbed.commands import pipnexus_configure
from testbed.interpreters import GITHUB_CACHE, NO_CACHE, PIPNEXUS, InterpreterBed
from testbed.pbs import checksum_list
from testbed.upstream import Upstream


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



def test_every_pipnexus_job_counts_its_probe_warm_ones_too(
    tmp_path: Path, upstream: Upstream
) -> None:
    """bench/egress.py runs ``InterpreterBed.probe`` in every pipnexus build: each job's canary
    page and mirror file are inside-cluster bytes of that job, and what the caches fetch
    upstream for them NAT bytes (the cold job's only, within the metadata lifetime)."""
    env = _env(tmp_path)
    with InterpreterBed(tmp_path / "bed", _uv(), pypi_upstream=upstream.base_url) as bed:

        def packages() -> tuple[int, int]:
            # the double is the package cache too: its bytes to the runner are counted already
            return upstream.bytes_served, 0

        probes = [bed.probe(bed.nexus.index_url(), upstream.index_url, env, packages)
                  for _ in range(3)]
        mirror_file = f"/repository/{PYTHON_MIRROR_REPOSITORY}/{MIRROR_PROBE_PATH}"
        assert bed.nexus.count(mirror_file) == 3  # every job probed the mirror ...
        assert bed.releases.count("/" + MIRROR_PROBE_PATH) == 1  # ... "GitHub" sent it once
        page = bed.nexus.count("/repository/pypi-proxy/simple/pip/")
    assert page == 3  # and every job read the canary page
    size = len(checksum_list())
    cold, *warm = probes
    for p in probes:
        assert p.configured.source == "nexus"
        assert p.configured.env["UV_PYTHON_INSTALL_MIRROR"] == bed.mirror_url
        assert p.inside > size  # the canary page and the mirror file, from the caches
    assert cold.nat > size  # the caches fetched both upstream (the page's bytes and the file's)
    for p in warm:
        assert p.nat == 0  # within the caches' metadata lifetimes
        assert p.inside == cold.inside  # the same page and file, now from the caches
