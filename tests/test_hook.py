"""The runner's job-started hook, run as the runner runs it.

actions/runner (src/Runner.Worker/JobHookProvider.cs) runs the script that
ACTIONS_RUNNER_HOOK_JOB_STARTED names with ``bash -e`` in the workspace, with the runner's own
environment plus the GITHUB_*/RUNNER_* variables and fresh file-command files
(FileCommandManager.InitializeFiles creates them empty), then parses GITHUB_ENV
(src/Runner.Worker/FileCommandManager.cs, EnvFileKeyValuePairs, which
tests/hardening_helpers.runner_parse follows) into the variables of every later step. Here the
shell hook and the zipapp come out of ``pipnexus hook`` exactly as the ConfigMap carries them,
and the Nexus double plays the in-cluster Nexus.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from pipnexus.hook import delivery
from testbed.httpbase import HangingListener, closed_url
from tests.hardening_helpers import leaks, runner_parse, without_masks
from tests.pythons import action_pythons

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "pä ss@w:rd/%41&x+y"
USER = "ci"
FILE_COMMANDS = ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STATE",
                 "GITHUB_STEP_SUMMARY")


@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the ConfigMap mounts: the shell hook and the zipapp (this interpreter's
    bytecode, as the release asset carries the default runner image's)."""
    directory = tmp_path_factory.mktemp("hook")
    (directory / delivery.SCRIPT_NAME).write_text(delivery.SCRIPT)
    (directory / delivery.ZIPAPP_NAME).write_bytes(delivery.build_zipapp(bytecode=True))
    return directory


class Job(NamedTuple):
    rc: int
    log: str  # stdout then stderr, as the runner shows both in the hook's step
    env: dict[str, str]  # what later steps get: GITHUB_ENV as the runner parses it
    raw_env: str
    seconds: float


def runner_env(tmp_path: Path, **pipnexus: str) -> dict[str, str]:
    """The runner's environment for the hook: the pod's PATH/HOME, the default variables and
    fresh (empty) file-command files, plus ``pipnexus`` (the pod template's PIPNEXUS_*)."""
    temp = tmp_path / "_work" / "_temp"
    files = temp / "_runner_file_commands"
    workspace = tmp_path / "_work" / "repo" / "repo"
    home = tmp_path / "home"
    for d in (files, workspace, home):
        d.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "my-org/app",
        "GITHUB_JOB": "test",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(temp),
    }
    for name in FILE_COMMANDS:
        path = files / name.lower()
        path.write_bytes(b"")
        env[name] = str(path)
    env.update(pipnexus)
    return env


def run_hook(hook_dir: Path, env: dict[str, str]) -> Job:
    started = time.monotonic()
    proc = subprocess.run(["bash", "-e", str(hook_dir / delivery.SCRIPT_NAME)], env=env,
                          cwd=env["GITHUB_WORKSPACE"], capture_output=True, text=True,
                          timeout=120)
    seconds = time.monotonic() - started
    raw = Path(env["GITHUB_ENV"]).read_bytes().decode("utf-8")
    log = proc.stdout + proc.stderr
    assert "Traceback" not in log
    return Job(proc.returncode, log, dict(runner_parse(raw)), raw, seconds)


def shown(job: Job) -> list[str]:
    """The log lines people see (the masks are consumed by the runner)."""
    return without_masks(job.log).splitlines()


