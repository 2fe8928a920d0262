"""`pipnexus configure` as a whole (pipnexus/configure/main.py), run as the action runs it:
secrets never shown, every Python the action accepts, action.yml's step script, the modules
it loads, and the not-configured case.

Every run is a subprocess ``python3 -I -S`` with the project inserted on sys.path (as
action.yml does), in an environment built from scratch (tests/configure/helpers.py).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from pipnexus import gha
from tests.configure.helpers import FALLBACK, PASSWORD, ROOT, Run, base_env, run_configure
from tests.hardening_helpers import runner_parse
from tests.pythons import action_pythons


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


@pytest.mark.parametrize("python", action_pythons())
def test_runs_under_each_supported_python_without_site(tmp_path, nexus, python):
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), python=python)
    assert r.rc == 0, r.err
    assert r.outputs["source"] == "nexus"


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
# (probe/transport.py passes bytes); typing: NamedTuple comes from pipnexus._nt at run time;
# importlib: cli.py loads the command's module with __import__; contextlib: the standard library
# does not load it on 3.9-3.12 for the action (3.13's configparser does).
ACTION_MUST_NOT_IMPORT = (
    "pipnexus.migrate", "pipnexus.nexus", "pipnexus.demo", "pipnexus.probe.cli",
    "html", "shutil", "encodings.idna", "unicodedata", "typing", "importlib",
    *(("contextlib",) if sys.version_info < (3, 13) else ()),
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


# re._compile is where re.compile, re.match, ... compile (CPython Lib/re/__init__.py, 3.9-3.13)
SPY_ON_COMPILE = """\
import re, sys
sys.path.insert(0, sys.argv[1])
at_import, compile = set(), re._compile
def spy(*args, **kwargs):
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "<module>":
        frame = frame.f_back
    # the innermost module body running: the module being imported (or the script itself)
    name = "" if frame is None else frame.f_globals.get("__name__", "")
    if name.startswith("pipnexus"):
        at_import.add(name)
    return compile(*args, **kwargs)
re._compile = spy
from pipnexus.cli import main
rc = main(sys.argv[2:])
print(rc, " ".join(sorted(at_import)))
"""


def test_action_modules_compile_no_regex_at_import(tmp_path, nexus):
    """Every regex of the action's modules is compiled when first used, never at import: the
    action's start-up (bench/configure_bench.py) pays only for the patterns its job needs."""
    (tmp_path / "Pipfile").write_text('[[source]]\nurl = "https://pypi.org/simple"\n')
    files = {name: tmp_path / name.lower() for name in
             ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.write_text("")
    env = base_env(tmp_path, GITHUB_ACTIONS="true", **{k: str(v) for k, v in files.items()})
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SPY_ON_COMPILE, str(ROOT), "configure", "--format",
         "github", "--index-url", nexus.index_url(), "--project-dir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rc, *compiled_at_import = proc.stdout.splitlines()[-1].split()
    assert rc == "0"
    assert compiled_at_import == []


def test_https_given_for_a_plain_http_nexus_says_use_http(tmp_path, nexus):
    # the Nexus double speaks plain HTTP only: an https:// URL for it is the classic mix-up
    host = nexus.base_url.split("://", 1)[1]
    r = run_configure(tmp_path, "--nexus-url", f"https://{host}", "--fallback-index-url", FALLBACK)
    assert (r.outputs["source"], r.outputs["reason"]) == ("fallback", "tls")
    (warning,) = [line for line in r.out.splitlines() if "[fallback]" in line]
    assert f"the server speaks plain HTTP: use http://{host}" in warning
    assert "--ca-cert" not in warning and "certificate" not in warning


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
    assert note.startswith("pipnexus configure: "
                           "note: no package index is given (--index-url or --nexus-url")
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
