"""``python -m testbed.thirdparty fetch``: pinned files from an offline copy or by download,
never bytes that do not match their SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed import thirdparty
from testbed.httpbase import LoopbackServer, QuietHandler, Response, closed_url
from testbed.thirdparty import Pinned, fetch

GOOD = b"apiVersion: v2\nname: demo\n"


def _pin(path: str = "charts/demo/Chart.yaml", data: bytes = GOOD) -> Pinned:
    return Pinned(path, "owner/repo", "0" * 40, "charts/demo/Chart.yaml",
                  hashlib.sha256(data).hexdigest())


class RawFiles(LoopbackServer):
    """Serves ``/<owner>/<repo>/<commit>/<path>`` from a dict, as the raw-file host does."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        super().__init__()

    def handle(self, handler: QuietHandler) -> Response | None:
        body = self.files.get(handler.path)
        if body is None:
            return Response(404, [("Content-Length", "0")])
        return Response(200, [("Content-Length", str(len(body)))], body)


def test_downloads_a_file_with_the_pinned_checksum(tmp_path: Path) -> None:
    item = _pin()
    with RawFiles({"/owner/repo/" + "0" * 40 + "/charts/demo/Chart.yaml": GOOD}) as raw:
        got = list(fetch([item], tmp_path, None, raw.base_url))
    assert got == [(item, "downloaded")]
    assert (tmp_path / item.path).read_bytes() == GOOD


def test_never_writes_bytes_that_do_not_match(tmp_path: Path) -> None:
    item = _pin()
    tampered = GOOD + b"image: evil\n"
    with RawFiles({"/owner/repo/" + "0" * 40 + "/charts/demo/Chart.yaml": tampered}) as raw:
        [(_, how)] = fetch([item], tmp_path, None, raw.base_url)
    assert how == "failed: the downloaded bytes do not match the pinned SHA-256"
    assert not (tmp_path / item.path).exists()


def test_a_matching_offline_copy_is_used_without_the_network(tmp_path: Path) -> None:
    item = _pin()
    shared = tmp_path / "shared"
    (shared / "charts/demo").mkdir(parents=True)
    (shared / item.path).write_bytes(GOOD)
    with RawFiles({}) as raw:
        # the first folder lacks it: the second is asked
        got = list(fetch([item], tmp_path / "dest", [tmp_path / "none", shared], raw.base_url))
        assert raw.requests == []
    assert got == [(item, "shared")]
    assert (tmp_path / "dest" / item.path).read_bytes() == GOOD


def test_an_offline_copy_that_differs_is_not_trusted(tmp_path: Path) -> None:
    item = _pin()
    shared = tmp_path / "shared"
    (shared / "charts/demo").mkdir(parents=True)
    (shared / item.path).write_bytes(b"edited by hand\n")
    with RawFiles({"/owner/repo/" + "0" * 40 + "/charts/demo/Chart.yaml": GOOD}) as raw:
        got = list(fetch([item], tmp_path / "dest", shared, raw.base_url))
    assert got == [(item, "downloaded")]


def test_a_present_file_is_kept_and_a_stale_one_replaced(tmp_path: Path) -> None:
    good, stale = _pin("a.yaml"), _pin("b.yaml")
    (tmp_path / "a.yaml").write_bytes(GOOD)
    (tmp_path / "b.yaml").write_bytes(b"old\n")
    files = {"/owner/repo/" + "0" * 40 + "/charts/demo/Chart.yaml": GOOD}
    with RawFiles(files) as raw:
        got = dict((p.path, how) for p, how in fetch([good, stale], tmp_path, None, raw.base_url))
    assert got == {"a.yaml": "present", "b.yaml": "downloaded"}
    assert (tmp_path / "b.yaml").read_bytes() == GOOD


def test_an_unreachable_host_is_asked_once_and_the_command_fails(tmp_path: Path) -> None:
    items = [_pin("a.yaml"), _pin("b.yaml")]
    got = [how for _, how in fetch(items, tmp_path, None, closed_url(), timeout=5)]
    assert got[0].startswith("failed: ") and "unreachable" not in got[0]
    assert got[1].startswith("failed: ") and got[1].endswith("was unreachable")

    env = {**os.environ, "PIPNEXUS_THIRDPARTY_MIRROR": closed_url()}
    proc = subprocess.run(
        [sys.executable, "-m", "testbed.thirdparty", "fetch", "--dest", str(tmp_path / "d"),
         "--shared", str(tmp_path / "none")],
        cwd=thirdparty.REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "0 missing" not in proc.stdout
    assert "charts/nexus3/values.yaml: failed: " in proc.stderr


def test_the_manifest_pins_every_file_of_the_offline_copy() -> None:
    """Each pinned path is unique, names a public repository at a full commit, and (where the
    offline copy is beside the clone) its files are exactly the pinned ones, byte for byte."""
    items = thirdparty.pinned()
    assert len({p.path for p in items}) == len(items)
    assert all(len(p.commit) == 40 and p.repository.count("/") == 1 for p in items)
    data = json.loads(thirdparty.MANIFEST.read_text(encoding="utf-8"))
    assert {s["license"] for s in data["sources"]} <= {
        "MIT", "Apache-2.0", "BSD-3-Clause", "MIT (code; data CC0)"}
    if not thirdparty.SHARED.is_dir():
        pytest.skip("no offline copy beside this clone to compare with")
    shared = thirdparty.SHARED
    on_disk = {
        str(p.relative_to(shared)) for p in shared.rglob("*")
        if p.is_file() and p.relative_to(shared) != Path("README.md")
    }
    corpus = shared.parent / "corpus" / "workflows"
    on_disk |= {f"corpus/workflows/{p.name}" for p in corpus.glob("*.y*ml")}
    assert on_disk == {p.path for p in items}
    for p in items:
        where = shared.parent if p.path.startswith("corpus/") else shared
        assert hashlib.sha256((where / p.path).read_bytes()).hexdigest() == p.sha256