@pytest.mark.parametrize("python", action_pythons())
def test_healthy_nexus_every_installer_and_one_line(tmp_path, hook_dir, nexus, python):
    """With the runner's python3 (this interpreter, and 3.9, the oldest the hook runs on)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(python)
    env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=nexus.base_url)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    job = run_hook(hook_dir, env)
    assert job.rc == 0, job.log
    index = nexus.index_url()
    for name in ("PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIPENV_PYPI_MIRROR",
                 "PDM_PYPI_URL", "POETRY_PYPI_MIRROR_URL"):
        assert job.env[name] == index, name
    assert job.env["PIP_TRUSTED_HOST"] == "127.0.0.1"
    assert job.env["PIPNEXUS_HOOK_SOURCE"] == "nexus"
    assert job.env["PIPNEXUS_HOOK_INDEX_URL"] == index
    (line,) = shown(job)
    assert line.startswith(f"pipnexus hook: using the Nexus proxy {index} (")
    # no interpreter mirror on the double: probed, unhealthy, not set
    assert "UV_PYTHON_INSTALL_MIRROR" not in job.env
    assert "interpreter mirror" in line


def test_the_interpreter_mirror_is_set_when_healthy(tmp_path, hook_dir, nexus):
    from testbed.pbs import Releases

    with Releases({}) as github:  # python-build-standalone's releases, none needed here
        nexus.add_raw_proxy("python-build-standalone", github.base_url)
        job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=nexus.base_url))
    mirror = f"{nexus.base_url}/repository/python-build-standalone"
    assert job.env["UV_PYTHON_INSTALL_MIRROR"] == mirror
    assert job.env["PIPNEXUS_HOOK_PYTHON_MIRROR"] == mirror
    (line,) = shown(job)
    assert line.endswith(f"; interpreter mirror {mirror}: healthy")


def test_dead_nexus_falls_back_and_the_job_goes_on(tmp_path, hook_dir):
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url()))
    assert job.rc == 0
    assert job.env["PIP_INDEX_URL"] == "https://pypi.org/simple"
    assert (job.env["PIPNEXUS_HOOK_SOURCE"], job.env["PIPNEXUS_HOOK_REASON"]) == (
        "fallback", "refused")
    (line,) = shown(job)
    assert line.startswith("::warning title=pipnexus [fallback]::Nexus is unhealthy")


def test_dead_nexus_fails_the_job_only_when_required(tmp_path, hook_dir):
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url(),
                                        PIPNEXUS_REQUIRE_NEXUS="true"))
    assert job.rc == 1
    # no installer variable; the markers say why, should a later step run anyway
    assert job.env["PIPNEXUS_HOOK_SOURCE"] == "none"
    assert [k for k in job.env if not k.startswith("PIPNEXUS_HOOK_")] == []
    (line,) = shown(job)
    assert line.startswith("::error title=pipnexus [no-healthy-index]::")


def test_black_holed_nexus_costs_the_job_one_deadline(tmp_path, hook_dir):
    with HangingListener() as hanging:
        job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=hanging.url,
                                            PIPNEXUS_TIMEOUT="1"))
    assert job.rc == 0
    assert (job.env["PIPNEXUS_HOOK_SOURCE"], job.env["PIPNEXUS_HOOK_REASON"]) == (
        "fallback", "timeout")
    # the probe's deadline bound (1 s), plus the interpreter's start on a loaded machine
    assert job.seconds < 1 + 10


def test_credentials_are_masked_first_and_never_shown(tmp_path, hook_dir, nexus):
    nexus.anonymous_enabled = False
    nexus.users[USER] = PASSWORD
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=nexus.base_url,
                                        PIPNEXUS_USERNAME=USER, PIPNEXUS_PASSWORD=PASSWORD))
    assert job.rc == 0, job.log
    assert job.env["PIPNEXUS_HOOK_SOURCE"] == "nexus"
    assert job.env["PIP_INDEX_URL"].startswith("http://ci:")  # installers need them
    assert leaks("\n".join(shown(job)), PASSWORD, USER) == []
    markers = {k: v for k, v in job.env.items() if k.startswith("PIPNEXUS_HOOK_")}
    assert leaks(repr(markers), PASSWORD, USER) == []


def test_wrong_credentials_fall_back_without_echoing_them(tmp_path, hook_dir, nexus):
    nexus.anonymous_enabled = False
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=nexus.base_url,
                                        PIPNEXUS_USERNAME=USER, PIPNEXUS_PASSWORD=PASSWORD))
    assert job.rc == 0
    assert job.env["PIPNEXUS_HOOK_REASON"] == "auth"
    assert leaks("\n".join(shown(job)), PASSWORD, USER) == []


def test_a_value_with_line_breaks_cannot_inject_variables(tmp_path, hook_dir):
    """A path the hook writes (the pip config file under RUNNER_TEMP) may hold a line break
    and a line that looks like a heredoc delimiter: the runner reads back that one variable."""
    env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url(), PIPNEXUS_PIP_CONF="file")
    temp = Path(env["RUNNER_TEMP"]) / "x\nINJECTED=1\nghadelimiter_0\nEOF"
    temp.mkdir()
    env["RUNNER_TEMP"] = str(temp)
    job = run_hook(hook_dir, env)
    assert job.rc == 0, job.log
    assert "INJECTED" not in job.env
    assert job.env["PIP_CONFIG_FILE"] == str(temp / "pipnexus" / "pip.conf")
    assert "\nINJECTED=1\n" in job.raw_env  # it was there, inside a heredoc
    assert Path(job.env["PIP_CONFIG_FILE"]).is_file()


def test_not_configured_runner_changes_nothing(tmp_path, hook_dir):
    job = run_hook(hook_dir, runner_env(tmp_path))
    assert (job.rc, job.env) == (0, {})
    assert shown(job) == ["pipnexus hook: "
                          "note: no PIPNEXUS_INDEX_URL or PIPNEXUS_NEXUS_URL on this "
                          "runner: nothing is configured [not-configured]"]


def test_not_configured_runner_fails_the_job_only_when_required(tmp_path, hook_dir):
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_REQUIRE_NEXUS="true"))
    assert (job.rc, job.env) == (1, {})
    (line,) = shown(job)
    assert line.startswith("::error title=pipnexus hook [not-configured]::no PIPNEXUS_INDEX_URL")


def test_bad_runner_setting_warns_and_the_job_goes_on(tmp_path, hook_dir, nexus):
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=nexus.base_url,
                                        PIPNEXUS_TIMEOUT="soon"))
    assert (job.rc, job.env) == (0, {})
    (line,) = shown(job)
    assert line.startswith("::warning title=pipnexus hook [hook-error]::--timeout must be")
    required = run_hook(hook_dir, runner_env(tmp_path / "r", PIPNEXUS_NEXUS_URL=nexus.base_url,
                                             PIPNEXUS_TIMEOUT="soon",
                                             PIPNEXUS_REQUIRE_NEXUS="yes"))
    assert required.rc == 2
    assert shown(required)[0].startswith("::error title=pipnexus hook [hook-error]::")


def test_a_bad_url_with_a_password_is_not_echoed(tmp_path, hook_dir):
    job = run_hook(hook_dir, runner_env(
        tmp_path, PIPNEXUS_INDEX_URL=f"http://ci:{PASSWORD.replace(' ', '%20')}@[bad/simple/"))
    assert (job.rc, job.env) == (0, {})
    assert leaks("\n".join(shown(job)), PASSWORD, USER) == []


@pytest.mark.parametrize(("switch", "skip"), [
    ({"PIPNEXUS_HOOK": "off"}, None),
    ({"PIPNEXUS_HOOK_SKIP": "other/repo my-org/app:test"}, "my-org/app:test"),
    ({"PIPNEXUS_HOOK_SKIP": "my-org/*"}, "my-org/*"),
])
def test_switched_off_for_a_runner_a_repository_or_a_job(tmp_path, hook_dir, switch, skip):
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url(), **switch))
    assert (job.rc, job.env) == (0, {})
    (line,) = shown(job)
    assert line.startswith("pipnexus hook: note: the job-started hook is off for this job")
    if skip:
        assert repr(skip) in line


def test_skip_patterns_leave_other_jobs_configured(tmp_path, hook_dir):
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url(),
                                        PIPNEXUS_HOOK_SKIP="my-org/app:lint other/*"))
    assert job.env["PIPNEXUS_HOOK_SOURCE"] == "fallback"


def test_no_python3_on_the_runner(tmp_path, hook_dir):
    env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):  # what the hook itself needs, without python3
        found = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True,
                               text=True, check=True).stdout.strip()
        (bin_dir / tool).symlink_to(found)
    env["PATH"] = str(bin_dir)
    job = run_hook(hook_dir, env)
    assert (job.rc, job.env) == (0, {})
    assert shown(job)[0].startswith("::warning title=pipnexus hook::python3 was not found")
    env["PIPNEXUS_REQUIRE_NEXUS"] = "TRUE"
    assert run_hook(hook_dir, env).rc == 1


def test_a_python3_older_than_3_9_changes_nothing(tmp_path, hook_dir):
    import glob

    old = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.[5-8].*/bin/python3")))
    if not old:
        pytest.skip("no CPython older than 3.9 on this machine (pyenv)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(old[-1])
    env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url())
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    job = run_hook(hook_dir, env)
    assert (job.rc, job.env) == (0, {})
    (line,) = shown(job)
    assert line.startswith("::warning title=pipnexus hook::python3 is 3.")
    assert run_hook(hook_dir, {**env, "PIPNEXUS_REQUIRE_NEXUS": "on"}).rc == 1


def test_the_zipapp_runs_as_a_script_too(tmp_path, hook_dir):
    pyz = str(hook_dir / delivery.ZIPAPP_NAME)
    version = subprocess.run([sys.executable, "-I", "-S", pyz, "--version"],
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("pipnexus ") and version.returncode == 0
    other = subprocess.run([sys.executable, "-I", "-S", pyz, "migrate"],
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 2
    assert other.stderr.startswith("pipnexus: error: the zipapp runs hook, configure or probe")
    env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url())
    hooked = subprocess.run([sys.executable, "-I", "-S", pyz], env=env, capture_output=True,
                            text=True, timeout=60)
    assert hooked.returncode == 0, hooked.stderr
    assert "PIPNEXUS_HOOK_SOURCE=fallback" in Path(env["GITHUB_ENV"]).read_text()


# --- a job whose workflow also has the action step ---------------------------------------


def run_action_step(env: dict[str, str], **inputs: str) -> Job:
    """action.yml's bash step as the runner runs it in the same job: the runner's
    environment, the variables the hook set, the inputs (defaults where not given), fresh
    file-command files."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (step,) = action["runs"]["steps"]
    step_env = dict(env)
    for name in FILE_COMMANDS:
        path = Path(env[name]).with_name(name.lower() + "-step")
        path.write_bytes(b"")
        step_env[name] = str(path)
    for name, spec in action["inputs"].items():
        step_env[f"PIPNEXUS_INPUT_{name.upper().replace('-', '_')}"] = inputs.get(
            name.replace("-", "_"), spec.get("default", ""))
    step_env["GITHUB_ACTION_PATH"] = str(ROOT)
    started = time.monotonic()
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], env=step_env,
                          cwd=env["GITHUB_WORKSPACE"], capture_output=True, text=True,
                          timeout=120)
    raw = Path(step_env["GITHUB_ENV"]).read_text(encoding="utf-8")
    out = Path(step_env["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    outputs = dict(runner_parse(out))
    return Job(proc.returncode, proc.stdout + proc.stderr, outputs, raw,
               time.monotonic() - started)


def test_the_action_step_reports_the_hooks_decision_without_probing(tmp_path, hook_dir):
    upstream_nexus = HangingListener()  # would cost the step its whole deadline if probed
    try:
        env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=upstream_nexus.url,
                         PIPNEXUS_TIMEOUT="1")
        job = run_hook(hook_dir, env)
        accepted = upstream_nexus.accepted
        step = run_action_step({**env, **job.env})
        assert upstream_nexus.accepted == accepted  # no second probe
    finally:
        upstream_nexus.stop()
    assert step.rc == 0, step.log
    assert step.raw_env == ""  # the hook's variables stand
    assert step.env["source"] == "fallback" and step.env["reason"] == "timeout"
    assert step.env["index-url"] == "https://pypi.org/simple"
    assert "the runner's job-started hook configured this job" in step.log
    assert "Nexus was unhealthy (timeout)" in Path(env["GITHUB_STEP_SUMMARY"]).with_name(
        "github_step_summary-step").read_text()


def test_the_action_step_still_warns_about_the_checked_out_project(tmp_path, hook_dir):
    env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url())
    job = run_hook(hook_dir, env)
    # checked out after the hook: a requirements file that overrides the index
    (Path(env["GITHUB_WORKSPACE"]) / "requirements.txt").write_text(
        "--index-url https://example.org/simple\nrequests\n")
    step = run_action_step({**env, **job.env})
    assert step.rc == 0, step.log
    assert step.raw_env == ""
    (warning,) = [line for line in step.log.splitlines() if "[requirements-index]" in line]
    assert warning.startswith("::warning file=requirements.txt,line=1")


