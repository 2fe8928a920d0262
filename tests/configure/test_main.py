"""``pipnexus configure`` against the loopback Nexus double, run as the action runs it.

Every run is a subprocess ``python3 -I -S`` with the project inserted on sys.path (as
action.yml does), in an environment built from scratch.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, quote_plus

import pytest

from pipnexus import gha
from pipnexus.configure import ca as ca_bundle
from pipnexus.configure import decide, installers, pipconf, render, summary
from pipnexus.configure.report import Report
from pipnexus.errors import InputError
from testbed.httpbase import HangingListener, closed_url
from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from testbed.wheels import standard_packages
from tests import probe_helpers
from tests.hardening_helpers import runner_parse
from tests.pythons import action_pythons

ROOT = Path(__file__).resolve().parents[2]
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main; "
    "sys.exit(main(sys.argv[2:]))"
)
INSTALLER_VARS = {
    "PIP_INDEX_URL", "PIP_TRUSTED_HOST", "UV_DEFAULT_INDEX", "UV_INDEX_URL",
    "PIPENV_PYPI_MIRROR", "PDM_PYPI_URL", "PDM_PYPI_VERIFY_SSL", "POETRY_PYPI_MIRROR_URL",
}
URL_VARS = INSTALLER_VARS - {"PIP_TRUSTED_HOST", "PDM_PYPI_VERIFY_SSL"}
FALLBACK = "https://fallback.example/simple"
PASSWORD = "p@ss:w/rd%2F&é"


class Run(NamedTuple):
    rc: int
    out: str
    err: str
    env: list[tuple[str, str]] | None  # GITHUB_ENV parsed with the runner's rules
    outputs: dict[str, str]
    summary: str

    @property
    def env_dict(self) -> dict[str, str]:
        assert self.env is not None
        return dict(self.env)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    files = tmp_path_factory.mktemp("cfg-files")
    standard_packages(files)
    with Upstream(files) as server:
        yield server


@pytest.fixture(scope="module")
def nexus(upstream: Upstream) -> Iterator[NexusDouble]:
    with NexusDouble(upstream.base_url + "/") as double:
        yield double


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    workspace = tmp_path / "workspace"
    runner_temp = tmp_path / "runner-temp"
    for d in (home, workspace, runner_temp):
        d.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(runner_temp),
    }
    env.update(extra)
    return env


def run_configure(
    tmp_path: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    github: bool = True,
    python: str = sys.executable,
) -> Run:
    full = dict(env) if env is not None else base_env(tmp_path)
    files = {}
    if github:
        for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
            path = tmp_path / name.lower()
            path.write_text("")
            files[name] = path
            full[name] = str(path)
        full["GITHUB_ACTIONS"] = "true"
    proc = subprocess.run(
        [python, "-I", "-S", "-c", BOOT, str(ROOT), "configure", *args],
        env=full, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    if not github:
        return Run(proc.returncode, proc.stdout, proc.stderr, None, {}, "")

    def read(name: str) -> str:
        return files[name].read_bytes().decode("utf-8")

    return Run(
        proc.returncode, proc.stdout, proc.stderr,
        runner_parse(read("GITHUB_ENV")),
        dict(runner_parse(read("GITHUB_OUTPUT"))),
        read("GITHUB_STEP_SUMMARY"),
    )


# --- decisions ---------------------------------------------------------------------------


def test_healthy_nexus_sets_every_installer_variable(tmp_path, nexus):
    index = nexus.index_url()
    r = run_configure(tmp_path, "--index-url", index, "--canary", "pip")
    assert r.rc == 0, r.err
    assert r.env == [
        ("PIP_INDEX_URL", index),
        ("PIP_TRUSTED_HOST", "127.0.0.1"),
        ("UV_DEFAULT_INDEX", index),
        ("UV_INDEX_URL", index),
        ("PIPENV_PYPI_MIRROR", index),
        ("PDM_PYPI_URL", index),
        ("PDM_PYPI_VERIFY_SSL", "false"),
        ("POETRY_PYPI_MIRROR_URL", index),
    ]
    assert r.outputs["source"] == "nexus"
    assert r.outputs["index-url"] == index
    assert r.outputs["trusted-host"] == "127.0.0.1"
    assert r.outputs["reason"] == ""
    assert int(r.outputs["latency-ms"]) >= 0
    assert set(r.outputs) == set(render.OUTPUTS)
    assert "| healthy |" in r.summary and f"`{index}`" in r.summary
    assert "`PIP_INDEX_URL`" in r.summary
    assert "::warning" not in r.out


def test_dead_nexus_falls_back_and_overrides_stale_values(tmp_path):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    env = base_env(
        tmp_path,
        PIP_INDEX_URL="http://stale.example/simple",
        PIP_TRUSTED_HOST="stale.example",
        PDM_PYPI_VERIFY_SSL="false",
    )
    r = run_configure(tmp_path, "--index-url", dead, "--fallback-index-url", FALLBACK, env=env)
    assert r.rc == 0, r.err
    got = r.env_dict
    assert set(got) == INSTALLER_VARS
    assert all(got[name] == FALLBACK for name in URL_VARS)
    assert got["PIP_TRUSTED_HOST"] == "" and got["PDM_PYPI_VERIFY_SSL"] == "true"
    assert r.outputs["source"] == "fallback"
    assert r.outputs["reason"] == "refused"
    assert r.outputs["index-url"] == FALLBACK
    assert r.outputs["trusted-host"] == ""
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1 and "refused" in warnings[0] and FALLBACK in warnings[0]
    assert "| unhealthy | refused |" in r.summary


def test_http_fallback_is_trusted(tmp_path, upstream):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(tmp_path, "--index-url", dead, "--fallback-index-url", upstream.index_url)
    assert r.env_dict["PIP_TRUSTED_HOST"] == "127.0.0.1"
    assert r.env_dict["PDM_PYPI_VERIFY_SSL"] == "false"
    assert r.outputs["trusted-host"] == "127.0.0.1"


def test_first_healthy_candidate_in_order_wins(tmp_path, nexus):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(tmp_path, "--index-url", f"{dead} {nexus.index_url()}")
    assert r.outputs["source"] == "nexus"
    assert r.outputs["index-url"] == nexus.index_url()
    assert r.summary.count("| unhealthy | refused |") == 1


def test_require_nexus_fails_clearly_and_configures_nothing(tmp_path):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(tmp_path, "--index-url", dead, "--require-nexus=true")
    assert r.rc == 1
    assert r.env == []
    assert r.outputs["source"] == "none" and r.outputs["reason"] == "refused"
    errors = [line for line in r.out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert "require-nexus" in errors[0] and "refused" in errors[0]


def test_require_nexus_false_spellings(tmp_path):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    for value in ("false", "False", ""):
        r = run_configure(tmp_path, "--index-url", dead, f"--require-nexus={value}")
        assert r.rc == 0 and r.outputs["source"] == "fallback"


def _fault(double: NexusDouble, fault: str) -> None:
    if fault == "offline":
        double.set_online(False)
    elif fault == "remote-unreachable":
        double.remote_unreachable = True
    elif fault == "remote-blocked":
        double.block_remote()
    elif fault == "anonymous-off":
        double.anonymous_enabled = False
    elif fault == "login-page":
        double.login_page = True
    elif fault == "read-only-unreadable":
        double.readable = False


@pytest.mark.parametrize(
    "fault, reason",
    [
        ("offline", "unavailable"),
        ("remote-unreachable", "remote-unreachable"),
        ("remote-blocked", "remote-blocked"),
        ("anonymous-off", "auth"),
        ("login-page", "not-an-index"),
        ("read-only-unreadable", "unavailable"),
        ("unknown-repository", "not-found"),
    ],
)
def test_each_fault_reaches_the_outputs(tmp_path, upstream, fault, reason):
    # a fresh double per fault: nothing cached that could hide it
    with NexusDouble(upstream.base_url + "/") as double:
        _fault(double, fault)
        index = double.index_url("nope" if fault == "unknown-repository" else None)
        r = run_configure(tmp_path, "--index-url", index, "--fallback-index-url", FALLBACK)
    assert r.rc == 0, r.err
    assert r.outputs["source"] == "fallback"
    assert r.outputs["reason"] == reason
    assert f"| {reason} |" in r.summary


def test_timeout_reason_with_a_listener_that_never_answers(tmp_path):
    with HangingListener() as hanging:
        index = f"http://127.0.0.1:{hanging.port}/repository/pypi-proxy/simple/"
        r = run_configure(tmp_path, "--index-url", index, "--timeout", "0.5")
    assert r.rc == 0, r.err
    assert (r.outputs["source"], r.outputs["reason"]) == ("fallback", "timeout")


# --- precedence --------------------------------------------------------------------------


def _candidates(run: Run) -> list[str]:
    return [c["url"] for c in json.loads(run.out)["candidates"]]


def test_precedence_of_inputs_and_environment(tmp_path):
    a, b, c, d = (f"{closed_url()}/{x}" for x in "abcd")
    env = base_env(
        tmp_path, PIPNEXUS_INDEX_URL=f"{c}/repository/r/simple/ {c}/two/",
        PIPNEXUS_NEXUS_URL=d, PIPNEXUS_REPOSITORY="envrepo",
    )

    def candidates(*args: str, environ: Mapping[str, str] = env) -> list[str]:
        r = run_configure(tmp_path, "--format", "json", *args, env=environ, github=False)
        assert r.rc == 0, r.err
        return _candidates(r)

    assert candidates("--index-url", f"{a}/simple/", "--nexus-url", b) == [f"{a}/simple/"]
    assert candidates("--index-url", "", "--nexus-url", b, "--repository", "") == [
        f"{b}/repository/pypi-proxy/simple/"
    ]
    assert candidates("--nexus-url", b, "--repository", "mine") == [
        f"{b}/repository/mine/simple/"
    ]
    assert candidates() == [f"{c}/repository/r/simple/", f"{c}/two/"]
    no_list = {k: v for k, v in env.items() if k != "PIPNEXUS_INDEX_URL"}
    assert candidates(environ=no_list) == [f"{d}/repository/envrepo/simple/"]
    bare = {k: v for k, v in no_list.items() if not k.startswith("PIPNEXUS_")}
    r = run_configure(tmp_path, "--format", "json", env=bare, github=False)
    assert r.rc == 0 and json.loads(r.out)["reason"] == "not-configured"


def test_json_decision_shape(tmp_path, nexus):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(
        tmp_path, "--format", "json", "--index-url", dead, "--index-url", nexus.index_url(),
        github=False,
    )
    assert r.rc == 0
    decision = json.loads(r.out)
    assert list(decision) == [
        "source", "index_url", "trusted_host", "reason", "latency_ms", "candidates",
        "python_mirror", "diagnostics",
    ]
    assert decision["source"] == "nexus" and decision["trusted_host"] == "127.0.0.1"
    assert [list(c) for c in decision["candidates"]] == [
        ["url", "healthy", "reason", "detail", "latency_ms"]
    ] * 2
    assert [c["healthy"] for c in decision["candidates"]] == [False, True]


def test_shell_format_is_evaluable(tmp_path, nexus):
    r = run_configure(tmp_path, "--format", "shell", "--index-url", nexus.index_url(),
                      github=False)
    assert r.rc == 0
    script = r.out + '\nprintf "%s|%s" "$PIP_INDEX_URL" "$PIP_TRUSTED_HOST"'
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert shown.stdout == f"{nexus.index_url()}|127.0.0.1"


def test_dotenv_format(tmp_path, nexus):
    r = run_configure(tmp_path, "--format", "dotenv", "--index-url", nexus.index_url(),
                      github=False)
    lines = dict(line.split("=", 1) for line in r.out.splitlines())
    assert set(lines) == INSTALLER_VARS and lines["UV_DEFAULT_INDEX"] == nexus.index_url()


def test_auto_format(tmp_path, nexus):
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--format", "auto")
    assert "export " not in r.out
    assert r.outputs["source"] == "nexus" and "PIP_INDEX_URL" in r.env_dict
    outside = run_configure(tmp_path, "--index-url", nexus.index_url(), github=False)
    assert "export PIP_INDEX_URL=" in outside.out


# --- secrets -----------------------------------------------------------------------------


def secret_forms(secret: str, user: str = "ci") -> list[str]:
    return [
        secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
        base64.b64encode(f"{user}:{secret}".encode()).decode(),
    ]


def assert_no_secret(text: str, secret: str, where: str) -> None:
    for form in secret_forms(secret):
        assert form not in text, f"{where} contains {form!r}"


def _without_masks(out: str) -> str:
    lines = out.splitlines()
    masks = [i for i, line in enumerate(lines) if line.startswith("::add-mask::")]
    # every mask comes before anything else is printed
    assert masks == list(range(len(masks)))
    return "\n".join(lines[len(masks):])


@pytest.fixture
def private_nexus(upstream: Upstream) -> Iterator[NexusDouble]:
    with NexusDouble(upstream.base_url + "/") as double:
        double.anonymous_enabled = False
        double.users = {"ci": PASSWORD}
        yield double


@pytest.mark.parametrize("how", ["password-env", "url", "pipnexus-env"])
def test_password_never_leaks(tmp_path, private_nexus, how):
    index = private_nexus.index_url()
    env = base_env(tmp_path)
    args = ["--fallback-index-url", FALLBACK]
    if how == "password-env":
        env["NEXUS_SECRET"] = PASSWORD
        args += ["--index-url", index, "--username", "ci", "--password-env", "NEXUS_SECRET"]
    elif how == "url":
        args += ["--index-url", index.replace("http://", f"http://ci:{quote(PASSWORD, safe='')}@")]
    else:
        env.update(PIPNEXUS_USERNAME="ci", PIPNEXUS_PASSWORD=PASSWORD, PIPNEXUS_INDEX_URL=index)
    r = run_configure(tmp_path, *args, env=env)
    assert r.rc == 0, r.err
    assert r.outputs["source"] == "nexus", r.summary
    masks = [line for line in r.out.splitlines() if line.startswith("::add-mask::")]
    assert f"::add-mask::{gha.escape_data(PASSWORD)}" in masks
    rest = _without_masks(r.out)
    for text, where in ((rest, "stdout"), (r.err, "stderr"), (r.summary, "summary"),
                        (json.dumps(r.outputs), "outputs")):
        assert_no_secret(text, PASSWORD, where)
    # the installers get the credentials, URL-encoded, in GITHUB_ENV only
    credentialed = index.replace("http://", f"http://ci:{quote(PASSWORD, safe='')}@")
    assert r.env_dict["PIP_INDEX_URL"] == credentialed
    assert f"::add-mask::{gha.escape_data(credentialed)}" in masks
    assert r.outputs["index-url"] == index.replace("http://", "http://ci:***@")
    as_json = run_configure(tmp_path, *args, "--format", "json", env=env, github=False)
    assert_no_secret(as_json.out, PASSWORD, "json")
    assert_no_secret(as_json.err, PASSWORD, "json stderr")


def test_password_not_in_errors(tmp_path):
    env = base_env(tmp_path, NEXUS_SECRET=PASSWORD)
    bad = f"ftp://ci:{quote(PASSWORD, safe='')}@host/simple/"
    r = run_configure(tmp_path, "--index-url", bad, "--password-env", "NEXUS_SECRET", env=env)
    assert r.rc == 2
    assert r.env == [] and r.outputs == {}
    rest = _without_masks(r.out)
    assert "::error" in rest
    for text in (rest, r.err):
        assert_no_secret(text, PASSWORD, "error output")


def test_wrong_password_is_auth(tmp_path, private_nexus):
    env = base_env(tmp_path, NEXUS_SECRET="wrong")
    r = run_configure(
        tmp_path, "--index-url", private_nexus.index_url(), "--username", "ci",
        "--password-env", "NEXUS_SECRET", "--fallback-index-url", FALLBACK, env=env,
    )
    assert (r.outputs["source"], r.outputs["reason"]) == ("fallback", "auth")


# --- hostile input -----------------------------------------------------------------------


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


# --- pip config --------------------------------------------------------------------------


def test_pip_conf_user_merges_existing_keys(tmp_path, nexus):
    env = base_env(tmp_path)
    conf = Path(env["HOME"]) / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(
        "[global]\nbreak-system-packages = true\ntimeout = 60\n"
        "[install]\nindex-url = http://old.example/simple\nno-warn-script-location = 1\n"
    )
    conf.chmod(0o640)
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--pip-conf", "user", env=env)
    assert r.rc == 0, r.err
    import configparser

    parser = configparser.RawConfigParser()
    parser.read(conf)
    assert parser.get("global", "break-system-packages") == "true"
    assert parser.get("global", "timeout") == "60"
    assert parser.get("global", "index-url") == nexus.index_url()
    assert parser.get("global", "trusted-host") == "127.0.0.1"
    assert parser.get("install", "index-url") == nexus.index_url()
    assert parser.get("install", "no-warn-script-location") == "1"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640
    assert "PIP_CONFIG_FILE" not in r.env_dict


def test_pip_conf_file_seeds_from_user_and_sets_pip_config_file(tmp_path, nexus):
    env = base_env(tmp_path)
    user = Path(env["HOME"]) / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text("[global]\nbreak-system-packages = true\n")
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--pip-conf", "file", env=env)
    assert r.rc == 0, r.err
    path = Path(r.env_dict["PIP_CONFIG_FILE"])
    assert path.parent.parent == Path(env["RUNNER_TEMP"])
    text = path.read_text()
    assert "break-system-packages = true" in text and nexus.index_url() in text
    assert user.read_text() == "[global]\nbreak-system-packages = true\n"


def test_pip_conf_with_credentials_is_private(tmp_path, private_nexus):
    env = base_env(tmp_path, NEXUS_SECRET=PASSWORD)
    target = tmp_path / "conf" / "pip.conf"
    target.parent.mkdir()
    target.write_text("[global]\nbreak-system-packages = true\n")
    target.chmod(0o644)
    r = run_configure(
        tmp_path, "--index-url", private_nexus.index_url(), "--username", "ci",
        "--password-env", "NEXUS_SECRET", "--pip-conf", "global", "--pip-conf-path",
        str(target), env=env,
    )
    assert r.rc == 0, r.err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert quote(PASSWORD, safe="") in target.read_text()
    assert "break-system-packages = true" in target.read_text()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_pip_conf_global_not_writable_is_clear(tmp_path, nexus):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--pip-conf", "global",
                      "--pip-conf-path", str(locked / "pip.conf"))
    assert r.rc == 2 and "permission denied" in r.err
    assert r.env == []


def test_merge_pip_conf_rejects_garbage():
    with pytest.raises(InputError):
        pipconf.merge_pip_conf("no section header\n", "http://x/simple", None, None)


# --- CA ----------------------------------------------------------------------------------


def test_ca_bundle_combines_system_and_private_ca(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nPRIVATE\n-----END CERTIFICATE-----\n")
    path, warnings = ca_bundle.write_ca_bundle(str(ca), str(tmp_path))
    data = Path(path).read_text()
    assert data.endswith(ca.read_text())
    system = ca_bundle.system_ca_file()
    if system:
        assert data.startswith(Path(system).read_text().rstrip("\n")) and not warnings
    env = installers.installer_env("https://n/simple/", None, path)
    assert env["PIP_CERT"] == env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == path
    assert env["PIP_TRUSTED_HOST"] == "" and env["PDM_PYPI_VERIFY_SSL"] == "true"


# --- warnings about what bypasses the proxy ----------------------------------------------


def test_bypass_warnings_point_at_file_and_line(tmp_path, nexus):
    env = base_env(tmp_path)
    ws = Path(env["GITHUB_WORKSPACE"])
    (ws / "requirements.txt").write_text("# deps\nrequests\n-i https://pypi.org/simple\n")
    (ws / "sub").mkdir()
    (ws / "sub" / "dev-requirements.txt").write_text("--extra-index-url=https://x/simple\n")
    (ws / "uv.lock").write_text("version = 1\n")
    (ws / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.poetry]\nname = 'x'\n")
    (ws / "requirements.in").write_text("requests\n")
    (ws / "node_modules").mkdir()
    (ws / "node_modules" / "requirements.txt").write_text("-i http://ignored/\n")
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    joined = "\n".join(warnings)
    assert "file=requirements.txt,line=3," in joined
    assert "file=sub/dev-requirements.txt,line=1," in joined
    assert "file=uv.lock,line=1," in joined and "uv export --frozen" in joined
    assert "file=pyproject.toml,line=4," in joined and "poetry-plugin-pypi-mirror" in joined
    assert "file=requirements.in,line=1," in joined and "no-emit-index-url" in joined
    assert "ignored" not in joined and "node_modules" not in joined
    assert len(warnings) == 5
    for code in ("requirements-index", "uv-lock-urls", "poetry-mirror-plugin",
                 "pip-compile-emits-index"):
        assert f"title=pipnexus [{code}]::" in joined
    assert "Warnings:" in r.summary

    quiet = run_configure(tmp_path, "--index-url", nexus.index_url(), "--no-warnings", env=env)
    assert "::warning" not in quiet.out


def test_pip_tools_config_and_mirror_plugin_silence_warnings(tmp_path, nexus):
    env = base_env(tmp_path)
    ws = Path(env["GITHUB_WORKSPACE"])
    (ws / "requirements.in").write_text("requests\n")
    (ws / "pyproject.toml").write_text(
        "[tool.poetry]\nname = 'x'\n[tool.poetry.requires-plugins]\n"
        "poetry-plugin-pypi-mirror = '>=0.6'\n[tool.pip-tools]\nemit-index-url = false\n"
    )
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    assert "::warning" not in r.out, r.out


def test_project_dir_option(tmp_path, nexus):
    project = tmp_path / "elsewhere"
    project.mkdir()
    (project / "uv.lock").write_text("")
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--project-dir", str(project),
                      "--format", "shell", github=False)
    assert "uv.lock" in r.err and r.rc == 0
    # the one diagnostic format: path:line: severity: message [code]
    (line,) = [x for x in r.err.splitlines() if "uv.lock" in x]
    assert line.startswith(f"{project}/uv.lock:1: warning: ") and line.endswith(" [uv-lock-urls]")


def test_json_lists_the_diagnostics_with_the_same_fields(tmp_path, nexus):
    project = tmp_path / "elsewhere"
    project.mkdir()
    (project / "uv.lock").write_text("")
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(tmp_path, "--index-url", dead, "--project-dir", str(project),
                      "--python-mirror", "false", "--format", "json", github=False)
    assert r.rc == 0, r.err
    diagnostics = json.loads(r.out)["diagnostics"]
    assert [(d["code"], d["severity"]) for d in diagnostics] == [
        ("uv-lock-urls", "warning"), ("fallback", "warning")
    ]
    assert diagnostics[0] == {
        "path": str(project / "uv.lock"), "line": 1, "col": None, "severity": "warning",
        "code": "uv-lock-urls", "message": diagnostics[0]["message"],
    }
    assert diagnostics[1]["path"] is None and "refused" in diagnostics[1]["message"]
    # stderr carries the same diagnostics as text lines
    assert r.err.splitlines()[-1].startswith("warning: Nexus is unhealthy (")
    assert r.err.splitlines()[-1].endswith(" [fallback]")
    none = run_configure(tmp_path, "--index-url", dead, "--require-nexus", "--no-warnings",
                         "--python-mirror", "false", "--format", "json", github=False)
    assert none.rc == 1
    assert [d["code"] for d in json.loads(none.out)["diagnostics"]] == ["no-healthy-index"]


def test_every_code_configure_uses_is_listed():
    from pipnexus.diagnostics import CODES

    used = {"requirements-index", "uv-lock-urls", "poetry-mirror-plugin",
            "pip-compile-emits-index", "env-extra-source", "pip-conf-extra-source",
            "no-system-ca", "fallback", "no-healthy-index"}
    assert used <= set(CODES)
    sources = "".join(
        (ROOT / "pipnexus" / "configure" / name).read_text() for name in
        ("scan.py", "ca.py", "main.py")
    )
    for code in used:
        assert f'"{code}"' in sources, code


def test_installer_table_has_a_public_doc_for_each_row():
    names = [v.name for v in installers.VARIABLES]
    assert len(names) == len(set(names))
    assert list(installers.installer_env("https://n/simple/", None, "/ca.pem")) == names
    assert list(installers.installer_env("http://n/simple/", "n", None)) == [
        v.name for v in installers.VARIABLES if v.value != installers.CA_BUNDLE
    ]
    for row in (*installers.VARIABLES, *installers.EXTRA_SOURCES):
        assert row.doc.startswith("https://") and row.installer, row


# --- interpreters ------------------------------------------------------------------------


@pytest.mark.parametrize("python", action_pythons())
def test_runs_under_each_supported_python_without_site(tmp_path, nexus, python):
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), python=python)
    assert r.rc == 0, r.err
    assert r.outputs["source"] == "nexus"


def test_github_format_needs_github_env(tmp_path, nexus):
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--format", "github",
                      github=False)
    assert r.rc == 2 and "GITHUB_ENV" in r.err


def test_arc_example_values_resolve_to_the_nexus_index():
    import yaml

    from pipnexus import probe

    values = yaml.safe_load((ROOT / "examples" / "arc" / "values.yaml").read_text())
    (runner,) = values["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in runner["env"] if "value" in e}
    assert set(env) == {"PIPNEXUS_NEXUS_URL", "PIPNEXUS_REPOSITORY"}
    targets = probe.resolve_candidates([], None, None, env).targets
    assert [t.index.text for t in targets] == [
        "http://nexus3.nexus.svc.cluster.local:8081/repository/pypi-proxy/simple/"
    ]


# --- the remaining reason codes, from purpose-made servers ------------------------------


@pytest.mark.parametrize(
    "script, reason",
    [
        (probe_helpers.answer(302, "Found", headers=[("Location", "http://elsewhere.invalid/")]),
         "redirect"),
        (probe_helpers.answer(500, "Server Error"), "bad-response"),
    ],
)
def test_more_reasons_reach_the_outputs(tmp_path, script, reason):
    with probe_helpers.RawServer(script) as server:
        r = run_configure(tmp_path, "--index-url", server.url(), "--fallback-index-url", FALLBACK)
    assert (r.outputs["source"], r.outputs["reason"]) == ("fallback", reason)


def test_https_nexus_with_private_ca(tmp_path):
    cert = probe_helpers.self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("openssl CLI not available")
    page = probe_helpers.response(200, "OK", probe_helpers.PIP_PAGE)
    script = probe_helpers.routes({"/repository/pypi-proxy/simple/pip/": page})
    with probe_helpers.RawServer(script, tls=probe_helpers.server_context(cert)) as server:
        index = server.url()
        untrusted = run_configure(tmp_path, "--index-url", index, "--fallback-index-url", FALLBACK)
        trusted = run_configure(tmp_path, "--index-url", index, "--ca-cert", str(cert.cert))
    assert (untrusted.outputs["source"], untrusted.outputs["reason"]) == ("fallback", "tls")
    assert "PIP_CERT" not in untrusted.env_dict

    assert trusted.rc == 0, trusted.err
    assert trusted.outputs["source"] == "nexus"
    env = trusted.env_dict
    assert env["PIP_INDEX_URL"] == index
    assert env["PIP_TRUSTED_HOST"] == "" and env["PDM_PYPI_VERIFY_SSL"] == "true"
    bundle = env["PIP_CERT"]
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == bundle
    assert Path(bundle).read_text().endswith(cert.cert.read_text())
    assert Path(bundle).parent.parent == tmp_path / "runner-temp"


def test_huge_hostile_values_are_handled_quickly(tmp_path, nexus):
    # one environment string is at most 128 KiB on Linux; a quadratic scan would take minutes
    huge = "http://x/" + "a" * 120_000
    env = base_env(tmp_path, PIP_EXTRA_INDEX_URL=huge, PIPNEXUS_PASSWORD="p" * 120_000)
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    assert r.rc == 0, r.err  # (the double refuses the giant Authorization header: fallback)
    too_long = run_configure(tmp_path, env=base_env(tmp_path, PIPNEXUS_INDEX_URL=huge))
    assert too_long.rc == 2 and "too long" in too_long.err


def test_summary_keeps_server_text_inert():
    from pipnexus.probe import Result

    hostile = "x | y\n[click](http://evil.example) <img src=x> *bold*"
    from pipnexus.urls import parse_url

    decision = decide.Decision(
        "fallback", parse_url(FALLBACK), "bad-response", 5,
        [Result("http://h/simple/", False, "bad-response", hostile, 5)], False,
    )
    report = Report(decision, FALLBACK, {}, {"PIP_INDEX_URL": FALLBACK}, {}, [], [],
                    None, None)
    text = summary.summary_markdown(report)
    row = next(line for line in text.splitlines() if line.startswith("| `http://h"))
    assert row.count(" | ") == 4  # still five cells
    assert "[click]" not in row and "<img" not in row and "*bold*" not in row
    assert "\\[click\\]" in row and "&lt;img" in row


def test_pip_conf_unwritable_path_is_one_clear_line(tmp_path, nexus):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--pip-conf", "global",
                      "--pip-conf-path", str(blocker / "pip.conf"))
    assert r.rc == 2 and r.env == [] and r.outputs == {}
    (line,) = r.err.strip().splitlines()
    assert line.startswith("pipnexus configure: error: can't write the pip config ")
    assert line.endswith(("File exists", "Not a directory"))


def test_file_names_with_line_breaks_cannot_start_commands(tmp_path, nexus):
    project = tmp_path / "proj"
    odd = project / "x\n::error::injected"
    odd.mkdir(parents=True)
    (odd / "uv.lock").write_text("")
    for fmt, github in (("github", True), ("shell", False)):
        r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--format", fmt,
                          "--project-dir", str(project), github=github)
        assert r.rc == 0
        for line in (r.out + r.err).splitlines():
            assert not line.startswith("::error"), line
        assert "uv.lock" in r.out + r.err


# --- extra sources that bypass the proxy: cleared when public PyPI, else warned ----------

PUBLIC_SOURCES = {
    "PIP_EXTRA_INDEX_URL": "https://pypi.org/simple",
    "PIP_FIND_LINKS": "https://files.pythonhosted.org/packages/ https://PyPI.org./simple/x/",
    "UV_INDEX": "pypi=https://pypi.org/simple http://pypi.python.org/simple",
    "UV_EXTRA_INDEX_URL": "https://www.pypi.org/simple",
    "UV_FIND_LINKS": "https://pypi.org/a/,https://pypi.org:443/b/",
}


@pytest.mark.parametrize(("value", "public"), [
    ("https://pypi.org/simple", True),
    ("http://PYPI.ORG/simple/", True),
    ("pypi=https://pypi.org/simple", True),
    ("https://pypi.org/simple  https://files.pythonhosted.org/packages/", True),
    ("https://pypi.org/a,https://www.pypi.org/b", True),
    ("https://user:tok@pypi.python.org:443/simple", True),
    ("https://pypi.org/simple https://private.example/simple", False),
    ("https://pypi.org.evil.example/simple", False),
    ("https://notpypi.org/simple", False),
    ("/opt/wheels", False),
    ("./pypi.org/wheels", False),
    ("file:///opt/pypi/simple", False),
    ("http://[::1/simple", False),
    ("", False),
    ("   ", False),
])
def test_is_public_pypi(value, public):
    assert installers.is_public_pypi(value) is public


def test_public_extra_sources_are_cleared_with_one_line_each(tmp_path, nexus):
    r = run_configure(tmp_path, "--index-url", nexus.index_url(),
                      env=base_env(tmp_path, **PUBLIC_SOURCES))
    assert r.rc == 0, r.err
    got = r.env_dict
    assert {name: got[name] for name in PUBLIC_SOURCES} == dict.fromkeys(PUBLIC_SOURCES, "")
    assert got["PIP_INDEX_URL"] == nexus.index_url()
    assert "::warning" not in r.out
    notes = [line for line in r.out.splitlines() if "names only public PyPI" in line]
    assert len(notes) == len(PUBLIC_SOURCES)
    assert all("set to empty, so installers fetch from the Nexus proxy alone" in n for n in notes)
    for name in PUBLIC_SOURCES:
        row = next(line for line in r.summary.splitlines() if line.startswith(f"| `{name}` |"))
        assert "empty (cleared: was `" in row and "only public PyPI" in row


def test_public_extra_sources_are_cleared_on_fallback_too(tmp_path):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    env = base_env(tmp_path, UV_INDEX="https://pypi.org/simple")
    r = run_configure(tmp_path, "--index-url", dead, env=env)
    assert r.outputs["source"] == "fallback"
    assert r.env_dict["UV_INDEX"] == "" and "the fallback index alone" in r.out
    none = run_configure(tmp_path, "--index-url", dead, "--require-nexus", env=env)
    assert none.rc == 1 and none.env == []
    assert "UV_INDEX=https://pypi.org/simple is set" in none.out  # nothing set: warned


def test_cleared_sources_in_shell_and_dotenv(tmp_path, nexus):
    env = base_env(tmp_path, **PUBLIC_SOURCES)
    shell = run_configure(tmp_path, "--format", "shell", "--index-url", nexus.index_url(),
                          env=env, github=False)
    assert shell.rc == 0
    script = shell.out + "\n" + "".join(
        f'printf "%s=%s|" {name} "${{{name}-unset}}"\n' for name in PUBLIC_SOURCES
    )
    env_shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                               timeout=30, env={**env, "PATH": os.environ["PATH"]})
    assert env_shown.stdout == "".join(f"{name}=|" for name in PUBLIC_SOURCES)
    assert "names only public PyPI" in shell.err and "warning" not in shell.err
    dotenv = run_configure(tmp_path, "--format", "dotenv", "--index-url", nexus.index_url(),
                           env=env, github=False)
    lines = dict(line.split("=", 1) for line in dotenv.out.splitlines())
    assert {name: lines[name] for name in PUBLIC_SOURCES} == dict.fromkeys(PUBLIC_SOURCES, "")


def test_other_extra_sources_are_kept_with_advice(tmp_path, nexus):
    kept = {
        "PIP_EXTRA_INDEX_URL": "https://ci:s3cret-tok@private.example/simple",
        "PIP_FIND_LINKS": "/opt/wheels",
        "UV_INDEX": "pypi=https://pypi.org/simple internal=https://private.example/simple",
    }
    r = run_configure(tmp_path, "--index-url", nexus.index_url(),
                      env=base_env(tmp_path, **kept))
    assert r.rc == 0, r.err
    assert not set(kept) & set(r.env_dict)
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 3
    for name, w in zip(kept, warnings):
        assert f"{name}=" in w and "unset it if the job does not need it" in w
    assert "s3cret-tok" not in r.out + r.summary and "ci:***@private.example" in r.out


def _pip_conf(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_pip_config_files_in_pips_order(tmp_path):
    """pip's kinds in its override order (pypa/pip: src/pip/_internal/configuration.py):
    global, user (legacy ~/.pip first), site (sys.prefix/pip.conf), PIP_CONFIG_FILE."""
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": f"{xdg}/a:relative:{xdg}/b"}
    user = [str(home / ".pip/pip.conf"), str(home / ".config/pip/pip.conf")]
    system = [f"{xdg}/a/pip/pip.conf", f"{xdg}/b/pip/pip.conf", "/etc/pip.conf"]
    site = [os.path.join(sys.prefix, "pip.conf")]
    assert pipconf.pip_config_files(env) == system + user + site
    assert [g.kind for g in pipconf.config_files(env)] == list(pipconf.OVERRIDE_ORDER[:-1])
    venv = {**env, "VIRTUAL_ENV": str(tmp_path / "venv"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    assert pipconf.pip_config_files(venv) == [
        *system, user[0], str(tmp_path / "c/pip/pip.conf"), str(tmp_path / "venv/pip.conf")
    ]
    assert pipconf.pip_config_files({"HOME": str(home)})[0] == "/etc/xdg/pip/pip.conf"
    # PIP_CONFIG_FILE: read last; an existing one hides the user files; /dev/null disables all
    missing = str(tmp_path / "missing.conf")
    assert pipconf.pip_config_files({**env, "PIP_CONFIG_FILE": missing}) == [
        *system, *user, *site, missing
    ]
    existing = str(_pip_conf(tmp_path / "env.conf", "[global]\n"))
    assert pipconf.pip_config_files({**env, "PIP_CONFIG_FILE": existing}) == [
        *system, *site, existing
    ]
    assert pipconf.pip_config_files({**env, "PIP_CONFIG_FILE": os.devnull}) == []


def test_pip_conf_sources_last_file_wins_and_broken_files_are_ignored(tmp_path):
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    first = _pip_conf(xdg / "a/pip/pip.conf", (
        "# image defaults\n[global]\ntimeout = 60\nextra-index-url = https://pypi.org/simple\n"
        "[install]\n; comment\nfind_links =\n    https://pypi.org/a/\n    https://pypi.org/b/\n"
        "[freeze]\nfind-links = /ignored\n"
    ))
    second = _pip_conf(xdg / "b/pip/pip.conf", "[global]\nEXTRA_INDEX_URL = http://private/\n")
    _pip_conf(home / ".pip/pip.conf", "no section header = 1\n")  # pip would refuse it
    _pip_conf(home / ".config/pip/pip.conf", b"\xff\xfe[global\x00]\n".decode("latin-1"))
    (tmp_path / "venv/pip.conf").mkdir(parents=True)  # a directory: unreadable
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": f"{xdg}/a:{xdg}/b",
           "VIRTUAL_ENV": str(tmp_path / "venv")}
    assert pipconf.pip_conf_sources(env) == [
        pipconf.PipConfSource(
            str(second), 2, "global", "extra-index-url", "http://private/"),
        pipconf.PipConfSource(
            str(first), 7, "install", "find-links", "https://pypi.org/a/\nhttps://pypi.org/b/"),
    ]
    # an empty value in a later file means "none"
    _pip_conf(tmp_path / "env.conf", "[install]\n--find-links=\n[global]\nextra-index-url:\n")
    assert pipconf.pip_conf_sources({**env, "PIP_CONFIG_FILE": str(tmp_path / "env.conf")}) \
        == []


def test_pip_conf_sources_are_warned_with_file_and_line(tmp_path, nexus):
    xdg = tmp_path / "xdg"
    conf = _pip_conf(xdg / "pip/pip.conf", (
        "[global]\ntimeout = 60\nextra-index-url = https://pypi.org/simple\n"
        "[download]\nfind-links = https://ci:hunter2@wheels.example/\n"
    ))
    env = base_env(tmp_path, XDG_CONFIG_DIRS=str(xdg))
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    assert r.rc == 0, r.err
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 2
    assert warnings[0].startswith(f"::warning file={conf},line=3,")
    assert "[global] extra-index-url = https://pypi.org/simple" in warnings[0]
    assert "pip-conf: file does" in warnings[0]
    assert warnings[1].startswith(f"::warning file={conf},line=5,")
    assert "ci:***@wheels.example" in warnings[1] and "hunter2" not in r.out + r.summary
    assert "serve it through Nexus too" in warnings[1]
    quiet = run_configure(tmp_path, "--index-url", nexus.index_url(), "--no-warnings", env=env)
    assert "::warning" not in quiet.out
    off = run_configure(tmp_path, "--index-url", nexus.index_url(),
                        env={**env, "PIP_CONFIG_FILE": os.devnull})
    assert "::warning" not in off.out


def test_merge_pip_conf_writes_cleared_keys_empty():
    existing = "[install]\nextra_index_url = https://pypi.org/simple\nno-compile = 1\n"
    text = pipconf.merge_pip_conf(
        existing, "http://n/simple", None, None,
        [("install", "extra-index-url"), ("download", "find-links")],
    )
    assert text == (
        "[install]\nno-compile = 1\nextra-index-url =\n\n"
        "[global]\nindex-url = http://n/simple\n\n[download]\nfind-links =\n"
    )


def _pip_download(tmp_path: Path, env: Mapping[str, str], nexus: NexusDouble) -> int:
    """Run real pip with ``env`` against the double; the number of connections that tried to
    leave (HTTPS_PROXY -> a counting listener that refuses them)."""
    from testbed.proxies import DeadProxy, proxy_env

    with DeadProxy() as proxy:
        full = {**env, **proxy_env(proxy, []), "PIP_RETRIES": "0",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
        before = nexus.count("/repository/")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d",
             str(tmp_path / "dl"), "pipnexus-demo-pkg"],
            env=full, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert nexus.count("/repository/") > before
        return proxy.count()


@pytest.mark.installers
def test_pip_conf_modes_override_public_pip_config_as_real_pip_sees_it(tmp_path, nexus):
    """The claims configure makes (overridden / still in effect) match what pip 26 does."""
    xdg = tmp_path / "xdg"
    conf = _pip_conf(xdg / "pip/pip.conf", (
        "[global]\nextra-index-url = https://pypi.org/simple\n"
        "[download]\nfind-links = https://files.pythonhosted.org/packages/\n"
    ))
    env = base_env(tmp_path, XDG_CONFIG_DIRS=str(xdg))

    def configured(*args: str, **extra: str) -> tuple[Run, dict[str, str]]:
        (tmp_path / "home" / ".config").mkdir(exist_ok=True)
        (tmp_path / "home" / ".config" / "pip" / "pip.conf").unlink(missing_ok=True)
        full = {**env, **extra}
        r = run_configure(tmp_path, "--index-url", nexus.index_url(), *args, env=full)
        assert r.rc == 0, r.err
        return r, {**full, **r.env_dict}

    # none: warned, and pip does follow the file (the control)
    r, after = configured()
    assert r.out.count("::warning") == 2
    assert _pip_download(tmp_path, after, nexus) > 0

    # user: ~/.config/pip/pip.conf is read after the global file: it wins
    r, after = configured("--pip-conf", "user")
    assert "::warning" not in r.out
    assert f"pipnexus: {conf}:2: [global] extra-index-url" in r.out
    assert f"{conf}:4: [download] find-links" in r.out and r.out.count("overridden by") == 2
    assert _pip_download(tmp_path, after, nexus) == 0

    # user, but an existing PIP_CONFIG_FILE makes pip skip the user file: still in effect
    other = _pip_conf(tmp_path / "other.conf", "[global]\ntimeout = 30\n")
    r, after = configured("--pip-conf", "user", PIP_CONFIG_FILE=str(other))
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 2 and all("pip-conf: file does" in w for w in warnings)
    assert _pip_download(tmp_path, after, nexus) > 0

    # file: PIP_CONFIG_FILE is read last
    r, after = configured("--pip-conf", "file", PIP_CONFIG_FILE=str(other))
    assert "::warning" not in r.out and r.out.count("overridden by") == 2
    written = Path(after["PIP_CONFIG_FILE"]).read_text()
    assert "extra-index-url =\n" in written and "timeout = 30" in written
    assert _pip_download(tmp_path, after, nexus) == 0


# --- action.yml's step script, run by bash as the runner runs it -------------------------


def _action_step(tmp_path: Path, inputs: Mapping[str, str], nexus_index: str) -> Run:
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    (step,) = action["runs"]["steps"]
    env = base_env(tmp_path, GITHUB_ACTION_PATH=str(ROOT), GITHUB_ACTIONS="true")
    for name, spec in action["inputs"].items():
        env["PIPNEXUS_INPUT_" + name.upper().replace("-", "_")] = inputs.get(
            name, str(spec.get("default", ""))
        )
    env["PIPNEXUS_INPUT_INDEX_URL"] = nexus_index
    files = {}
    for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        files[name] = tmp_path / name.lower()
        files[name].write_text("")
        env[name] = str(files[name])
    # the runner's bash: bash --noprofile --norc -eo pipefail {0}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    return Run(proc.returncode, proc.stdout, proc.stderr,
               runner_parse(files["GITHUB_ENV"].read_text()),
               dict(runner_parse(files["GITHUB_OUTPUT"].read_text())),
               files["GITHUB_STEP_SUMMARY"].read_text())


def test_action_step_passes_password_env_only_with_a_password(tmp_path, nexus, private_nexus):
    # no password input: --password-env is not passed (it would name an empty variable)
    r = _action_step(tmp_path, {}, nexus.index_url())
    assert r.rc == 0, r.err + r.out
    assert r.outputs["source"] == "nexus"
    # a password input reaches the probe through --password-env
    r = _action_step(tmp_path, {"username": "ci", "password": PASSWORD}, private_nexus.index_url())
    assert r.rc == 0, r.err + r.out
    assert r.outputs["source"] == "nexus", r.summary
    assert_no_secret(_without_masks(r.out) + r.err + r.summary, PASSWORD, "action output")


def test_configure_loads_no_other_command(tmp_path, nexus):
    """cli imports only the module of the command that runs (start-up of the action)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main\n"
        "rc = main(sys.argv[2:])\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('pipnexus'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(ROOT), "configure", "--format", "json",
         "--no-warnings", "--index-url", nexus.index_url()],
        env=base_env(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.splitlines()[-1].split()
    assert "pipnexus.configure" in loaded and "pipnexus.probe" in loaded
    assert not [m for m in loaded if m.startswith(("pipnexus.migrate", "pipnexus.nexus",
                                                   "pipnexus.demo", "pipnexus.probe.cli"))], loaded
    # json configures nothing: no CA bundle, no pip config, no summary
    assert not {"pipnexus.configure.ca", "pipnexus.configure.summary"} & set(loaded)
    # --no-warnings: the bypass scan is not even loaded
    assert "pipnexus.configure.scan" not in loaded


# What the action's command must not import: other commands' code, and standard-library
# modules beyond what it needs (start-up: bench/configure_bench.py). html.parser: pages are
# read with a regex (probe/page.py); shutil: argparse's formatter asks it for the terminal
# width (options.Parser computes it); encodings.idna: getaddrinfo with a str host
# (probe/transport.py passes bytes); typing: NamedTuple comes from pipnexus._nt at run time.
ACTION_MUST_NOT_IMPORT = (
    "pipnexus.migrate", "pipnexus.nexus", "pipnexus.demo", "pipnexus.probe.cli",
    "html", "shutil", "encodings.idna", "unicodedata", "typing",
)


def test_action_command_imports_only_what_it_needs(tmp_path, nexus):
    """The action's command (action.yml: configure --format github, the runner's files,
    warnings on) against a healthy Nexus imports none of ACTION_MUST_NOT_IMPORT."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main\n"
        "rc = main(sys.argv[2:])\n"
        "print(rc, ' '.join(sorted(sys.modules)))\n"
    )
    files = {name: tmp_path / name.lower() for name in
             ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.write_text("")
    env = base_env(tmp_path, GITHUB_ACTIONS="true", **{k: str(v) for k, v in files.items()})
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(ROOT), "configure", "--format", "github",
         "--index-url", nexus.index_url()],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rc, *loaded = proc.stdout.splitlines()[-1].split()
    assert rc == "0"
    assert "pipnexus.configure.scan" in loaded  # warnings on: the scan ran
    assert "pipnexus.configure.summary" in loaded  # the step summary was written
    assert "PIP_INDEX_URL=" in files["GITHUB_ENV"].read_text()
    unwanted = [m for m in loaded
                if m in ACTION_MUST_NOT_IMPORT or m.startswith(tuple(
                    f"{name}." for name in ACTION_MUST_NOT_IMPORT))]
    assert not unwanted, unwanted


def test_https_given_for_a_plain_http_nexus_says_use_http(tmp_path, nexus):
    # the Nexus double speaks plain HTTP only: an https:// URL for it is the classic mix-up
    host = nexus.base_url.split("://", 1)[1]
    r = run_configure(tmp_path, "--nexus-url", f"https://{host}", "--fallback-index-url", FALLBACK)
    assert (r.outputs["source"], r.outputs["reason"]) == ("fallback", "tls")
    (warning,) = [line for line in r.out.splitlines() if "[fallback]" in line]
    assert f"the server speaks plain HTTP: use http://{host}" in warning
    assert "--ca-cert" not in warning and "certificate" not in warning


# --- nothing configured: a GitHub-hosted runner, a laptop ------------------------------------

# what the action passes when the workflow gives no inputs
ACTION_EMPTY_INPUTS = (
    "--index-url=", "--nexus-url=", "--repository=", "--username=", "--ca-cert=",
    "--require-nexus=false", "--pip-conf=user", "--python-mirror=auto",
)


def test_not_configured_changes_nothing_and_says_so_once(tmp_path):
    home = tmp_path / "home"
    env = {**base_env(tmp_path), "HOME": str(home), "PIPNEXUS_INDEX_URL": " "}
    r = run_configure(tmp_path, *ACTION_EMPTY_INPUTS, env=env)
    assert r.rc == 0, r.err
    assert r.env == []  # GITHUB_ENV untouched
    assert r.outputs["source"] == "none" and r.outputs["reason"] == "not-configured"
    assert r.outputs["index-url"] == "" and r.outputs["python-mirror"] == ""
    (line,) = r.out.splitlines()
    assert line.startswith("::notice title=pipnexus [not-configured]::no package index is given")
    assert "nexus-url input" in line and "PIPNEXUS_NEXUS_URL" in line
    assert r.err == ""
    assert not (home / ".config" / "pip").exists()  # no pip config either
    assert "Not configured" in r.summary


def test_not_configured_in_the_other_formats(tmp_path):
    env = base_env(tmp_path)
    shell = run_configure(tmp_path, "--format", "shell", env=env, github=False)
    assert (shell.rc, shell.out) == (0, "")  # nothing to eval
    (note,) = shell.err.splitlines()
    assert note.startswith("note: no package index is given (--index-url or --nexus-url")
    assert note.endswith("[not-configured]")
    dotenv = run_configure(tmp_path, "--format", "dotenv", env=env, github=False)
    assert (dotenv.rc, dotenv.out) == (0, "")
    js = run_configure(tmp_path, "--format", "json", env=env, github=False)
    decision = json.loads(js.out)
    assert (decision["source"], decision["reason"], decision["candidates"]) == (
        "none", "not-configured", []
    )
    assert [d["code"] for d in decision["diagnostics"]] == ["not-configured"]


def test_not_configured_with_require_nexus_fails(tmp_path):
    r = run_configure(tmp_path, "--require-nexus", "true", "--index-url=", "--nexus-url=")
    assert r.rc == 1
    assert r.env == []
    assert (r.outputs["source"], r.outputs["reason"]) == ("none", "not-configured")
    (line,) = r.out.splitlines()
    assert line.startswith("::error title=pipnexus [not-configured]::no package index is given")
    assert "require-nexus is set" in line


def test_configured_is_the_rule_resolve_follows():
    from pipnexus.probe import index_configured

    assert not index_configured([], None, {})
    assert not index_configured([], "", {"PIPNEXUS_INDEX_URL": " ", "PIPNEXUS_NEXUS_URL": ""})
    assert index_configured(["http://h/simple/"], None, {})
    assert index_configured([], "http://h:8081", {})
    assert index_configured([], None, {"PIPNEXUS_NEXUS_URL": "http://h:8081"})
    assert index_configured([], None, {"PIPNEXUS_INDEX_URL": "http://h/simple/"})
    # PIPNEXUS_REPOSITORY alone names no server
    assert not index_configured([], None, {"PIPNEXUS_REPOSITORY": "pip-cache"})
