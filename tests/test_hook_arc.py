"""examples/arc/hook-values.yaml renders with the real gha-runner-scale-set chart (0.14.2) as
it is and in its dind and kubernetes container modes, mounts the ConfigMap ``pipnexus hook
--configmap`` prints where ACTIONS_RUNNER_HOOK_JOB_STARTED points, and the runner environment
it renders runs the hook.

The chart is one of the pinned third-party files (``testbed/thirdparty.json``) and helm comes
from ``.tools/`` (bash .ci/run fetches both); the tests skip with the reason otherwise.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipnexus.hook import delivery
from testbed import thirdparty
from tests.nexus.test_chart import helm_template
from tests.test_hook import run_hook, runner_env, shown

REPO = Path(__file__).resolve().parent.parent
HOOK_VALUES = REPO / "examples" / "arc" / "hook-values.yaml"
MODES = ("", "dind", "kubernetes")


def render(tmp_path: Path, mode: str) -> dict[str, Any]:
    """The AutoscalingRunnerSet's pod spec for ``containerMode.type=mode`` ("" = unset)."""
    extra = ["--set", "controllerServiceAccount.name=x",
             "--set", "controllerServiceAccount.namespace=y"]
    if mode:
        extra += ["--set", f"containerMode.type={mode}"]
    docs = helm_template(thirdparty.chart_dir("gha-runner-scale-set"), HOOK_VALUES, tmp_path,
                         *extra)
    (runner_set,) = [d for d in docs if d["kind"] == "AutoscalingRunnerSet"]
    spec: dict[str, Any] = runner_set["spec"]["template"]["spec"]
    return spec


def runner(spec: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in spec["containers"] if c["name"] == "runner"]
    found: dict[str, Any] = container
    return found


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("mode", MODES)
def test_the_hook_is_mounted_and_named_in_every_container_mode(tmp_path, mode):
    spec = render(tmp_path, mode)
    container = runner(spec)
    env = env_of(container)
    hook = Path(env["ACTIONS_RUNNER_HOOK_JOB_STARTED"])
    assert hook.is_absolute() and hook.suffix == ".sh"  # the runner picks bash by extension
    assert hook.name == delivery.SCRIPT_NAME
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(hook.parent)]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == "pipnexus-hook"
    assert env["PIPNEXUS_NEXUS_URL"].startswith("http://")
    if mode == "kubernetes":
        # every job runs in a job pod: the hook's GITHUB_ENV reaches its steps, not this env
        assert env["ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER"] == "true"


def test_every_pipnexus_variable_named_is_read_by_the_hook() -> None:
    named = set(re.findall(r"\bPIPNEXUS_[A-Z_]+\b", HOOK_VALUES.read_text()))
    assert {"PIPNEXUS_NEXUS_URL", "PIPNEXUS_HOOK_SKIP", "PIPNEXUS_TIMEOUT"} <= named
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (REPO / "pipnexus").rglob("*.py"))
    assert sorted(n for n in named if n not in source) == []


@pytest.mark.parametrize("mode", ["dind", "kubernetes"])
def test_the_rendered_runner_runs_the_configmaps_hook(tmp_path, mode, nexus):
    """The files of the ConfigMap ``pipnexus hook --configmap`` prints, put where the
    rendered pod mounts them, run with the rendered runner environment (the Nexus URL pointed
    at the double) configure the job."""
    proc = subprocess.run([sys.executable, "-m", "pipnexus", "hook", "--configmap",
                           "pipnexus-hook"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)
    container = runner(render(tmp_path, mode))
    env = env_of(container)
    hook = Path(env["ACTIONS_RUNNER_HOOK_JOB_STARTED"])
    mounted = tmp_path / "mount" / hook.parent.relative_to("/")
    mounted.mkdir(parents=True)
    for key, text in manifest["data"].items():
        (mounted / key).write_text(text)
    for key, data in manifest["binaryData"].items():
        (mounted / key).write_bytes(base64.b64decode(data))
    pipnexus = {k: v for k, v in env.items() if k.startswith("PIPNEXUS_") and isinstance(v, str)}
    pipnexus["PIPNEXUS_NEXUS_URL"] = nexus.base_url
    job = run_hook(mounted, runner_env(tmp_path / "job", **pipnexus))
    assert job.rc == 0, job.log
    assert job.env["PIP_INDEX_URL"] == nexus.index_url(pipnexus["PIPNEXUS_REPOSITORY"])
    assert shown(job)[0].startswith("pipnexus hook: using the Nexus proxy")