def test_the_action_step_with_its_own_index_probes_and_wins(tmp_path, hook_dir, nexus):
    env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url())
    job = run_hook(hook_dir, env)
    step = run_action_step({**env, **job.env}, nexus_url=nexus.base_url)
    assert step.rc == 0, step.log
    assert step.env["source"] == "nexus"
    assert f"PIP_INDEX_URL={nexus.index_url()}" in step.raw_env


def test_the_action_step_requiring_nexus_fails_after_a_fallback(tmp_path, hook_dir):
    env = runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url())
    job = run_hook(hook_dir, env)
    step = run_action_step({**env, **job.env}, require_nexus="true")
    assert step.rc == 1
    assert step.env["source"] == "none"
    assert "::error title=pipnexus [no-healthy-index]::" in step.log


@pytest.mark.slow  # real pip and uv installs
def test_a_workflow_without_a_step_installs_through_the_proxy(tmp_path, hook_dir, nexus,
                                                              venv_factory):
    """pip and uv, run with only what the hook put in GITHUB_ENV, install through Nexus."""
    from testbed import installers

    # ASCII: requests (pip) sends Basic credentials as latin-1, the double reads UTF-8
    password = "s3cr@t:/%41&x+y"
    nexus.anonymous_enabled = False
    nexus.users[USER] = password
    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=nexus.base_url,
                                        PIPNEXUS_USERNAME=USER, PIPNEXUS_PASSWORD=password))
    assert job.env["PIPNEXUS_HOOK_SOURCE"] == "nexus", job.log
    env = {**installers.isolated_env(tmp_path, UV_NO_CONFIG=None), **job.env}
    venv = venv_factory.new(tmp_path / "venv", env)
    venv.pip_install("pipnexus-demo-pkg", extra_args=["--no-cache-dir"])
    assert venv.has("pipnexus-demo-pkg", "1.0") and venv.has("pipnexus-demo-dep", "1.0")
    fetched = [path for _, path, _ in nexus.upstream_fetches]
    assert any("pipnexus_demo_pkg-1.0" in p for p in fetched), fetched
    uv_venv = venv_factory.new(tmp_path / "uv-venv", env)
    uv_venv.uv_pip_install("pipnexus-demo-new", extra_args=["--no-cache"])
    assert uv_venv.has("pipnexus-demo-new")
    fetched = [path for _, path, _ in nexus.upstream_fetches]
    assert any("pipnexus_demo_new-1.0" in p for p in fetched), fetched


