"""testbed.upstream.PaddedUpstream: the large, changing pages of bench/egress_metadata.py.
Installers still pick the real release; pages change on publish(); and a devpi-server mirror
with a short metadata lifetime in front of it still lists the real release of a project it
meets after its project list expired (it re-reads a changed root page, as from pypi.org)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed import installers
from testbed.devpi import devpi, devpi_installed
from testbed.httpbase import fetch
from testbed.upstream import PaddedUpstream, PypiHeaders
from testbed.wheels import make_wheel


class ChangingPypi(PaddedUpstream, PypiHeaders):
    """Padded pages with pypi.org's caching headers: a root page that had not changed would
    be answered ``304`` when devpi revalidates it."""

    page_max_age = 1


@pytest.mark.slow
def test_pages_are_padded_change_on_publish_and_pip_still_installs_the_real_release(
    tmp_path: Path,
) -> None:
    files = tmp_path / "files"
    make_wheel(files, "big-project", "1.2")
    with PaddedUpstream(files, page_bytes={"big-project": 200_000}) as up:
        url = f"{up.index_url}big-project/"
        first = fetch(url)
        assert first.status == 200
        assert 200_000 * 0.9 <= len(first.body) <= 200_000 * 1.1
        up.publish()
        second = fetch(url)
        assert second.body != first.body
        assert second.headers.get("ETag") != first.headers.get("ETag")
        target = tmp_path / "target"
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check",
             "--isolated", "--index-url", up.index_url, "--target", str(target),
             "big-project"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert list(target.glob("big_project-1.2.dist-info"))


def test_root_page_changes_every_time_so_a_revalidation_is_never_304(tmp_path: Path) -> None:
    files = tmp_path / "files"
    make_wheel(files, "big-project", "1.2")
    with ChangingPypi(files) as up:
        first = fetch(up.index_url)
        etag = first.headers.get("ETag")
        assert etag
        again = fetch(up.index_url, headers={"If-None-Match": etag})
        assert again.status == 200
        assert b'href="/simple/big-project/"' in again.body
        assert again.headers.get("ETag") != etag


@pytest.mark.slow
def test_devpi_mirror_with_expired_metadata_lists_the_real_release_of_a_padded_page(
    tmp_path: Path,
) -> None:
    if not devpi_installed():
        pytest.skip("devpi-server is not installed (the test extra installs it)")
    files = tmp_path / "files"
    make_wheel(files, "small-project", "2.0")
    make_wheel(files, "big-project", "1.2")
    env = installers.isolated_env(tmp_path)
    with ChangingPypi(files, page_bytes={"big-project": 400_000},
                      default_page_bytes=30_000) as up, \
            devpi(up.index_url, ["mirror"], tmp_path / "devpi", env, cache_expiry=1) as base:
        simple = f"{base}/root/mirror/+simple/"
        # devpi reads the project list (the root page) to learn that small-project exists
        first = fetch(f"{simple}small-project/", timeout=60)
        assert first.status == 200, first.body[-500:]
        assert b"small_project-2.0-py3-none-any.whl" in first.body
        time.sleep(1.5)  # past mirror_cache_expiry: devpi revalidates the project list
        up.publish()
        big = fetch(f"{simple}big-project/", timeout=60)
        assert big.status == 200, big.body[-500:]
        assert b"big_project-1.2-py3-none-any.whl" in big.body
        assert big.body.count(b"0.0.0.dev") > 100  # the padded page, not a short one
