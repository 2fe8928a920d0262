"""Configure's inputs (pipnexus/configure/settings.py): bad and hostile values are one clear
line and write nothing.
"""

from __future__ import annotations

import pytest

from tests.configure.helpers import INSTALLER_VARS, base_env, run_configure


@pytest.mark.parametrize(
    "args",
    [
        ["--fallback-index-url", "https://pypi.org/simple\nLD_PRELOAD=/tmp/x.so"],
        ["--index-url", "http://h/simple/\rPATH=/tmp"],
        ["--index-url", "javascript:alert(1)"],
        ["--index-url", "file:///etc/passwd"],
        ["--index-url", "no-scheme/simple"],
        ["--index-url", "http://h/" + "a" * 100_000],  # (one argv string is at most 128 KiB)
        ["--username", "ci\nEVIL=1", "--index-url", "http://h/simple/"],
        ["--timeout", "nan", "--index-url", "http://h/simple/"],
        ["--timeout", "-1", "--index-url", "http://h/simple/"],
        ["--canary", "../etc", "--index-url", "http://h/simple/"],
        ["--pip-conf", "everywhere", "--index-url", "http://h/simple/"],
        ["--require-nexus=maybe", "--index-url", "http://h/simple/"],
        ["--format", "xml", "--index-url", "http://h/simple/"],
        ["--ca-cert", "/nonexistent/ca.pem", "--index-url", "https://h/simple/"],
        ["--password-env", "A=B", "--index-url", "http://h/simple/"],
        # the one option layer: a variable named by --password-env must be set
        ["--password-env", "PIPNEXUS_UNSET_VARIABLE", "--index-url", "http://h/simple/"],
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, args):
    r = run_configure(tmp_path, *args)
    assert r.rc == 2
    assert r.env == [] and r.outputs == {} and r.summary == ""
    err_lines = [line for line in r.err.splitlines() if line]
    assert len(err_lines) == 1 and err_lines[0].startswith("pipnexus configure: error: ")
    assert len(err_lines[0]) < 400
    errors = [line for line in r.out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "\n" not in errors[0]


@pytest.mark.parametrize(
    "name, value",
    [
        ("PIPNEXUS_NEXUS_URL", "http://h:8081\nINJECTED=1"),
        ("PIPNEXUS_INDEX_URL", "http://h/simple/\rINJECTED<<EOF"),
        ("PIPNEXUS_INDEX_URL", "http://h/simple/ INJECTED=1"),
    ],
)
def test_hostile_pipnexus_environment_is_refused(tmp_path, name, value):
    r = run_configure(tmp_path, env=base_env(tmp_path, **{name: value}))
    assert r.rc == 2 and r.env == [] and r.outputs == {}
    assert "INJECTED" not in r.err


def test_hostile_environment_values_cannot_inject(tmp_path, nexus):
    env = base_env(
        tmp_path,
        PIP_EXTRA_INDEX_URL="http://x/\nINJECTED=1",
        PIPNEXUS_REPOSITORY="pypi-proxy",
    )
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    assert r.rc == 0
    assert {name for name, _ in r.env or []} == INSTALLER_VARS
    # the warning about the extra index is one annotation line
    warn = [line for line in r.out.splitlines() if "PIP_EXTRA_INDEX_URL" in line]
    assert len(warn) == 1 and warn[0].startswith("::warning")
    assert not any(line.startswith("INJECTED") for line in r.out.splitlines())


def test_huge_hostile_values_are_handled_quickly(tmp_path, nexus):
    # one environment string is at most 128 KiB on Linux; a quadratic scan would take minutes
    huge = "http://x/" + "a" * 120_000
    env = base_env(tmp_path, PIP_EXTRA_INDEX_URL=huge, PIPNEXUS_PASSWORD="p" * 120_000)
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    assert r.rc == 0, r.err  # (the double refuses the giant Authorization header: fallback)
    too_long = run_configure(tmp_path, env=base_env(tmp_path, PIPNEXUS_INDEX_URL=huge))
    assert too_long.rc == 2 and "too long" in too_long.err
