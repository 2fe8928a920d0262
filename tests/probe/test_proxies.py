"""Proxies from the environment, as pip and uv use them (pipnexus/probe/proxies.py).
"""

from __future__ import annotations

import base64
import os
import subprocess

import pytest

from pipnexus import probe
from pipnexus.errors import InputError
from pipnexus.probe.proxies import proxy_for
from testbed.httpbase import closed_url
from testbed.nexus_double import NexusDouble
from tests import probe_helpers as ph
from tests.probe_helpers import REPO, one, serve, target_for
from tests.pythons import action_pythons


def test_http_through_proxy(nexus: NexusDouble, raw: list[ph.RawServer]) -> None:
    proxy = serve(raw, ph.forward_proxy())
    env = {"HTTP_PROXY": f"http://{ph.HOST}:{proxy.port}", "NO_PROXY": "example.com"}
    result = one(nexus.index_url(), environ=env)
    assert result.healthy, result
    assert f"through the proxy {ph.HOST}:{proxy.port}" in result.detail
    lines = [r.split(b"\r\n", 1)[0] for r in proxy.requests]
    assert lines == [
        f"GET {nexus.base_url}/service/rest/v1/status HTTP/1.1".encode(),
        f"GET {nexus.index_url()}pip/ HTTP/1.1".encode(),
    ]


def test_no_proxy_bypasses_the_proxy(nexus: NexusDouble, raw: list[ph.RawServer]) -> None:
    proxy = serve(raw, ph.forward_proxy())
    env = {"http_proxy": proxy.base_url, "no_proxy": "localhost, 127.0.0.0/8"}
    result = one(nexus.index_url(), environ=env)
    assert result.healthy and "proxy" not in result.detail
    assert proxy.requests == []


def test_proxy_credentials(nexus: NexusDouble, raw: list[ph.RawServer]) -> None:
    auth = "Basic " + base64.b64encode(b"px:pr0xy-secret").decode()
    proxy = serve(raw, ph.forward_proxy(proxy_auth=auth))
    with_creds = {"http_proxy": f"http://px:pr0xy-secret@{ph.HOST}:{proxy.port}"}
    assert one(nexus.index_url(), environ=with_creds).healthy
    wrong = {"http_proxy": f"http://px:wr0ng-secret@{ph.HOST}:{proxy.port}"}
    result = one(nexus.index_url(), environ=wrong)
    assert result.reason == "auth"
    assert "wr0ng-secret" not in result.detail + result.url


def test_https_tunnel_through_proxy(raw: list[ph.RawServer], cert: ph.Cert) -> None:
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE), tls=ph.server_context(cert))
    proxy = serve(raw, ph.forward_proxy())
    env = {"HTTPS_PROXY": f"{ph.HOST}:{proxy.port}"}  # no scheme: http:// is assumed
    result = one(server.url(), cafile=str(cert.cert), environ=env)
    assert result.healthy, result
    # http.client's set_tunnel sends CONNECT as HTTP/1.0 before Python 3.12, HTTP/1.1 since
    assert proxy.requests[0].startswith(f"CONNECT {ph.HOST}:{server.port} HTTP/1.".encode())
    # with 407 from the proxy for the tunnel
    strict = serve(raw, ph.forward_proxy(proxy_auth="Basic eDp5"))
    env = {"all_proxy": strict.base_url}
    assert one(server.url(), cafile=str(cert.cert), environ=env).reason == "auth"


def test_proxy_that_refuses(nexus: NexusDouble) -> None:
    result = one(nexus.index_url(), environ={"HTTP_PROXY": closed_url()})
    assert result.reason == "refused"
    assert "the proxy" in result.detail


def test_unsupported_proxy_scheme_is_input_error(nexus: NexusDouble) -> None:
    with pytest.raises(InputError, match="socks5"):
        probe.probe([target_for(nexus.index_url())], environ={"HTTP_PROXY": "socks5://p:1080"})


@pytest.mark.parametrize(
    ("url", "env", "expected"),
    [
        ("http://h/simple/", {}, None),
        ("http://h/simple/", {"HTTP_PROXY": "http://P:1"}, "http://P:1"),
        (
            "http://h/simple/",
            {"http_proxy": "http://p:1", "HTTP_PROXY": "http://P:1"},
            "http://p:1",
        ),
        ("https://h/simple/", {"HTTP_PROXY": "http://P:1"}, None),
        ("https://h/simple/", {"ALL_PROXY": "http://A:1"}, "http://A:1"),
        ("http://h/simple/", {"http_proxy": "http://p:1", "no_proxy": "*"}, None),
        (
            "http://nexus.svc.cluster.local:8081/",
            {"http_proxy": "p:1", "no_proxy": ".svc.cluster.local"},
            None,
        ),
        ("http://nexus.svc:8081/", {"http_proxy": "p:1", "no_proxy": "svc"}, None),
        ("http://nexus.svc:8081/", {"http_proxy": "p:1", "no_proxy": "nexus.svc:8081"}, None),
        ("http://nexus.svc:8081/", {"http_proxy": "p:1", "no_proxy": "nexus.svc:9"}, "p:1"),
        ("http://notsvc:8081/", {"http_proxy": "p:1", "no_proxy": "svc"}, "p:1"),
        ("http://10.1.2.3/", {"http_proxy": "p:1", "no_proxy": "10.0.0.0/8"}, None),
        ("http://11.1.2.3/", {"http_proxy": "p:1", "no_proxy": "10.0.0.0/8,bad/cidr"}, "p:1"),
        ("http://[::1]:8081/", {"http_proxy": "p:1", "no_proxy": "::1"}, None),
    ],
)
def test_proxy_for(url: str, env: dict[str, str], expected: str | None) -> None:
    assert proxy_for(url, env) == expected


def test_cgi_ignores_the_upper_case_http_proxy() -> None:
    # urllib.request.getproxies_environment: HTTP_PROXY may come from a request header
    cgi = {"REQUEST_METHOD": "GET", "HTTP_PROXY": "http://P:1"}
    assert proxy_for("http://h/simple/", cgi) is None
    assert proxy_for("http://h/simple/", {**cgi, "http_proxy": "http://p:1"}) == "http://p:1"
    # an empty lower-case variable unsets the upper-case one
    assert proxy_for("http://h/simple/", {"HTTP_PROXY": "http://P:1", "http_proxy": ""}) is None


@pytest.mark.parametrize("python", action_pythons())
def test_urllib_request_is_imported_only_for_a_proxy_list(
    python: str, raw: list[ph.RawServer]
) -> None:
    # start-up of the action: urllib.request is slow to import and rarely needed
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE))
    code = (
        "import sys; from pipnexus import probe, urls; "
        "t = probe.target_for(urls.parse_url(sys.argv[1])); "
        "env = dict(a.split('=', 1) for a in sys.argv[2:]); "
        "r = probe.probe([t], timeout=5, environ=env); "
        "print(r[0].healthy, 'urllib.request' in sys.modules)"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")}

    def imported(*variables: str) -> str:
        proc = subprocess.run(
            [python, "-S", "-c", code, server.url(), *variables],
            capture_output=True, text=True, env=env, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert imported() == "True False"
    assert imported("no_proxy=example.com") == "True False"
    assert imported("http_proxy=http://127.0.0.1:1", "no_proxy=127.0.0.1") == "True True"
