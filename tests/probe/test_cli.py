"""`pipnexus probe` as the action runs it (pipnexus/probe/cli.py), on every Python the action
accepts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from urllib.parse import quote

import pytest

from testbed.httpbase import HangingListener
from testbed.nexus_double import NexusDouble
from tests import probe_helpers as ph
from tests.cli_process import run_pipnexus
from tests.probe_helpers import HANG_SLACK, REPO, serve, with_userinfo
from tests.pythons import action_pythons


def run_cli(
    *args: str,
    python: str = sys.executable,
    env_extra: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIPNEXUS_", "PYTHON")) and not k.lower().endswith("_proxy")
    }
    env.update(env_extra or {})
    return run_pipnexus("probe", *args, python=python, env=env, timeout=timeout, cwd=REPO)


@pytest.mark.parametrize("python", action_pythons())
def test_cli_healthy_and_unhealthy(python: str, nexus: NexusDouble) -> None:
    proc = run_cli("--index-url", nexus.index_url(), "--format", "json", python=python)
    assert proc.returncode == 0, proc.stderr
    decision = json.loads(proc.stdout)
    assert decision["healthy"] is True
    assert decision["candidates"][0]["url"] == nexus.index_url()

    nexus.set_online(False)
    proc = run_cli("--nexus-url", nexus.base_url, python=python)
    assert proc.returncode == 1
    (line,) = proc.stdout.splitlines()
    assert line.startswith("unhealthy") and "unavailable" in line and " ms " in line


@pytest.mark.parametrize("python", action_pythons())
def test_cli_reads_the_environment(python: str, nexus: NexusDouble) -> None:
    proc = run_cli(
        python=python,
        env_extra={"PIPNEXUS_NEXUS_URL": nexus.base_url, "PIPNEXUS_REPOSITORY": "pypi-proxy"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("healthy")


def test_cli_returns_at_the_deadline_when_a_socket_hangs(hanging_listener: HangingListener) -> None:
    start = time.monotonic()
    proc = run_cli("--index-url", hanging_listener.url + "/simple/", "--timeout", "1")
    assert time.monotonic() - start < 1 + HANG_SLACK + 5  # + interpreter start-up
    assert proc.returncode == 1
    assert "timeout" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--index-url", "http://h/simple/\r\nX=1"],
        ["--index-url", "file:///etc/passwd"],
        ["--index-url", "http://h/" + "a" * 120_000],  # near the kernel's limit per argument
        ["--nexus-url", "http://h:99999"],
        ["--nexus-url", "http://h", "--repository", "bad name"],
        ["--index-url", "http://h/simple/", "--timeout", "0"],
        ["--index-url", "http://h/simple/", "--timeout", "soon"],
        ["--index-url", "http://h/simple/", "--canary", "not valid!"],
        ["--index-url", "http://h/simple/", "--password-env", "PIPNEXUS_TEST_UNSET_VAR"],
        ["--index-url", "https://h/simple/", "--ca-cert", "/nonexistent/ca.pem"],
        ["--index-url", "http://h/simple/", "--password", "hunter2"],
        [],
    ],
    ids=[
        "crlf",
        "file",
        "megabyte",
        "port",
        "repo",
        "timeout0",
        "timeout-nan",
        "canary",
        "password-env",
        "ca-cert",
        "password-on-cli",
        "nothing",
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str]) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines and "error" in lines[-1]
    assert "hunter2" not in proc.stderr
    assert len(lines) == 1, proc.stderr


def test_cli_password_from_env_never_printed(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    nexus.users["ci"] = "t0p/s3cret@"
    secret = "t0p/s3cret@"
    ok = run_cli(
        "--nexus-url",
        nexus.base_url,
        "--username",
        "ci",
        "--password-env",
        "PNX_PW",
        "--format",
        "json",
        env_extra={"PNX_PW": secret},
    )
    assert ok.returncode == 0, ok.stdout
    bad = run_cli(
        "--index-url", with_userinfo(nexus.index_url(), "ci", secret + "x"), env_extra={}
    )
    assert bad.returncode == 1
    assert "auth" in bad.stdout
    for proc in (ok, bad):
        for form in (secret, quote(secret, safe=""), quote(secret + "x", safe="")):
            assert form not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (ph.trickle_headers, "timeout"),
        (ph.trickle_body, "timeout"),
        (ph.truncated, "bad-response"),
        (ph.endless_body("close"), "bad-response"),
        (ph.answer(302, "Found", headers=[("Location", "http://127.0.0.2:1/")]), "redirect"),
        (ph.answer(200, "OK", b"<html><form>Sign in</form></html>"), "not-an-index"),
    ],
    ids=["trickle-headers", "trickle-body", "truncated", "huge", "redirect", "login"],
)
@pytest.mark.parametrize("python", action_pythons())
def test_cli_fault_matrix(
    raw: list[ph.RawServer], script: ph.Script, expected: str, python: str
) -> None:
    server = serve(raw, script)
    # the trickles never end: any deadline shows them; the others must be judged before it
    timeout = 0.5 if expected == "timeout" else 1.5
    start = time.monotonic()
    proc = run_cli(
        "--index-url", server.url(), "--timeout", str(timeout), "--format", "json",
        python=python,
    )
    assert time.monotonic() - start < timeout + HANG_SLACK + 5  # + interpreter start-up
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == ""
    (candidate,) = json.loads(proc.stdout)["candidates"]
    assert candidate["reason"] == expected


@pytest.mark.parametrize("python", action_pythons())
def test_cli_tls(python: str, raw: list[ph.RawServer], cert: ph.Cert) -> None:
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE), tls=ph.server_context(cert))
    untrusted = run_cli("--index-url", server.url(), python=python)
    assert untrusted.returncode == 1
    assert " tls " in untrusted.stdout
    trusted = run_cli("--index-url", server.url(), "--ca-cert", str(cert.cert), python=python)
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr


def test_cli_nexus_url_that_is_a_whole_index_url(nexus: NexusDouble) -> None:
    proc = run_cli("--nexus-url", nexus.index_url(), "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (note,) = proc.stderr.splitlines()
    assert note.startswith("pipnexus probe: note: --nexus-url is a whole index URL")
    assert f"--nexus-url {nexus.base_url} --repository pypi-proxy" in note
    (candidate,) = json.loads(proc.stdout)["candidates"]
    assert candidate["url"] == nexus.index_url()
    assert nexus.count("/repository/pypi-proxy/simple/pip/") == 1
    mismatch = run_cli("--nexus-url", nexus.index_url(), "--repository", "other")
    assert mismatch.returncode == 2 and mismatch.stdout == ""
    (line,) = mismatch.stderr.splitlines()
    assert f"--nexus-url {nexus.base_url} --repository other" in line


def test_cli_credentials_from_the_runner_environment(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    nexus.users["ci"] = "runner-s3cret"
    env = {"PIPNEXUS_USERNAME": "ci", "PIPNEXUS_PASSWORD": "runner-s3cret"}
    proc = run_cli("--index-url", nexus.index_url(), env_extra=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "runner-s3cret" not in proc.stdout + proc.stderr