@pytest.mark.slow  # real pip and uv installs
def test_a_workflow_without_a_step_falls_back_when_nexus_is_down(tmp_path, hook_dir,
                                                                 upstream, venv_factory):
    from testbed import installers

    job = run_hook(hook_dir, runner_env(tmp_path, PIPNEXUS_NEXUS_URL=closed_url(),
                                        PIPNEXUS_FALLBACK_INDEX_URL=upstream.index_url))
    assert job.env["PIPNEXUS_HOOK_SOURCE"] == "fallback"
    env = {**installers.isolated_env(tmp_path, UV_NO_CONFIG=None), **job.env}
    venv = venv_factory.new(tmp_path / "venv", env)
    venv.pip_install("pipnexus-demo-dep", extra_args=["--no-cache-dir"])
    uv_venv = venv_factory.new(tmp_path / "uv-venv", env)
    uv_venv.uv_pip_install("pipnexus-demo-dep", extra_args=["--no-cache"])
    assert venv.has("pipnexus-demo-dep") and uv_venv.has("pipnexus-demo-dep")


# --- delivery: the zipapp's bytecode, the ConfigMap ---------------------------------------


def test_the_configmap_holds_the_script_and_the_zipapp_under_the_limit(tmp_path, hook_dir):
    import base64
    import json

    proc = subprocess.run(
        [sys.executable, "-m", "pipnexus", "hook", "--configmap", "pipnexus-hook",
         "--namespace", "arc-runners", "--zipapp", str(hook_dir / delivery.ZIPAPP_NAME)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.encode()) < delivery.CONFIGMAP_LIMIT
    manifest = json.loads(proc.stdout)
    assert manifest["kind"] == "ConfigMap"
    assert manifest["metadata"]["name"] == "pipnexus-hook"
    assert manifest["metadata"]["namespace"] == "arc-runners"
    assert manifest["data"] == {"job-started.sh": delivery.SCRIPT}
    pyz = base64.b64decode(manifest["binaryData"]["pipnexus-hook.pyz"])
    assert pyz == (hook_dir / delivery.ZIPAPP_NAME).read_bytes()
    bad = subprocess.run([sys.executable, "-m", "pipnexus", "hook", "--configmap", "Bad_Name"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_the_documented_kubectl_line_makes_the_same_configmap(tmp_path, hook_dir):
    """docs/runner-hook.md's `kubectl create configmap --from-file` line and `pipnexus hook
    --configmap`, run from the zipapp itself, give the same data and binary data."""
    import json
    import shutil

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    made = subprocess.run(
        [kubectl, "create", "configmap", "pipnexus-hook", "--from-file=job-started.sh",
         "--from-file=pipnexus-hook.pyz", "--dry-run=client", "-o", "json"],
        cwd=hook_dir, env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    ours = subprocess.run(
        [sys.executable, "-I", "-S", str(hook_dir / delivery.ZIPAPP_NAME), "hook",
         "--configmap", "pipnexus-hook"], capture_output=True, text=True, timeout=60)
    assert ours.returncode == 0, ours.stderr
    theirs, mine = json.loads(made.stdout), json.loads(ours.stdout)
    assert (mine["data"], mine["binaryData"]) == (theirs["data"], theirs["binaryData"])
    docs = (ROOT / "docs" / "runner-hook.md").read_text(encoding="utf-8")
    assert "create configmap pipnexus-hook \\\n     --from-file=job-started.sh " \
        "--from-file=pipnexus-hook.pyz" in docs


def test_the_zipapp_is_deterministic_and_carries_only_the_actions_modules():
    first, second = delivery.build_zipapp(), delivery.build_zipapp()
    assert first == second
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert "__main__.py" in names and "pipnexus/hook/__init__.py" in names
    assert not [n for n in names if n.startswith(("pipnexus/migrate/", "pipnexus/nexus/"))]
    assert not [n for n in names if n.endswith(".pyc")]


def _cpythons() -> list[str]:
    """CPython 3.9 and newer on this machine (pyenv's), this interpreter first."""
    import glob

    found = [sys.executable]
    for minor in range(9, 15):
        found += sorted(glob.glob(os.path.expanduser(
            f"~/.pyenv/versions/3.{minor}.*/bin/python3.{minor}")))[-1:]
    return list(dict.fromkeys(found))


def _check_zipapp(python: str, pyz: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, str(ROOT / "scripts" / "action_bytecode.py"), "check-zipapp",
                           str(pyz)], capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_zipapp_bytecode_is_used_by_its_python_and_ignored_by_the_others(tmp_path):
    """zipimport (Lib/zipimport.py, 3.9-3.13) loads the checked-hash .pyc beside a source
    when its magic number and the source's hash match, and compiles the source otherwise:
    the zipapp built with one version's bytecode runs on every version."""
    pythons = _cpythons()
    if len(pythons) < 2:
        pytest.skip("needs a second CPython (pyenv) to run another version's bytecode")
    boot = ("import sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main; "
            "sys.exit(main(sys.argv[2:]))")
    for i, python in enumerate(pythons):
        pyz = tmp_path / f"hook-{i}.pyz"
        # built by that python from the source tree, as the release workflow does
        subprocess.run([python, "-I", "-S", "-c", boot, str(ROOT), "hook", "--build-zipapp",
                        str(pyz), "--bytecode"], check=True, capture_output=True, timeout=120)
        own = _check_zipapp(python, pyz)
        assert own.returncode == 0, (python, own.stderr)
        other = _check_zipapp(pythons[(i + 1) % len(pythons)], pyz)
        assert other.returncode == 1  # from source ...
        assert "compiled from source" in other.stderr and "exited" not in other.stderr  # ... works
    # a source changed after compiling: its bytecode is not used, the rest is
    import zipfile

    tampered = tmp_path / "tampered.pyz"
    with zipfile.ZipFile(tmp_path / "hook-0.pyz") as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "pipnexus/urls.py":
                data += b"# edited after compiling\n"
            dst.writestr(info, data)
    after = _check_zipapp(pythons[0], tampered)
    assert after.returncode == 1
    problems = after.stderr.splitlines()
    assert [p for p in problems if "compiled from source" in p] == [
        f"{sys.implementation.cache_tag}: {tampered}/pipnexus/urls.py: compiled from source"]


def test_the_release_job_builds_checks_and_ships_the_hooks_files(tmp_path):
    """The release workflow's hook-zipapp step, run here with this interpreter as its
    python: it writes both files, the zipapp loads its own bytecode, and the GitHub release
    gets them."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    job = workflow["jobs"]["hook-zipapp"]
    (step,) = [s for s in job["steps"] if "run" in s]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path / "temp")}
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "temp" / "hook"
    assert (out / delivery.SCRIPT_NAME).read_text() == delivery.SCRIPT
    assert (out / delivery.ZIPAPP_NAME).read_bytes() == delivery.build_zipapp(bytecode=True)
    assert "bytecode loaded from" in proc.stdout
    release = "\n".join(s.get("run", "") for s in workflow["jobs"]["github-release"]["steps"])
    assert f'"$RUNNER_TEMP"/hook/{delivery.ZIPAPP_NAME}' in release
    assert f'"$RUNNER_TEMP"/hook/{delivery.SCRIPT_NAME}' in release
    assert "hook-zipapp" in workflow["jobs"]["github-release"]["needs"]
