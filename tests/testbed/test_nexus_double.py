"""The Nexus double answers like a Nexus 3 PyPI proxy repository
(https://help.sonatype.com/en/pypi-repositories.html) and its status endpoints
(``/service/rest/v1/status``, ``/status/writable``) do, including every fault switch."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from testbed.httpbase import (
    Fetched,
    HangingListener,
    Response,
    closed_url,
    fetch,
    port_is_open,
)
from testbed.nexus_double import (
    CSP,
    READ_ONLY_MESSAGE,
    REALM,
    NexusDouble,
    Request,
    json_response,
    validation_errors,
)
from testbed.upstream import Upstream
from testbed.wheels import StandardPackages

PKG_PAGE = "pipnexus-demo-pkg/"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def get(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Fetched:
    return fetch(url, method, headers=headers)


def assert_nexus_headers(resp: Fetched, repository: bool = True) -> None:
    assert re.fullmatch(r"Nexus/3\.\d+\.\d+-\d+ \(OSS\)", resp.headers["Server"])
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    if repository:
        assert resp.headers["Content-Security-Policy"] == CSP
        assert resp.headers["X-XSS-Protection"] == "1; mode=block"


def assert_error_page(resp: Fetched, status: int, message: str) -> None:
    assert resp.status == status
    assert resp.reason == message
    assert resp.headers["Content-Type"] == "text/html"
    assert f"<title>{status} - Sonatype Nexus Repository</title>" in resp.text
    assert f"Error {status}" in resp.text
    assert message in resp.text
    assert_nexus_headers(resp)


# -- status endpoints ---------------------------------------------------------------------


def test_status_endpoints(nexus: NexusDouble) -> None:
    for path in ("/service/rest/v1/status", "/service/rest/v1/status/writable"):
        for method in ("GET", "HEAD"):
            resp = get(nexus.base_url + path, method)
            assert (resp.status, resp.body) == (200, b"")
            assert_nexus_headers(resp, repository=False)
    assert nexus.status_url == nexus.base_url + "/service/rest/v1/status"


def test_read_only_makes_writable_503(nexus: NexusDouble) -> None:
    nexus.read_only = True
    assert get(nexus.status_url).status == 200
    resp = get(nexus.status_url + "/writable")
    assert (resp.status, resp.body) == (503, b"")


def test_not_readable_makes_everything_503(nexus: NexusDouble) -> None:
    nexus.readable = False
    assert get(nexus.status_url).status == 503
    assert get(nexus.status_url + "/writable").status == 503
    assert get(nexus.index_url() + PKG_PAGE).status == 503


def test_status_check_needs_credentials(nexus: NexusDouble) -> None:
    resp = get(nexus.status_url + "/check")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == f'BASIC realm="{REALM}"'
    resp = get(nexus.status_url + "/check", headers=basic("admin", "admin123"))
    assert resp.status == 200
    assert json.loads(resp.body)["Available CPUs"]["healthy"] is True
    assert '"healthy" : true' in resp.text


# -- pages ----------------------------------------------------------------------------------


def test_root_page_and_simple_without_slash(nexus: NexusDouble) -> None:
    resp = get(nexus.index_url())
    assert resp.status == 200
    assert "<title>Simple index</title>" in resp.text
    assert '<a href="pipnexus-demo-pkg/">pipnexus-demo-pkg</a>' in resp.text
    assert '<a href="pip/">pip</a>' in resp.text
    assert_error_page(get(nexus.index_url().rstrip("/")), 404, "Not Found")


def test_project_page_relative_links(
    nexus: NexusDouble, upstream: Upstream, packages: StandardPackages
) -> None:
    sha = hashlib.sha256(packages.pkg.read_bytes()).hexdigest()
    resp = get(nexus.index_url() + "PipNexus_Demo.Pkg/")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html"
    assert resp.headers["ETag"].startswith('"') and resp.headers["Last-Modified"]
    assert_nexus_headers(resp)
    assert "<title>Links for PipNexus_Demo.Pkg</title>" in resp.text
    link = (
        f'<a href="../../packages/PipNexus_Demo.Pkg/1.0/{packages.pkg.name}#sha256={sha}" '
        f'rel="internal">{packages.pkg.name}</a><br/>'
    )
    assert link in resp.text
    assert f"/0.9/{packages.pkg_old.name}#sha256=" in resp.text
    # upstream advertises PEP 658 metadata; Nexus drops every attribute but requires-python
    assert "data-core-metadata" in get(upstream.index_url + PKG_PAGE).text
    assert "data-core-metadata" not in resp.text and "data-dist-info-metadata" not in resp.text
    # the upstream page was fetched as remoteUrl + "simple/<name-as-requested>/"
    assert nexus.upstream_fetches == [
        ("GET", f"{upstream.base_url}/simple/PipNexus_Demo.Pkg/", 200)
    ]


def test_requires_python_kept_and_escaped(nexus: NexusDouble) -> None:
    text = get(nexus.index_url() + "pip/").text
    assert 'data-requires-python="&lt;3"' in text
    assert 'data-requires-python="&gt;=3.8"' in get(nexus.index_url() + "pipnexus-demo-new").text


def test_project_without_trailing_slash_and_pep691_accept(nexus: NexusDouble) -> None:
    resp = get(
        nexus.index_url() + "pipnexus-demo-pkg",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html"
    assert "Links for pipnexus-demo-pkg" in resp.text


def test_files_head_conditional_and_no_metadata(
    nexus: NexusDouble, packages: StandardPackages
) -> None:
    url = f"{nexus.repo_url()}packages/pipnexus-demo-pkg/1.0/{packages.pkg.name}"
    data = packages.pkg.read_bytes()
    head = get(url, "HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(data))
    resp = get(url)
    assert resp.body == data
    assert resp.headers["Content-Type"] == "application/zip"
    assert_nexus_headers(resp)
    etag = resp.headers["ETag"]
    cond = get(url, headers={"If-None-Match": etag})
    assert cond.status == 304 and cond.body == b""
    assert cond.headers["ETag"] == etag and cond.headers["Last-Modified"] is None
    cond = get(url, headers={"If-Modified-Since": resp.headers["Last-Modified"]})
    assert cond.status == 304
    assert nexus.fetch_count(packages.pkg.name) == 1
    assert get(url + ".metadata").status == 404
    sdist = f"{nexus.repo_url()}packages/pipnexus-demo-sdist/1.0/{packages.sdist.name}"
    resp = get(sdist)
    assert resp.body == packages.sdist.read_bytes()
    assert resp.headers["Content-Type"] == "application/x-gzip"


def test_file_not_listed_upstream_is_404(nexus: NexusDouble) -> None:
    resp = get(f"{nexus.repo_url()}packages/pipnexus-demo-pkg/1.0/nope-1.0-py3-none-any.whl")
    assert_error_page(resp, 404, "Not Found")


# -- 404s and the negative cache -----------------------------------------------------------


def test_unknown_repository(nexus: NexusDouble) -> None:
    assert_error_page(get(nexus.index_url("nope") + PKG_PAGE), 404, "Repository not found")
    assert nexus.upstream_fetches == []


def test_unknown_project_is_404_and_negatively_cached(nexus: NexusDouble) -> None:
    for _ in range(2):
        assert_error_page(get(nexus.index_url() + "no-such-project/"), 404, "Not Found")
    assert nexus.fetch_count("/simple/no-such-project/") == 1
    nexus.invalidate_cache()
    assert get(nexus.index_url() + "no-such-project/").status == 404
    assert nexus.fetch_count("/simple/no-such-project/") == 2


def test_other_paths_and_methods(nexus: NexusDouble) -> None:
    assert get(nexus.repo_url() + "something").status == 404
    assert_error_page(get(nexus.index_url() + PKG_PAGE, "POST"), 405, "Method Not Allowed")
    assert get(nexus.index_url() + PKG_PAGE, "DELETE").status == 405


# -- faults ------------------------------------------------------------------------------------


def test_offline(nexus: NexusDouble) -> None:
    nexus.set_online(False)
    assert_error_page(get(nexus.index_url() + PKG_PAGE), 503, "Repository offline")
    nexus.set_online(True)
    assert get(nexus.index_url() + PKG_PAGE).status == 200


def test_remote_unreachable_502_then_auto_blocked_then_recovers(nexus: NexusDouble) -> None:
    nexus.remote_unreachable = True
    assert_error_page(get(nexus.index_url() + PKG_PAGE), 502, "Bad Gateway")
    resp = get(nexus.index_url() + PKG_PAGE)
    assert resp.status == 404
    assert resp.reason.startswith("Remote Auto Blocked until ")
    assert_error_page(resp, 404, resp.reason)
    nexus.remote_unreachable = False
    assert get(nexus.index_url() + PKG_PAGE).status == 200


def test_closed_remote_port_is_502_without_auto_block(nexus: NexusDouble) -> None:
    cfg = nexus.add_pypi_proxy("dead", closed_url())
    cfg["httpClient"]["autoBlock"] = False
    for _ in range(2):
        assert get(nexus.index_url("dead") + PKG_PAGE).status == 502
    assert [s for _, _, s in nexus.upstream_fetches] == [0, 0]


def test_stale_copy_served_when_remote_down(nexus: NexusDouble) -> None:
    nexus.repositories["pypi-proxy"]["proxy"]["metadataMaxAge"] = 0
    first = get(nexus.index_url() + PKG_PAGE)
    nexus.remote_unreachable = True
    second = get(nexus.index_url() + PKG_PAGE)
    assert second.status == 200 and second.body == first.body
    assert nexus.fetch_count("/simple/pipnexus-demo-pkg/") == 2  # the refresh was attempted


def test_block_remote(nexus: NexusDouble) -> None:
    assert get(nexus.index_url() + PKG_PAGE).status == 200
    until = nexus.block_remote()
    resp = get(nexus.index_url() + "pipnexus-demo-dep/")
    assert_error_page(resp, 404, f"Remote Auto Blocked until {until}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", until)
    assert get(nexus.index_url() + PKG_PAGE).status == 200  # cached copy still served
    nexus.unblock_remote()
    assert get(nexus.index_url() + "pipnexus-demo-dep/").status == 200


def test_manually_blocked(nexus: NexusDouble) -> None:
    nexus.set_blocked(True)
    assert_error_page(get(nexus.index_url() + PKG_PAGE), 404, "Remote Manually Blocked")
    assert nexus.upstream_fetches == []


def test_upstream_server_error_is_503(nexus: NexusDouble, upstream: Upstream) -> None:
    upstream.fail_status = 500
    assert_error_page(get(nexus.index_url() + PKG_PAGE), 503, "Service Unavailable")
    assert nexus.upstream_fetches[0][2] == 500


def test_anonymous_access_off(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    url = nexus.index_url() + PKG_PAGE
    resp = get(url)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'BASIC realm="Sonatype Nexus Repository Manager"'
    assert get(url, headers=basic("admin", "admin123")).status == 200
    assert get(url, headers=basic("admin", "wrong")).status == 401
    assert get(url, headers={"Authorization": "Basic Og=="}).status == 401  # empty = anonymous
    assert get(nexus.status_url).status == 200  # status needs no auth
    nexus.users["bob"] = "pw"
    nexus.readers = {"admin"}
    assert get(url, headers=basic("bob", "pw")).status == 403


def test_bad_credentials_rejected_even_with_anonymous_on(nexus: NexusDouble) -> None:
    assert get(nexus.index_url() + PKG_PAGE, headers=basic("admin", "nope")).status == 401


def test_read_only_serves_cache_and_refuses_misses(nexus: NexusDouble) -> None:
    assert get(nexus.index_url() + PKG_PAGE).status == 200
    nexus.read_only = True
    assert get(nexus.index_url() + PKG_PAGE).status == 200
    assert_error_page(get(nexus.index_url() + "pipnexus-demo-dep/"), 503, READ_ONLY_MESSAGE)


def test_slow_responses(nexus: NexusDouble) -> None:
    nexus.delay = 0.5
    with pytest.raises(TimeoutError):
        fetch(nexus.status_url, timeout=0.2)
    assert fetch(nexus.status_url, timeout=30).status == 200


def test_hang_mode(nexus: NexusDouble) -> None:
    nexus.hang = True
    with pytest.raises(TimeoutError):
        fetch(nexus.index_url() + PKG_PAGE, timeout=0.3)
    nexus.hang = False
    assert fetch(nexus.status_url, timeout=30).status == 200


def test_hanging_listener(hanging_listener: HangingListener) -> None:
    with pytest.raises(TimeoutError):
        fetch(hanging_listener.url + "/service/rest/v1/status", timeout=0.3)
    assert hanging_listener.accepted == 1


def test_login_page(nexus: NexusDouble) -> None:
    nexus.login_page = True
    resp = get(nexus.index_url() + PKG_PAGE)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "Sign in" in resp.text and "Links for" not in resp.text
    assert nexus.upstream_fetches == []


# -- extension API and lifecycle -----------------------------------------------------------


def test_rest_handler_hook_and_json_style(nexus: NexusDouble) -> None:
    seen: list[Request] = []

    def handler(double: NexusDouble, request: Request) -> Response | None:
        seen.append(request)
        if request.path == "/service/rest/v1/hello":
            return json_response(200, {"user": request.user, "items": [1, {"a": None}]})
        if request.path == "/service/rest/v1/invalid":
            return validation_errors([("PARAMETER proxy", "must not be null")])
        return None

    nexus.rest_handlers.append(handler)
    resp = get(nexus.base_url + "/service/rest/v1/hello", headers=basic("admin", "admin123"))
    assert resp.status == 200
    assert resp.text == '{\n  "user" : "admin",\n  "items" : [ 1, {\n    "a" : null\n  } ]\n}'
    assert seen[0].user == "admin"
    resp = get(nexus.base_url + "/service/rest/v1/invalid")
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/vnd.siesta-validation-errors-v1+json"
    assert resp.headers["X-Siesta-FaultId"]
    assert resp.text == '[ {\n  "id" : "PARAMETER proxy",\n  "message" : "must not be null"\n} ]'
    assert get(nexus.base_url + "/service/rest/v1/other").status == 404


def test_repository_added_to_state_serves_at_once(
    nexus: NexusDouble, upstream: Upstream
) -> None:
    # remoteUrl without a trailing slash is normalised before "simple/<name>/" is appended
    nexus.add_pypi_proxy("second", upstream.base_url)
    assert get(nexus.index_url("second") + PKG_PAGE).status == 200
    assert nexus.upstream_fetches[-1][1] == f"{upstream.base_url}/simple/pipnexus-demo-pkg/"
    del nexus.repositories["second"]
    assert get(nexus.index_url("second") + PKG_PAGE).reason == "Repository not found"


def test_servers_stop_and_close_their_ports(packages: StandardPackages) -> None:
    up = Upstream(packages.directory)
    double = NexusDouble(up.base_url)
    listener = HangingListener()
    ports = [up.port, double.port, listener.port]
    assert all(port_is_open(p) for p in ports)
    double.hang = True
    with pytest.raises(TimeoutError):
        fetch(double.status_url, timeout=0.2)
    for server in (double, up, listener):
        server.stop()
    assert not any(port_is_open(p) for p in ports)
    double.stop()  # idempotent


def test_concurrent_misses_fetch_upstream_once(nexus: NexusDouble) -> None:
    url = nexus.index_url() + PKG_PAGE
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: get(url).status, range(16)))
    assert statuses == [200] * 16
    assert nexus.fetch_count("/simple/pipnexus-demo-pkg/") == 1
    assert nexus.count("/repository/pypi-proxy/simple/pipnexus-demo-pkg/") == 16


def test_set_fault_and_clear_faults(nexus: NexusDouble) -> None:
    nexus.set_fault(read_only=True, login_page=True)
    assert get(nexus.status_url + "/writable").status == 503
    assert "Sign in" in get(nexus.index_url() + PKG_PAGE).text
    nexus.set_online(False)
    nexus.block_remote()
    with pytest.raises(ValueError, match="unknown fault"):
        nexus.set_fault(offline=True)
    nexus.clear_faults()
    assert get(nexus.status_url + "/writable").status == 200
    assert "Links for pipnexus-demo-pkg" in get(nexus.index_url() + PKG_PAGE).text


# -- versions -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.67.1", "3.95.1"])
def test_every_answer_names_the_version(upstream: Upstream, version: str) -> None:
    with NexusDouble(upstream.base_url, version=version) as double:
        for url in (double.status_url, double.index_url(), double.base_url + "/nope"):
            resp = get(url)
            assert resp.headers["Server"] == f"Nexus/{version}-01 (OSS)", url
        assert f"OSS {version}-01" in get(double.repo_url("missing") + "simple/").text


def test_default_version_is_the_newest_known(upstream: Upstream) -> None:
    from testbed.nexus_double import DEFAULT_VERSION, KNOWN_VERSIONS, version_tuple

    assert max(KNOWN_VERSIONS, key=version_tuple) == DEFAULT_VERSION
    with NexusDouble(upstream.base_url) as double:
        assert get(double.status_url).headers["Server"] == f"Nexus/{DEFAULT_VERSION}-01 (OSS)"
    assert version_tuple("3.95.1-01") == (3, 95, 1)
    with pytest.raises(ValueError):
        NexusDouble(upstream.base_url, version="3.95")


def test_range_requests_like_partial_fetch_handler(
    nexus: NexusDouble, packages: StandardPackages
) -> None:
    url = f"{nexus.repo_url()}packages/pipnexus-demo-pkg/1.0/{packages.pkg.name}"
    data = packages.pkg.read_bytes()
    size = len(data)
    resp = get(url, headers={"Range": "bytes=0-9"})
    assert (resp.status, resp.body) == (206, data[:10])
    assert resp.headers["Content-Range"] == f"0-9/{size}"  # no "bytes" unit, as Nexus writes it
    assert resp.headers["ETag"] and resp.headers["Content-Type"] == "application/zip"
    resp = get(url, headers={"Range": "bytes=-4"})
    assert (resp.status, resp.body) == (206, data[-4:])
    resp = get(url, headers={"Range": f"bytes=10-{size + 100}"})
    assert (resp.status, resp.body) == (206, data[10:])
    assert get(url, headers={"Range": "bytes=0-1,4-5"}).status == 501
    assert get(url, headers={"Range": f"bytes={size}-"}).status == 416
    for ignored in ("items=0-1", "bytes=5-1", "bytes=x"):
        resp = get(url, headers={"Range": ignored})
        assert (resp.status, resp.body) == (200, data), ignored
    head = get(url, "HEAD", headers={"Range": "bytes=0-9"})
    assert head.status == 200  # GET only


# -- raw proxy repositories (uv's interpreter mirror) --------------------------------------------


def test_raw_proxy_root_asks_the_remote_for_an_index_page(nexus: NexusDouble) -> None:
    from testbed.pbs import Releases

    with Releases({}) as releases:
        nexus.add_raw_proxy("pbs", releases.base_url)
        for _ in range(2):  # the second time from the negative cache
            resp = get(nexus.base_url + "/repository/pbs/")
            assert (resp.status, resp.reason) == (404, "/")
        assert [p for _, p, _ in releases.requests] == ["/index.html", "/index.htm"]
        releases.assets["/sub/index.htm"] = b"<html>hi</html>"
        resp = get(nexus.base_url + "/repository/pbs/sub/")
        assert (resp.status, resp.body) == (200, b"<html>hi</html>")
    assert get(nexus.base_url + "/repository/nope/").reason == "Repository not found"
    nexus.set_online(False, "pbs")
    assert get(nexus.base_url + "/repository/pbs/").status == 503
    nexus.set_online(True, "pbs")
    nexus.set_remote(closed_url(), "pbs")
    nexus.forget_cache("pbs")
    assert get(nexus.base_url + "/repository/pbs/other/").status == 502


def test_raw_proxy_pulls_through_once_and_caches_for_ever(nexus: NexusDouble) -> None:
    from testbed.pbs import Build, Releases, make_archive

    build = Build()
    archive = make_archive(build)
    with Releases({build: archive}) as releases:
        nexus.add_raw_proxy("pbs", releases.base_url)
        url = nexus.base_url + "/repository/pbs" + build.path
        for _ in range(2):
            resp = get(url)
            assert (resp.status, resp.body) == (200, archive)
        # Nexus decodes %2B and RawProxyFacet.getUrl re-escapes only %, : and space: the remote
        # is asked for a literal '+' (tests/testbed/test_nexus_raw.py)
        assert releases.requests == [("GET", build.path.replace("%2B", "+"), 200)]
        assert nexus.upstream_bytes == len(archive)
        # missing upstream: 404, then the negative cache answers without asking again
        for _ in range(2):
            assert get(nexus.base_url + "/repository/pbs/20241016/missing.tar.gz").status == 404
        assert len(releases.requests) == 2
    # the remote is gone: the cached archive is still served, an uncached path is 502
    assert get(url).body == archive
    assert get(nexus.base_url + "/repository/pbs/20241016/other.tar.gz").status == 502
