"""The one way a test runs ``pipnexus`` in a child Python.

``run_pipnexus(*args)`` runs it as action.yml does: ``python -I -S -c PROGRAM TREE ARGS``, where
PROGRAM is the inline program of action.yml's configure step (so the tests run exactly what
the runner runs: standard library only, the tree on ``sys.path``, no environment variable of
Python's). ``module=True`` runs ``python -m pipnexus ARGS`` with site-packages instead, for the
commands that need third-party packages (migrate, demo, nexus) or to test that entry point.
Either way the child must not print a traceback.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def action_program(tree: Path = ROOT) -> str:
    """The inline program action.yml runs with ``python3 -I -S -c``."""
    action = yaml.safe_load((tree / "action.yml").read_text(encoding="utf-8"))
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "configure"]
    m = re.search(r"python3 -I -S -c '\n(.*?)\n' ", step["run"], re.S)
    assert m, "action.yml runs its program with python3 -I -S -c '...'"
    return m.group(1)


def run_pipnexus(
    *args: str,
    python: str = sys.executable,
    module: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    timeout: float = 60.0,
    tree: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """``pipnexus ARGS`` in a child process (``env=None``: this process's environment)."""
    if module:
        command = [python, "-m", "pipnexus", *args]
    else:
        command = [python, "-I", "-S", "-c", action_program(tree), str(tree), *args]
    proc = subprocess.run(
        command, env=None if env is None else dict(env), cwd=cwd, capture_output=True,
        text=True, timeout=timeout,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    return proc
