"""testbed.upstream.PaddedUpstream: the large, changing project pages of
bench/egress_metadata.py. Installers still pick the real release; pages change on publish()."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testbed.httpbase import fetch
from testbed.upstream import PaddedUpstream
from testbed.wheels import make_wheel


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
