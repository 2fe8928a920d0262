"""Finding, reading and atomically writing workflow files (standard library only)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from pipnexus.fsutil import atomic_write

YAML_SUFFIXES = (".yml", ".yaml")
ACTION_NAMES = ("action.yml", "action.yaml")


class ReadError(NamedTuple):
    line: int
    col: int
    message: str


def is_candidate(path: Path, top: Path) -> bool:
    """In a walk of `top`: a local action (`action.yml`) or a workflow, i.e. a YAML file in
    `.github/workflows/` or directly in `top` when the user named a workflows folder."""
    name = path.name.lower()
    if name in ACTION_NAMES:
        return True
    if not name.endswith(YAML_SUFFIXES):
        return False
    in_github = path.parent.name == "workflows" and path.parent.parent.name == ".github"
    return in_github or path.parent == top


def discover(paths: Iterable[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """(files to migrate, [(path, problem)]) — directories are walked, files taken as given."""
    found: list[Path] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            found.append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules"))
                for f in sorted(files):
                    candidate = Path(root) / f
                    if is_candidate(candidate, p) and candidate.is_file():
                        add(candidate)
        elif p.is_file():
            add(p)
        elif p.exists() or p.is_symlink():
            problems.append((raw, "not a regular file or directory"))
        else:
            problems.append((raw, "no such file or directory"))
    return found, problems


def read_text(path: Path) -> str | ReadError:
    """The file as text (a UTF-8 BOM kept as U+FEFF, line endings untouched), or why not."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return ReadError(1, 1, f"cannot read: {e.strerror or e}")
    if b"\0" in data:
        return ReadError(1, 1, "binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        return ReadError(line, col, f"not UTF-8 (byte 0x{data[e.start]:02x})")


def rewrite(path: Path, text: str) -> str | None:
    """Replace the file's content (fsutil.atomic_write, keeping its mode); None or a problem.

    A symlink is written through: its target is replaced, the link stays.
    A file without any write permission bit is refused (left unchanged).
    """
    target = Path(os.path.realpath(path))
    try:
        st = target.stat()
    except OSError as e:
        return f"cannot stat: {e.strerror or e}"
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return "file is read-only: left unchanged"
    try:
        atomic_write(str(target), text.encode("utf-8"), stat.S_IMODE(st.st_mode))
    except OSError as e:
        return f"cannot write: {e.strerror or e}"
    return None


def repo_root(path: Path) -> Path:
    """The repository a workflow belongs to: the parent of `.github`, else the nearest `.git`."""
    resolved = path.resolve()
    for parent in resolved.parents:
        if parent.name == ".github":
            return parent.parent
    for parent in resolved.parents:
        if (parent / ".git").exists():
            return parent
    return resolved.parent
