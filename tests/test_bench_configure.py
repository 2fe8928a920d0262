"""``bench.configure_bench``'s options, run as a user runs it (tests never import bench/): an
interpreter it cannot time is bad input, one line and exit 2, before any server starts."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench.configure_bench", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    return proc.stderr.splitlines()[-1]


def test_an_interpreter_that_does_not_run_is_bad_input(tmp_path: Path) -> None:
    missing = str(tmp_path / "python3.99")
    line = one_error_line(bench("--runs", "1", "--python", missing))
    assert f"--python {missing}: does not run" in line


def test_an_interpreter_the_action_refuses_is_bad_input() -> None:
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    old = sorted(glob.glob(os.path.join(root, "versions", "3.[5-8].*", "bin", "python3")))
    if not old:
        pytest.skip("no Python 3.5-3.8 under pyenv on this machine")
    line = one_error_line(bench("--runs", "1", "--python", old[-1]))
    assert "is older than the action accepts (3.9)" in line


def test_runs_below_one_is_bad_input() -> None:
    assert "--runs must be at least 1" in one_error_line(bench("--runs", "0"))
