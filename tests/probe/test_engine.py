"""The probe as a whole (pipnexus/probe/engine.py): healthy indexes, credentials, one deadline
for every candidate, its input checks and uv's interpreter mirror.

Every probe call must return (a generous bound that only catches hangs), classify with the
expected reason code, and never raise. No test asserts speed.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from pipnexus import __version__, options, probe
from pipnexus.errors import InputError
from pipnexus.options import Credentials
from pipnexus.probe.engine import MIRROR_PROBE_PATH
from testbed.httpbase import HangingListener, closed_url
from testbed.nexus_double import NexusDouble
from tests import probe_helpers as ph
from tests.probe_helpers import HANG_SLACK, mirror, one, run_probe, serve, target_for, with_userinfo


def test_healthy_nexus_double(nexus: NexusDouble) -> None:
    result = one(nexus.index_url())
    assert result.healthy, result
    assert result.reason == ""
    assert "canary project 'pip'" in result.detail
    assert nexus.count("/service/rest/v1/status") == 1
    assert nexus.count("/repository/pypi-proxy/simple/pip/") == 1


def test_request_shape_and_user_agent(raw: list[ph.RawServer]) -> None:
    server = serve(
        raw, ph.routes({"/repository/pypi-proxy/simple/pip/": ph.response(200, "OK", ph.PIP_PAGE)})
    )
    result = one(server.url())
    assert result.healthy, result
    status_req, page_req = server.requests
    assert status_req.startswith(b"GET /service/rest/v1/status HTTP/1.1\r\n")
    assert page_req.startswith(b"GET /repository/pypi-proxy/simple/pip/ HTTP/1.1\r\n")
    assert f"User-Agent: pipnexus/{__version__}".encode() in page_req
    assert f"Host: 127.0.0.1:{server.port}".encode() in page_req
    assert b"Authorization" not in page_req
    head_lines = page_req.split(b"\r\n")
    assert b"Accept-Encoding: gzip, identity" in head_lines
    assert b"Connection: close" in head_lines
    assert sum(line.lower().startswith((b"host:", b"accept-encoding:")) for line in head_lines) == 2


def test_plain_simple_index_needs_no_status_endpoint(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.routes({"/simple/pip/": ph.response(200, "OK", ph.PIP_PAGE)}))
    result = one(server.url("/simple/"))
    assert result.healthy, result
    assert [r.split(b" ")[1] for r in server.requests] == [b"/simple/pip/"]


def test_canary_name_is_normalized(raw: list[ph.RawServer]) -> None:
    page = b'<a href="typing_extensions-4.0.0-py3-none-any.whl">x</a>'
    server = serve(raw, ph.routes({"/simple/typing-extensions/": ph.response(200, "OK", page)}))
    assert one(server.url("/simple/"), canary="Typing_Extensions").healthy


def test_credentials_in_url_and_as_arguments(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    nexus.users["ci"] = "p@ss:w/rd%"
    in_url = with_userinfo(nexus.index_url(), "ci", "p@ss:w/rd%")
    by_url = one(in_url)
    assert by_url.healthy, by_url
    assert by_url.url == in_url.replace(quote("p@ss:w/rd%", safe=""), "***")
    assert one(nexus.index_url(), credentials=Credentials("ci", "p@ss:w/rd%")).healthy


def test_wrong_password_never_leaks(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    secret = "S3cr3t/p@ss"
    results = run_probe(
        [
            target_for(with_userinfo(nexus.index_url(), "admin", secret)),
            target_for(nexus.index_url()),
        ],
        credentials=Credentials("admin", secret),
    )
    assert [r.reason for r in results] == ["auth", "auth"]
    assert all("rejected" in r.detail for r in results)
    text = json.dumps([r._asdict() for r in results])
    for form in (
        secret,
        quote(secret, safe=""),
        quote(secret),
        base64.b64encode(f"admin:{secret}".encode()).decode(),
    ):
        assert form not in text


def test_authenticated_without_permission(nexus: NexusDouble) -> None:
    nexus.users["ci"] = "x"
    nexus.readers = {"admin"}
    assert one(nexus.index_url(), credentials=Credentials("ci", "x")).reason == "auth"


def test_unreadable_ca_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="CA certificate"):
        probe.probe([target_for("https://127.0.0.1:1/simple/")], cafile=str(tmp_path / "no.pem"))


def test_dead_candidates_cost_one_deadline_not_the_sum(
    hanging_listener: HangingListener, raw: list[ph.RawServer]
) -> None:
    slow = serve(raw, ph.trickle_headers)
    targets = [target_for(hanging_listener.url + "/repository/pypi-proxy/simple/")] * 6
    targets += [target_for(slow.url("/simple/"))] * 2
    start = time.monotonic()
    results = probe.probe(targets, timeout=0.5)
    elapsed = time.monotonic() - start
    # sequential probing would take 4 s; 2 s is a generous bound for "together"
    assert elapsed < 2.0, elapsed
    assert [r.reason for r in results] == ["timeout"] * 8


def test_result_order_is_input_order(nexus: NexusDouble, hanging_listener: HangingListener) -> None:
    targets = [
        target_for(hanging_listener.url + "/simple/"),
        target_for(closed_url() + "/simple/"),
        target_for(nexus.index_url()),
    ]
    results = run_probe(targets, timeout=0.5)
    assert [r.reason for r in results] == ["timeout", "refused", ""]
    assert results[2].healthy
    assert results[0].latency_ms >= results[1].latency_ms


def test_bad_canary_and_timeout_are_input_errors() -> None:
    with pytest.raises(InputError):
        probe.probe([], canary="not a name")
    for bad in (0.0, -1.0, float("nan"), 10_000.0):
        with pytest.raises(InputError):
            probe.probe([], timeout=bad)


@pytest.mark.parametrize("name", ["p\u0131p", "\u017fix", "\u212aeras", "-pip", "pip.", "a" * 201])
def test_canary_must_be_an_ascii_project_name(name: str) -> None:
    # "\u0131", "\u017f" and the Kelvin sign match [a-z] under re.IGNORECASE
    assert not options.is_project_name(name)
    with pytest.raises(InputError, match="canary project name is invalid"):
        probe.probe([], canary=name)


def test_no_targets() -> None:
    assert probe.probe([]) == []


def test_worker_threads_are_daemons_and_end(hanging_listener: HangingListener) -> None:
    one(hanging_listener.url + "/simple/", timeout=0.5)
    workers = [t for t in threading.enumerate() if t.name.startswith("pipnexus-probe-")]
    assert all(t.daemon for t in workers)
    for t in workers:  # the deadline shut their sockets: they end on their own
        t.join(HANG_SLACK)
    assert not any(t.is_alive() for t in workers)


def test_mirror_probe_follows_nexus(nexus: NexusDouble) -> None:
    from testbed.pbs import Releases

    with Releases({}) as github:
        nexus.add_raw_proxy("pbs", github.base_url)
        healthy, missing = run_probe(
            [mirror(nexus.base_url + "/repository/pbs"), mirror(nexus.base_url + "/repository/x")]
        )
        assert healthy.healthy, healthy
        assert healthy.detail.endswith(f"serves {MIRROR_PROBE_PATH} of python-build-standalone")
        assert (missing.healthy, missing.reason) == (False, "not-found")
        assert "the repository does not exist" in missing.detail
        # the checksum list is fetched from GitHub once, then served from Nexus's cache
        assert one(mirror(nexus.base_url + "/repository/pbs")).healthy
        assert [p for _, p, _ in github.requests] == ["/" + MIRROR_PROBE_PATH]
        nexus.set_online(False, "pbs")
        assert one(mirror(nexus.base_url + "/repository/pbs")).reason == "unavailable"
        nexus.set_online(True, "pbs")
        nexus.anonymous_enabled = False
        assert one(mirror(nexus.base_url + "/repository/pbs")).reason == "auth"
        nexus.users["ci"] = "pw"
        creds = Credentials("ci", "pw")
        assert one(mirror(nexus.base_url + "/repository/pbs"), credentials=creds).healthy
        nexus.anonymous_enabled = True
        nexus.forget_cache("pbs")
        nexus.block_remote("pbs")
        blocked = one(mirror(nexus.base_url + "/repository/pbs"))
        assert blocked.reason == "remote-blocked"
        assert blocked.detail.startswith("the interpreter mirror answered 404 Remote Auto Blocked")
        assert blocked.detail.endswith("blocked its remote (GitHub) and has no cached copy")
    nexus.unblock_remote("pbs")
    assert one(mirror(nexus.base_url + "/repository/pbs")).reason == "remote-unreachable"


def test_mirror_probe_of_another_server() -> None:
    with ph.RawServer(ph.routes({}, ph.response(403, "Forbidden", b""))) as server:
        assert one(mirror(server.base_url + "/pbs")).reason == "auth"
    # a 2xx proves nothing: only the file itself does
    with ph.RawServer(ph.routes({}, ph.response(204, "No Content", b""))) as server:
        r = one(mirror(server.base_url + "/pbs"))
        assert (r.healthy, r.reason) == (False, "bad-response"), r


CHECKSUMS = (
    b"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0  "
    b"cpython-3.10.3+20220318-x86_64-unknown-linux-gnu-install_only.tar.gz\n"
)


def test_mirror_proven_by_the_checksum_list_of_a_release() -> None:
    served = {"/pbs/" + MIRROR_PROBE_PATH: ph.response(200, "OK", CHECKSUMS)}
    with ph.RawServer(ph.routes(served)) as server:
        r = one(mirror(server.base_url + "/pbs"))
        assert r.healthy, r
        (request,) = server.requests
        assert request.startswith(f"GET /pbs/{MIRROR_PROBE_PATH} HTTP/1.1".encode())


def test_mirror_not_set_for_a_server_answering_404_everywhere(plain_http_server: str) -> None:
    # an ingress or nginx in front of something else: a plain 404 for every path
    r = one(mirror(f"http://{plain_http_server}/repository/python-build-standalone"))
    assert (r.healthy, r.reason) == (False, "not-found"), r
    assert f"404 Not Found for {MIRROR_PROBE_PATH}, which every mirror" in r.detail


@pytest.mark.parametrize(
    "answer, reason, says",
    [
        (ph.response(200, "OK", b"<html><form action=/login>Sign in</form></html>"),
         "not-an-index", "not with python-build-standalone's checksum list"),
        (ph.response(200, "OK", CHECKSUMS + b"<html>"), "not-an-index", "checksum list"),
        (ph.response(200, "OK", b""), "not-an-index", "checksum list"),
        (ph.response(200, "OK", CHECKSUMS * 2000), "not-an-index", "checksum list"),
        (ph.response(302, "Found", headers=[("Location", "http://elsewhere.invalid/x")]),
         "redirect", "use the final URL as the mirror URL"),
        (ph.response(404, "Not Found", b"<html>404</html>"), "not-found", "every mirror"),
    ],
    ids=["login-page", "trailing-garbage", "empty", "too-large", "redirect-away", "plain-404"],
)
def test_mirror_not_set_on_anything_but_the_file(answer: bytes, reason: str, says: str) -> None:
    with ph.RawServer(ph.routes({}, answer)) as server:
        r = one(mirror(server.base_url + "/pbs"))
    assert (r.healthy, r.reason) == (False, reason), r
    assert says in r.detail, r


def test_mirror_and_index_share_one_deadline(
    nexus: NexusDouble, hanging_listener: HangingListener
) -> None:
    start = time.monotonic()
    index, hung = run_probe(
        [target_for(nexus.index_url()), mirror(hanging_listener.base_url + "/pbs")], timeout=0.5
    )
    assert index.healthy and (hung.healthy, hung.reason) == (False, "timeout")
    assert time.monotonic() - start < 0.5 + HANG_SLACK
