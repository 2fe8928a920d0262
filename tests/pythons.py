"""Find the Python interpreters that the stdlib-only action modules are checked on."""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys


def _works(path: str) -> bool:
    try:
        proc = subprocess.run([path, "-c", "pass"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


@functools.cache  # asked at the collection of every module that runs the action on 3.9
def python39() -> str | None:
    """A Python 3.9 interpreter (the oldest the action supports), or None."""
    candidates = [shutil.which("python3.9") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9")))
    candidates += ["/usr/bin/python3.9", "/usr/local/bin/python3.9"]
    for path in candidates:
        if path and os.path.exists(path) and _works(path):
            return path
    return None


def action_pythons() -> list[str]:
    """This interpreter, plus Python 3.9 when the machine has it."""
    found = [sys.executable]
    old = python39()
    if old:
        found.append(old)
    return found
