"""Unified diffs of a migration, optionally coloured (standard library only)."""

from __future__ import annotations

import difflib

_RED, _GREEN, _CYAN, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[36m", "\033[1m", "\033[0m"


def unified_diff(path: str, old: str, new: str, color: bool = False) -> str:
    """A `diff -u` style diff of old -> new labelled a/path and b/path; "" when equal."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}"):
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"
        if color:
            if line.startswith(("+++", "---")):
                line = _BOLD + line.rstrip("\r\n") + _RESET + "\n"
            elif line.startswith("@@"):
                line = _CYAN + line.rstrip("\r\n") + _RESET + "\n"
            elif line.startswith("+"):
                line = _GREEN + line.rstrip("\r\n") + _RESET + line[len(line.rstrip("\r\n")) :]
            elif line.startswith("-"):
                line = _RED + line.rstrip("\r\n") + _RESET + line[len(line.rstrip("\r\n")) :]
        out.append(line)
    return "".join(out)
