"""Secrets, across every command that takes credentials.

A password given by ``--password-env``, by ``PIPNEXUS_PASSWORD`` or inside a URL never appears
(plain, URL-encoded, base64 alone or with the user, or the first 16 characters of a base64 form)
in stdout, stderr, GITHUB_OUTPUT, the step summary, JSON output or error lines, even when the
server echoes the Authorization header, the decoded credentials or the request back in its reason
phrase, error page or redirect Location. GITHUB_ENV and shell/dotenv output may carry it (the
installers need it), and only in the installer variables' values. Real loopback servers only.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from testbed.httpbase import HangingListener, closed_url
from tests import probe_helpers as ph
from tests.hardening_helpers import (
    ECHO_MODES,
    ECHO_REASONS,
    PASSWORD,
    USER,
    Run,
    echo_script,
    leaks,
    run_cli,
    runner_parse,
    without_masks,
)

FALLBACK = "https://fallback.invalid/simple"
URL_VARS = {
    "PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIPENV_PYPI_MIRROR", "PDM_PYPI_URL",
    "POETRY_PYPI_MIRROR_URL", "UV_PYTHON_INSTALL_MIRROR",
}
CHANNELS = ["password-env", "environment", "url"]


@pytest.fixture(scope="module")
def echo() -> Iterator[ph.RawServer]:
    with ph.RawServer(echo_script) as server:
        yield server


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ph.RawServer]:
    cert = ph.self_signed_cert(tmp_path_factory.mktemp("cert"))
    if cert is None:
        pytest.skip("openssl CLI not available")
    with ph.RawServer(echo_script, tls=ph.server_context(cert)) as server:
        yield server


def index_of(base: str, mode: str) -> str:
    return f"{base}/{mode}/repository/pypi-proxy/simple/"


def with_userinfo(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{USER}:{quote(PASSWORD, safe='')}@{rest}"


def credentials(channel: str, index: str, command: str) -> tuple[list[str], dict[str, str]]:
    """Arguments and environment giving ``index`` with the password through ``channel``."""
    if channel == "url":
        return ["--index-url", with_userinfo(index)], {}
    if channel == "environment":
        assert command == "configure"  # the only command that reads PIPNEXUS_PASSWORD
        return [], {"PIPNEXUS_INDEX_URL": index, "PIPNEXUS_USERNAME": USER,
                    "PIPNEXUS_PASSWORD": PASSWORD}
    return (["--index-url", index, "--username", USER, "--password-env", "NEXUS_SECRET"],
            {"NEXUS_SECRET": PASSWORD})


def assert_clean(**texts: str) -> None:
    for where, text in texts.items():
        assert not leaks(text), f"{where} leaks {leaks(text)}: {text[:2000]}"


# --- probe -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("channel", ["password-env", "url"])
def test_probe_never_shows_the_password(
    echo: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], channel: str, fmt: str,
) -> None:
    targets = {mode: index_of(echo.base_url, mode) for mode in ECHO_MODES}
    targets["s-unauthorized"] = index_of(echo.base_url, "s-unauthorized")  # the status endpoint
    targets["refused"] = closed_url() + "/simple/"
    seen: dict[str, str] = {}
    for mode, index in targets.items():
        args, env = credentials(channel, index, "probe")
        r = run_cli(monkeypatch, capsys, tmp_path,
                    ["probe", *args, "--format", fmt, "--timeout", "5"], env)
        assert r.rc == (0 if mode == "ok" else 1), (mode, r)
        assert_clean(stdout=r.out, stderr=r.err)
        if fmt == "json":
            (candidate,) = json.loads(r.out)["candidates"]
            seen[mode] = candidate["reason"]
            assert "***" in candidate["url"] if channel == "url" else True
    if fmt == "json":
        want = {**ECHO_REASONS, "s-unauthorized": "auth", "refused": "refused"}
        assert seen == want


def test_probe_timeout_and_tls_never_show_the_password(
    tls_server: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with HangingListener() as hanging:
        for index, reason in ((index_of(tls_server.base_url, "ok"), "tls"),
                              (f"http://127.0.0.1:{hanging.port}/simple/", "timeout")):
            args, env = credentials("url", index, "probe")
            r = run_cli(monkeypatch, capsys, tmp_path,
                        ["probe", *args, "--format", "json", "--timeout", "0.5"], env)
            assert r.rc == 1
            assert json.loads(r.out)["candidates"][0]["reason"] == reason
            assert_clean(stdout=r.out, stderr=r.err)


def test_probe_dns_failure_never_shows_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # never ask this machine's (non-loopback) DNS server: the resolver fails in-process
    def no_such_host(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known {PASSWORD}")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    args, env = credentials("url", "http://nexus.invalid:8081/simple/", "probe")
    r = run_cli(monkeypatch, capsys, tmp_path, ["probe", *args, "--format", "json"], env)
    assert r.rc == 1 and json.loads(r.out)["candidates"][0]["reason"] == "dns"
    assert_clean(stdout=r.out, stderr=r.err)


def test_probe_bad_input_never_shows_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = [
        ["--index-url", with_userinfo("ftp://h/simple/")],
        ["--index-url", with_userinfo("http://h/simple/") + "\nX=1"],
        ["--index-url", with_userinfo("http://h:99999/simple/")],
        ["--index-url", f"http://{USER}:{PASSWORD}@h/simple/"],  # unencoded: '/' and '@' inside
        ["--index-url", "http://h/simple/", "--canary", PASSWORD],
    ]
    for args in bad:
        r = run_cli(monkeypatch, capsys, tmp_path, ["probe", *args])
        assert r.rc == 2 and len(r.err.splitlines()) == 1, (args, r)
        assert_clean(stdout=r.out, stderr=r.err)


# --- configure -------------------------------------------------------------------------------


def _check_github_files(r: Run, index: str) -> None:
    files = r.files
    assert_clean(output=files["GITHUB_OUTPUT"], summary=files["GITHUB_STEP_SUMMARY"])
    for name, value in runner_parse(files["GITHUB_ENV"]):
        if leaks(value):
            # only the installers' index variables carry it, URL-encoded in the userinfo
            assert name in URL_VARS, name
            if name == "UV_PYTHON_INSTALL_MIRROR":  # the interpreter mirror on the same Nexus
                mirror = index.split("/repository/", 1)[0] + "/repository/python-build-standalone"
                assert value == with_userinfo(mirror), (name, value)
            else:
                assert value == with_userinfo(index), (name, value)


@pytest.mark.parametrize("channel", CHANNELS)
def test_configure_github_keeps_the_password_in_github_env_only(
    echo: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], channel: str,
) -> None:
    for mode in [*ECHO_MODES, "s-unauthorized"]:
        index = index_of(echo.base_url, mode)
        args, env = credentials(channel, index, "configure")
        r = run_cli(monkeypatch, capsys, tmp_path,
                    ["configure", *args, "--fallback-index-url", FALLBACK, "--no-warnings"],
                    env, github=True)
        assert r.rc == 0, (mode, r.err)
        outputs = dict(runner_parse(r.files["GITHUB_OUTPUT"]))
        assert outputs["source"] == ("nexus" if mode == "ok" else "fallback"), (mode, outputs)
        # the password and the credentialed URL are masked before anything else is printed
        masks = r.out.splitlines()[: r.out.count("::add-mask::")]
        assert "::add-mask::" + PASSWORD.replace("%", "%25") in masks  # (runner escaping)
        assert_clean(stdout=without_masks(r.out), stderr=r.err)
        _check_github_files(r, index)
        env_vars = dict(runner_parse(r.files["GITHUB_ENV"]))
        if mode == "ok":
            assert env_vars["PIP_INDEX_URL"] == with_userinfo(index)
        else:
            assert env_vars["PIP_INDEX_URL"] == FALLBACK


@pytest.mark.parametrize("channel", CHANNELS)
def test_configure_json_and_require_nexus_never_show_the_password(
    echo: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], channel: str,
) -> None:
    for mode in ["ok", "unauthorized", "blocked", "broken", "elsewhere", "around"]:
        args, env = credentials(channel, index_of(echo.base_url, mode), "configure")
        for extra in ([], ["--require-nexus"]):
            r = run_cli(monkeypatch, capsys, tmp_path,
                        ["configure", *args, "--format", "json", *extra], env)
            assert r.rc == (1 if extra and mode != "ok" else 0), (mode, extra, r)
            decision = json.loads(r.out)
            assert decision["candidates"][0]["reason"] == ECHO_REASONS[mode]
            assert_clean(stdout=r.out, stderr=r.err)
        # github format with --require-nexus: the ::error line is clean too
        gh = run_cli(monkeypatch, capsys, tmp_path, ["configure", *args, "--require-nexus"],
                     env, github=True)
        assert gh.rc == (0 if mode == "ok" else 1)
        assert_clean(stdout=without_masks(gh.out), stderr=gh.err)
        _check_github_files(gh, index_of(echo.base_url, mode))


@pytest.mark.parametrize("fmt", ["shell", "dotenv"])
def test_configure_shell_and_dotenv_carry_it_only_in_installer_variables(
    echo: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], fmt: str,
) -> None:
    index = index_of(echo.base_url, "ok")
    args, env = credentials("password-env", index, "configure")
    r = run_cli(monkeypatch, capsys, tmp_path, ["configure", *args, "--format", fmt], env)
    assert r.rc == 0, r.err
    assert_clean(stderr=r.err)
    for line in r.out.splitlines():
        if leaks(line):
            name = line.removeprefix("export ").split("=", 1)[0]
            assert name in URL_VARS, line
    # inside Actions, the masks go to stderr (stdout is eval'd) before anything else
    env["GITHUB_ACTIONS"] = "true"
    r = run_cli(monkeypatch, capsys, tmp_path, ["configure", *args, "--format", fmt], env)
    assert r.rc == 0, r.err
    assert "::add-mask::" + PASSWORD.replace("%", "%25") in r.err.splitlines()
    assert_clean(stderr=without_masks(r.err))
    assert "::add-mask::" not in r.out


def test_configure_fallback_with_credentials_is_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    fallback = with_userinfo("https://mirror.invalid/simple")
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_cli(monkeypatch, capsys, tmp_path,
                ["configure", "--index-url", dead, "--fallback-index-url", fallback], {},
                github=True)
    assert r.rc == 0, r.err
    assert_clean(stdout=without_masks(r.out), stderr=r.err,
                 output=r.files["GITHUB_OUTPUT"], summary=r.files["GITHUB_STEP_SUMMARY"])
    assert dict(runner_parse(r.files["GITHUB_ENV"]))["PIP_INDEX_URL"] == fallback


def test_configure_input_errors_never_show_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    cases: list[tuple[list[str], dict[str, str]]] = [
        (["--index-url", with_userinfo("javascript://h/simple/")], {}),
        (["--fallback-index-url", with_userinfo("http://h/s/") + "\rX=1",
          "--index-url", "http://h/s/"], {}),
        (["--index-url", "http://h/simple/"], {"PIPNEXUS_PASSWORD": PASSWORD + "\nEVIL=1"}),
        (["--index-url", "http://h/simple/", "--timeout", PASSWORD], {}),
        ([], {"PIPNEXUS_INDEX_URL": with_userinfo("http://h/simple/") + " file:///etc"}),
        ([], {"PIPNEXUS_NEXUS_URL": f"http://{USER}:{PASSWORD}@h:8081"}),
    ]
    for args, env in cases:
        for github in (True, False):
            r = run_cli(monkeypatch, capsys, tmp_path, ["configure", *args], env, github=github)
            assert r.rc == 2, (args, env, r)
            assert_clean(stdout=without_masks(r.out), stderr=r.err)
            if github:
                assert r.files["GITHUB_ENV"] == r.files["GITHUB_OUTPUT"] == ""


def test_internal_errors_never_show_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import base64

    import pipnexus.configure

    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def boom(args: object) -> int:
        raise RuntimeError(f"failed: Authorization: Basic {token} pw={quote(PASSWORD)}")

    monkeypatch.setattr(pipnexus.configure, "run", boom)
    for env in ({"PIPNEXUS_PASSWORD": PASSWORD}, {"NEXUS_SECRET": PASSWORD}):
        args = ["configure", "--index-url", "http://h/simple/", "--username", USER]
        if "NEXUS_SECRET" in env:
            args += ["--password-env", "NEXUS_SECRET"]
        r = run_cli(monkeypatch, capsys, tmp_path, args, env)
        assert r.rc == 2 and "internal error: RuntimeError" in r.err
        assert len(r.err.splitlines()) == 1
        assert_clean(stdout=r.out, stderr=r.err)


# --- nexus apply / status --------------------------------------------------------------------


@pytest.mark.parametrize("where", ["status", "later"])
@pytest.mark.parametrize("mode", ["broken", "missing", "unauthorized", "forbidden", "gateway"])
@pytest.mark.parametrize("command", ["apply", "status"])
def test_nexus_commands_never_show_the_password(
    echo: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], command: str, mode: str, where: str,
) -> None:
    # "status": the status endpoint itself answers so (asked without credentials; a 4xx there
    # is not Nexus: exit 2); "later": it answers as Nexus, the credentialed requests so
    prefix = "s-" if where == "status" else ""
    args = ["nexus", command, "--url", f"{echo.base_url}/{prefix}{mode}", "--username", USER,
            "--password-env", "NEXUS_SECRET", "--retries", "0", "--timeout", "10"]
    args += ["--repository", "pypi-proxy"]
    r = run_cli(monkeypatch, capsys, tmp_path, args, {"NEXUS_SECRET": PASSWORD})
    not_nexus = where == "status" and mode in ("missing", "unauthorized", "forbidden")
    assert r.rc == (2 if not_nexus else 1), r
    assert r.out + r.err
    assert_clean(stdout=r.out, stderr=r.err)


def test_nexus_bad_url_never_shows_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    for command in ("apply", "status"):
        for url in (with_userinfo("http://127.0.0.1:1"), with_userinfo("ftp://127.0.0.1:1")):
            r = run_cli(monkeypatch, capsys, tmp_path, ["nexus", command, "--url", url], {})
            assert r.rc == 2 and len(r.err.splitlines()) == 1, r
            assert_clean(stdout=r.out, stderr=r.err)
