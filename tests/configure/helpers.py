"""Running ``pipnexus configure`` as the action runs it: ``python3 -I -S`` with the project
inserted on sys.path (as action.yml does), in an environment built from scratch, with the
runner's files parsed by the runner's rules."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from tests.cli_process import run_pipnexus
from tests.hardening_helpers import runner_parse

ROOT = Path(__file__).resolve().parents[2]




INSTALLER_VARS = {
    "PIP_INDEX_URL", "PIP_TRUSTED_HOST", "UV_DEFAULT_INDEX", "UV_INDEX_URL",
    "PIPENV_PYPI_MIRROR", "PDM_PYPI_URL", "PDM_PYPI_VERIFY_SSL", "POETRY_PYPI_MIRROR_URL",
}


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
    proc = run_pipnexus("configure", *args, python=python, env=full, cwd=tmp_path)
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
