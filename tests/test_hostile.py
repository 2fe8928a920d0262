"""Hostile and odd input through ``configure --format github`` with real runner files.

Each input is refused (exit 2, exactly one line on stderr, one ``::error``, nothing written) or
handled correctly. Either way GITHUB_ENV and GITHUB_OUTPUT, read back with the runner's rules
(actions/runner: src/Runner.Worker/FileCommandManager.cs) by a parser written independently of
pipnexus.gha (tests.hardening_helpers.runner_parse), hold exactly the intended variables, never
one more.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from testbed.httpbase import closed_url
from tests import probe_helpers as ph
from tests.hardening_helpers import Run, run_cli, runner_parse

INSTALLER_VARS = {
    "PIP_INDEX_URL", "PIP_TRUSTED_HOST", "UV_DEFAULT_INDEX", "UV_INDEX_URL",
    "PIPENV_PYPI_MIRROR", "PDM_PYPI_URL", "PDM_PYPI_VERIFY_SSL", "POETRY_PYPI_MIRROR_URL",
}
URL_VARS = INSTALLER_VARS - {"PIP_TRUSTED_HOST", "PDM_PYPI_VERIFY_SSL"}
OUTPUTS = {"source", "index-url", "trusted-host", "reason", "latency-ms", "python-mirror"}
DELIM = "ghadelimiter_0123456789abcdef"
MEGA = 1024 * 1024


@pytest.fixture(scope="module")
def index() -> Iterator[ph.RawServer]:
    """A healthy simple index on loopback (answers the pip page to every path)."""
    with ph.RawServer(ph.answer(200, "OK", ph.PIP_PAGE)) as server:
        yield server


def configure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    args: list[str], env: dict[str, str] | None = None,
) -> tuple[Run, list[tuple[str, str]], list[tuple[str, str]]]:
    # the index's URLs only (the answer-everything servers would make any mirror healthy)
    args = [*args, "--python-mirror", "false"] if "--python-mirror" not in args else args
    r = run_cli(monkeypatch, capsys, tmp_path, ["configure", "--timeout", "5", *args], env,
                github=True)
    for name in ("GITHUB_ENV", "GITHUB_OUTPUT"):
        assert "\r" not in r.files[name]  # (so LF-only and any-newline readers agree)
    return r, runner_parse(r.files["GITHUB_ENV"]), runner_parse(r.files["GITHUB_OUTPUT"])


def assert_refused(r: Run, env: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> None:
    assert r.rc == 2, r
    (line,) = r.err.splitlines()
    assert line.startswith("pipnexus configure: error: ") and len(line) < 500, line
    assert env == [] and outputs == [] and r.files["GITHUB_STEP_SUMMARY"] == ""
    errors = [x for x in r.out.splitlines() if x.startswith("::error")]
    assert len(errors) == 1, r.out
    for x in r.out.splitlines():  # nothing else that the runner would read as a command
        assert x.startswith(("::add-mask::", "::error")), x


def assert_exactly_intended(
    env: list[tuple[str, str]], outputs: list[tuple[str, str]], extra: frozenset[str] = frozenset()
) -> dict[str, str]:
    names = [n for n, _ in env]
    assert sorted(names) == sorted(INSTALLER_VARS | extra), names  # each once, nothing more
    assert sorted(n for n, _ in outputs) == sorted(OUTPUTS)
    return dict(env)


# --- refused ---------------------------------------------------------------------------------


REFUSED_ARGS = {
    "lf-in-url": ["--index-url", "http://h/simple/\nLD_PRELOAD=/tmp/x.so"],
    "crlf-in-fallback": ["--index-url", "http://h/s/", "--fallback-index-url",
                         "https://pypi.org/simple\r\nEVIL=1"],
    "nul-in-url": ["--index-url", "http://h/simple/\x00EVIL=1"],
    "heredoc-in-url": ["--index-url", f"http://h/simple/\n{DELIM}\nEVIL=1\n{DELIM}"],
    "no-scheme": ["--index-url", "nexus.example:8081/repository/pypi-proxy/simple/"],
    "file-scheme": ["--index-url", "file:///etc/passwd"],
    "javascript-scheme": ["--index-url", "javascript:alert(document.cookie)//"],
    "space-inside": ["--index-url", "http://h/a b/simple/"],
    "tab-inside": ["--index-url", "http://h/a\tb/simple/"],
    "unencoded-slash-in-password": ["--index-url", "http://u:p/ss@h/simple/"],
    "at-after-host": ["--index-url", "http://h/simple/@evil/"],
    "bad-ipv6": ["--index-url", "http://[::g]:8081/simple/"],
    "open-ipv6": ["--index-url", "http://[::1:8081/simple/"],
    "bad-idna": ["--index-url", "http://a..b/simple/"],
    "bad-port": ["--index-url", "http://h:0/simple/"],
    "megabyte-url": ["--index-url", "http://h/" + "a" * MEGA],
    "lf-in-username": ["--index-url", "http://h/s/", "--username", "ci\nEVIL=1"],
    "lf-in-ca-cert": ["--index-url", "https://h/s/", "--ca-cert", "/tmp/ca\nEVIL=1"],
    "lf-in-canary": ["--index-url", "http://h/s/", "--canary", "pip\nEVIL=1"],
}
REFUSED_ENV = {
    "env-index-lf": {"PIPNEXUS_INDEX_URL": "http://h/simple/\nLD_PRELOAD=x"},
    "env-index-heredoc": {"PIPNEXUS_INDEX_URL": f"http://h/simple/\r{DELIM}"},
    "env-nexus-lf": {"PIPNEXUS_NEXUS_URL": "http://h:8081\nEVIL=1"},
    "env-repository": {"PIPNEXUS_NEXUS_URL": "http://h:8081",
                       "PIPNEXUS_REPOSITORY": "pypi-proxy/../../x"},
    "env-password-lf": {"PIPNEXUS_INDEX_URL": "http://h/s/", "PIPNEXUS_PASSWORD": "pw\nEVIL=1"},
    "env-password-heredoc": {"PIPNEXUS_INDEX_URL": "http://h/s/",
                             "PIPNEXUS_PASSWORD": f"pw\n{DELIM}\nEVIL=1\n{DELIM}"},
    "env-password-cr": {"PIPNEXUS_INDEX_URL": "http://h/s/", "PIPNEXUS_PASSWORD": "pw\rEVIL=1"},
    "env-username-lf": {"PIPNEXUS_INDEX_URL": "http://h/s/", "PIPNEXUS_USERNAME": "ci\nX=1"},
    "env-index-megabyte": {"PIPNEXUS_INDEX_URL": "http://h/" + "a" * MEGA},
}


@pytest.mark.parametrize("name", list(REFUSED_ARGS))
def test_refused_arguments(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert_refused(*configure(monkeypatch, capsys, tmp_path, REFUSED_ARGS[name]))


@pytest.mark.parametrize("name", list(REFUSED_ENV))
def test_refused_environment(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert_refused(*configure(monkeypatch, capsys, tmp_path, [], REFUSED_ENV[name]))


def test_password_env_with_a_line_break_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    result = configure(monkeypatch, capsys, tmp_path,
                       ["--index-url", "http://h/s/", "--password-env", "SECRET"],
                       {"SECRET": f"pw\n{DELIM}\nLD_PRELOAD=/tmp/x.so"})
    assert_refused(*result)
    assert "LD_PRELOAD" not in result[0].err


# --- handled ---------------------------------------------------------------------------------


def test_userinfo_with_every_special_character(
    index: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user, password = "me@corp:x/y%", f"p@ss:w/rd%20 {DELIM}=EVIL=1"
    url = index.url().replace(
        "http://", f"http://{quote(user, safe='')}:{quote(password, safe='')}@")
    r, env, outputs = configure(monkeypatch, capsys, tmp_path, ["--index-url", url])
    assert r.rc == 0, r.err
    values = assert_exactly_intended(env, outputs)
    assert dict(outputs)["source"] == "nexus"
    for name in URL_VARS:
        assert values[name] == url
    userinfo = values["PIP_INDEX_URL"].split("://", 1)[1].rsplit("@", 1)[0]
    assert [unquote(x) for x in userinfo.split(":", 1)] == [user, password]


def test_password_env_with_delimiter_and_assignments(
    index: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = f"{DELIM} EVIL=1 <<EOF @:/% é"
    r, env, outputs = configure(
        monkeypatch, capsys, tmp_path,
        ["--index-url", index.url(), "--username", "ci", "--password-env", "SECRET"],
        {"SECRET": password})
    assert r.rc == 0, r.err
    values = assert_exactly_intended(env, outputs)
    bare = index.url().split("://", 1)[1]
    assert values["PIP_INDEX_URL"] == f"http://ci:{quote(password, safe='')}@{bare}"


def test_ipv6_and_idna_fallbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    dead = closed_url() + "/simple/"
    idna = "xn--bcher-kva.invalid"
    for fallback, trusted in (("http://[::1]:9/simple/", "[::1]"),
                              ("http://[fe80::1%25eth0]:9/simple/", "[fe80::1%25eth0]"),
                              ("https://bücher.invalid/simple/", ""),
                              (f"http://{idna}:8081/simple/", idna)):
        r, env, outputs = configure(monkeypatch, capsys, tmp_path,
                                    ["--index-url", dead, "--fallback-index-url", fallback])
        assert r.rc == 0, (fallback, r.err)
        values = assert_exactly_intended(env, outputs)
        assert values["PIP_INDEX_URL"] == fallback
        assert values["PIP_TRUSTED_HOST"] == trusted
        assert dict(outputs)["source"] == "fallback"


def test_encoded_line_breaks_and_delimiters_stay_inert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    fallback = f"https://h.invalid/{DELIM}/simple?x=%0AEVIL=1%0D%0A{DELIM}%3C%3CEOF&y={DELIM}=1"
    r, env, outputs = configure(monkeypatch, capsys, tmp_path,
                                ["--index-url", closed_url() + "/s/",
                                 "--fallback-index-url", fallback])
    assert r.rc == 0, r.err
    assert assert_exactly_intended(env, outputs)["PIP_INDEX_URL"] == fallback


@pytest.mark.slow
def test_megabyte_environment_values(
    index: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile = "http://x/" + "a" * MEGA + f"\nINJECTED=1\n{DELIM}\n"
    r, env, outputs = configure(
        monkeypatch, capsys, tmp_path, ["--index-url", index.url()],
        {"PIP_EXTRA_INDEX_URL": hostile, "UV_INDEX": hostile, "PIPNEXUS_PASSWORD": "p" * MEGA,
         "PIPNEXUS_USERNAME": "ci"})
    assert r.rc == 0, r.err
    assert_exactly_intended(env, outputs)
    for line in r.out.splitlines():
        assert not line.startswith(("INJECTED", DELIM)), line[:100]
    warnings = [x for x in r.out.splitlines() if x.startswith("::warning")]
    assert sum("PIP_EXTRA_INDEX_URL" in x for x in warnings) == 1


def test_odd_paths_for_the_pip_config_file(
    index: ph.RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pip config path with a line break travels as one heredoc value, never two variables."""
    odd = tmp_path / f"dir\nEVIL=1\n{DELIM}" / "pip.conf"
    odd.parent.mkdir()
    r, env, outputs = configure(
        monkeypatch, capsys, tmp_path,
        ["--index-url", index.url(), "--pip-conf", "file", "--pip-conf-path", str(odd)])
    assert r.rc == 0, r.err
    values = assert_exactly_intended(env, outputs, frozenset({"PIP_CONFIG_FILE"}))
    assert values["PIP_CONFIG_FILE"] == str(odd)
    assert "index-url = " + index.url() in odd.read_text()
