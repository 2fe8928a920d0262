"""The local upstream index (the bed's pypi.org)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from testbed.httpbase import fetch
from testbed.upstream import Upstream, project_of
from testbed.wheels import StandardPackages, make_wheel


def test_root_and_project_pages(upstream: Upstream, packages: StandardPackages) -> None:
    root = fetch(upstream.index_url)
    assert root.status == 200
    for project in ("pip", "pipnexus-demo-pkg", "pipnexus-demo-dep", "pipnexus-test-backend",
                    "pipnexus-demo-sdist"):
        assert f'<a href="/simple/{project}/">{project}</a>' in root.text
    page = fetch(upstream.index_url + "pipnexus-demo-pkg/").text
    sha = hashlib.sha256(packages.pkg.read_bytes()).hexdigest()
    assert f'href="../../files/{packages.pkg.name}#sha256={sha}"' in page
    assert re.search(r'data-core-metadata="sha256=[0-9a-f]{64}"', page)
    assert 'data-requires-python="&lt;3"' in fetch(upstream.index_url + "pip/").text
    sdist_page = fetch(upstream.index_url + "pipnexus-demo-sdist/").text
    assert packages.sdist.name in sdist_page and "data-core-metadata" not in sdist_page


def test_redirects_404s_and_methods(upstream: Upstream) -> None:
    resp = fetch(upstream.index_url + "PipNexus_Demo.Pkg/")
    assert (resp.status, resp.headers["Location"]) == (301, "/simple/pipnexus-demo-pkg/")
    resp = fetch(upstream.index_url + "pipnexus-demo-pkg")
    assert (resp.status, resp.headers["Location"]) == (301, "/simple/pipnexus-demo-pkg/")
    assert fetch(upstream.base_url + "/simple").status == 301
    assert fetch(upstream.index_url + "nope/").status == 404
    assert fetch(upstream.base_url + "/files/nope.whl").status == 404
    assert fetch(upstream.index_url, "POST").status == 405


def test_files_metadata_head_and_counters(upstream: Upstream, packages: StandardPackages) -> None:
    url = upstream.file_url(packages.pkg.name)
    data = packages.pkg.read_bytes()
    head = fetch(url, "HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(data))
    assert upstream.bytes_served == 0
    assert fetch(url).body == data
    meta = fetch(url + ".metadata")
    assert b"Requires-Dist: pipnexus-demo-dep>=1.0" in meta.body
    assert upstream.bytes_served == len(data) + len(meta.body)
    assert upstream.requests == [
        ("HEAD", f"/files/{packages.pkg.name}", 200),
        ("GET", f"/files/{packages.pkg.name}", 200),
        ("GET", f"/files/{packages.pkg.name}.metadata", 200),
    ]
    assert upstream.count("/files/", "GET") == 2


def test_fail_status_and_refresh(tmp_path: Path) -> None:
    with Upstream(tmp_path) as up:
        assert fetch(up.index_url + "late/").status == 404
        make_wheel(tmp_path, "late", "2.0")
        up.refresh()
        assert "late-2.0-py3-none-any.whl" in fetch(up.index_url + "late/").text
        up.fail_status = 503
        assert fetch(up.index_url).status == 503


def test_project_of() -> None:
    assert project_of("Foo_Bar-1.0-py3-none-any.whl") == "foo-bar"
    assert project_of("foo-bar-1.0.tar.gz") == "foo-bar"
