"""The probe fault matrix, judged where it matters: the decision of ``pipnexus configure``.

For every fault of the matrix below, ``configure --format json`` must fall back (exit 0, the
probe's reason code), and with ``--require-nexus`` exit 1 with one clear line and nothing
configured; the run ends (a generous bound that only catches hangs) and never prints a
traceback. Loopback servers only; the unresolvable name is failed by an in-process resolver,
never a DNS server.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.httpbase import HangingListener, closed_url
from testbed.nexus_double import NexusDouble
from tests import probe_helpers as ph
from tests.hardening_helpers import run_cli, runner_parse

TIMEOUT = 5.0  # a healthy loopback answer takes milliseconds; the deadline only bounds faults
SHORT = 0.1  # for the faults that end in the deadline (the trickles drip every 0.2 s)
HANG_BOUND = TIMEOUT + 10.0  # catches a hang, not a slow run
FALLBACK = "https://fallback.invalid/simple"
INDEX_PATH = "/repository/pypi-proxy/simple/"
LOGIN = b"<html><head><title>Sign in</title></head><body><form>user password</form></body></html>"


@contextlib.contextmanager
def raw(script: ph.Script, **kwargs: Any) -> Iterator[str]:
    with ph.RawServer(script, **kwargs) as server:
        yield server.url()


@contextlib.contextmanager
def refused() -> Iterator[str]:
    yield closed_url() + INDEX_PATH


@contextlib.contextmanager
def unresolvable() -> Iterator[str]:
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(socket, "getaddrinfo", fake)
        yield "http://nexus.pipnexus-faults.invalid:8081" + INDEX_PATH


@contextlib.contextmanager
def never_accepts() -> Iterator[str]:
    with ph.never_accepts() as origin:
        yield origin + INDEX_PATH


@contextlib.contextmanager
def never_answers() -> Iterator[str]:
    with HangingListener() as hanging:
        yield hanging.url + INDEX_PATH


@contextlib.contextmanager
def tls_untrusted(tmp_path: Path) -> Iterator[str]:
    cert = ph.self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("openssl CLI not available")
    with raw(ph.answer(200, "OK", ph.PIP_PAGE), tls=ph.server_context(cert)) as url:
        yield url


@contextlib.contextmanager
def tls_to_plain_http() -> Iterator[str]:
    with raw(ph.answer(200, "OK", ph.PIP_PAGE), read_request=False) as url:
        yield url.replace("http://", "https://")


@contextlib.contextmanager
def double(nexus: NexusDouble, fault: Callable[[NexusDouble], object]) -> Iterator[str]:
    fault(nexus)
    yield nexus.index_url()


Fault = Callable[[Path, Any], contextlib.AbstractContextManager[str]]
# name -> (how to make it, reason code)
FAULTS: dict[str, tuple[Fault, str]] = {
    "refused": (lambda t, n: refused(), "refused"),
    "unresolvable-name": (lambda t, n: unresolvable(), "dns"),
    "never-accepts": (lambda t, n: never_accepts(), "timeout"),
    "never-answers": (lambda t, n: never_answers(), "timeout"),
    "trickling-headers": (lambda t, n: raw(ph.trickle_headers), "timeout"),
    "trickling-body": (lambda t, n: raw(ph.trickle_body), "timeout"),
    "500": (lambda t, n: raw(ph.answer(500, "Internal Server Error")), "bad-response"),
    "502": (lambda t, n: raw(ph.answer(502, "Bad Gateway")), "remote-unreachable"),
    "503": (lambda t, n: raw(ph.answer(503, "Service Unavailable")), "unavailable"),
    "401": (lambda t, n: raw(ph.answer(401, "Unauthorized")), "auth"),
    "403": (lambda t, n: raw(ph.answer(403, "Forbidden")), "auth"),
    "200-login-page": (lambda t, n: raw(ph.answer(200, "OK", LOGIN)), "not-an-index"),
    "repository-offline": (lambda t, n: double(n, lambda d: d.set_online(False)), "unavailable"),
    "remote-auto-blocked": (lambda t, n: double(n, lambda d: d.block_remote()), "remote-blocked"),
    "anonymous-off": (
        lambda t, n: double(n, lambda d: setattr(d, "anonymous_enabled", False)), "auth"),
    "tls-self-signed": (lambda t, n: tls_untrusted(t), "tls"),
    "tls-handshake-plain-http": (lambda t, n: tls_to_plain_http(), "tls"),
    "redirect-off-host": (
        lambda t, n: raw(ph.answer(302, "Found", headers=[("Location", "http://127.0.0.2:1/")])),
        "redirect"),
    "truncated-body": (lambda t, n: raw(ph.truncated), "bad-response"),
    "huge-body": (lambda t, n: raw(ph.endless_body("close")), "bad-response"),
}
NEEDS_DOUBLE = {"repository-offline", "remote-auto-blocked", "anonymous-off"}


@pytest.mark.parametrize("name", list(FAULTS))
def test_configure_decides_for_each_fault(
    name: str, request: pytest.FixtureRequest, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    make, reason = FAULTS[name]
    nexus = request.getfixturevalue("nexus") if name in NEEDS_DOUBLE else None
    timeout = SHORT if reason == "timeout" else TIMEOUT
    # the index's faults (the interpreter mirror's: tests/test_interpreters.py)
    base = ["configure", "--timeout", str(timeout), "--no-warnings",
            "--fallback-index-url", FALLBACK, "--python-mirror", "false"]
    with make(tmp_path, nexus) as index:
        # without --require-nexus: the fallback, with the reason
        start = time.monotonic()
        r = run_cli(monkeypatch, capsys, tmp_path,
                    [*base, "--index-url", index, "--format", "json"])
        assert time.monotonic() - start < HANG_BOUND
        assert r.rc == 0, r
        decision = json.loads(r.out)
        assert (decision["source"], decision["reason"]) == ("fallback", reason), decision
        (candidate,) = decision["candidates"]
        assert candidate["healthy"] is False and candidate["reason"] == reason
        assert decision["index_url"] == FALLBACK
        assert "falling back" not in r.err and r.err.count("\n") == 1  # one line: why

        # with --require-nexus: exit 1, one clear line, no index
        start = time.monotonic()
        r = run_cli(monkeypatch, capsys, tmp_path,
                    [*base, "--index-url", index, "--format", "json", "--require-nexus"])
        assert time.monotonic() - start < HANG_BOUND
        assert r.rc == 1, r
        decision = json.loads(r.out)
        assert (decision["source"], decision["reason"], decision["index_url"]) == (
            "none", reason, "")
        (line,) = r.err.splitlines()
        assert "require-nexus" in line and reason in line

        # the action's format: nothing configured with --require-nexus, the fallback without
        gh = run_cli(monkeypatch, capsys, tmp_path,
                     [*base, "--index-url", index, "--require-nexus"], github=True)
        assert gh.rc == 1
        assert runner_parse(gh.files["GITHUB_ENV"]) == []
        assert dict(runner_parse(gh.files["GITHUB_OUTPUT"]))["source"] == "none"
        gh = run_cli(monkeypatch, capsys, tmp_path, [*base, "--index-url", index], github=True)
        assert gh.rc == 0
        env = dict(runner_parse(gh.files["GITHUB_ENV"]))
        assert env["PIP_INDEX_URL"] == env["UV_DEFAULT_INDEX"] == FALLBACK
        assert dict(runner_parse(gh.files["GITHUB_OUTPUT"]))["reason"] == reason


def test_healthy_control(
    nexus: NexusDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same checks pass for a healthy double: the matrix above is not vacuous."""
    r = run_cli(monkeypatch, capsys, tmp_path,
                ["configure", "--index-url", nexus.index_url(), "--format", "json",
                 "--require-nexus", "--no-warnings"])
    assert r.rc == 0, r
    decision = json.loads(r.out)
    assert (decision["source"], decision["reason"]) == ("nexus", "")


def test_a_healthy_candidate_after_faulty_ones_wins(
    nexus: NexusDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with never_answers() as hanging, raw(ph.trickle_body) as trickling:
        start = time.monotonic()
        r = run_cli(monkeypatch, capsys, tmp_path,
                    ["configure", "--format", "json", "--require-nexus", "--no-warnings",
                     "--timeout", "1.0", "--index-url", hanging, "--index-url", trickling,
                     "--index-url", closed_url() + INDEX_PATH, "--index-url", nexus.index_url()])
        assert time.monotonic() - start < HANG_BOUND
    assert r.rc == 0, r
    decision = json.loads(r.out)
    assert decision["source"] == "nexus"
    assert [c["reason"] for c in decision["candidates"]] == ["timeout", "timeout", "refused", ""]
