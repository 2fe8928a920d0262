"""The interpreters ``bench.configure_bench --python`` times: named ones, or every one present
that the action accepts (``--python all``).

The action runs on any ``python3`` that is 3.9 or newer (action.yml refuses older ones), CPython
or not. ``all`` looks for ``python3.9`` ... ``python3.14`` on PATH, pyenv's installed versions
(``$PYENV_ROOT/versions/*/bin/python3``, default root ``~/.pyenv``) and ``pypy3``, and keeps one
interpreter per implementation and version (the first found: names given beside ``all`` first,
then in that order).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import NamedTuple

OLDEST = (3, 9)  # action.yml: "pipnexus needs 3.9 or newer"
NEWEST_MINOR = 14
ALL = "all"
# one line: implementation, version, the real executable (symlinks and pyenv shims resolved)
_IDENTIFY = (
    "import os, platform, sys; "
    "print(platform.python_implementation(), platform.python_version(), "
    "os.path.realpath(sys.executable))"
)


class Python(NamedTuple):
    path: str  # the real interpreter (a pyenv shim would add its own start-up to every run)
    implementation: str  # CPython, PyPy
    version: str  # 3.9.18

    @property
    def minor(self) -> tuple[int, int]:
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)

    @property
    def label(self) -> str:
        """The name printed (no path: the output goes into bench/README.md)."""
        return self.version if self.implementation == "CPython" else (
            f"{self.implementation} {self.version}")

    @property
    def has_bytecode(self) -> bool:
        """Whether the release carries bytecode this interpreter can use: CPython's
        ``__pycache__`` files only (PyPy has its own bytecode and cache tag)."""
        return self.implementation == "CPython"


def identify(name: str) -> Python | None:
    """The interpreter ``name`` runs in the end, or None when it does not run."""
    try:
        out = subprocess.run([name, "-c", _IDENTIFY], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 3:
        return None
    implementation, version, path = parts
    return Python(path, implementation, version)


def candidates() -> list[str]:
    """Where ``all`` looks, in order."""
    found = [shutil.which(f"python3.{minor}") or ""
             for minor in range(OLDEST[1], NEWEST_MINOR + 1)]
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found += sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python3")))
    found.append(shutil.which("pypy3") or "")
    return [name for name in found if name]


def resolve(names: Sequence[str]) -> tuple[list[Python], list[str]]:
    """The interpreters to time (CPython by version, then the others), and one line per name
    given that cannot be timed; interpreters ``all`` finds that the action refuses are left
    out silently."""
    chosen: list[Python] = []
    problems: list[str] = []
    given = [n for n in names if n != ALL]
    for name in [*given, *(candidates() if ALL in names else [])]:
        python = identify(name)
        if python is None or python.minor < OLDEST:
            if name in given:
                problems.append(f"--python {name}: " + ("does not run" if python is None else
                                f"{python.label} is older than the action accepts (3.9)"))
            continue
        if not any(p.path == python.path or (p.implementation, p.minor)
                   == (python.implementation, python.minor) for p in chosen):
            chosen.append(python)
    chosen.sort(key=lambda p: (p.implementation != "CPython", p.minor))
    return chosen, problems
