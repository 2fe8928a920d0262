"""The GitHub Actions runner protocol: workflow commands and file commands.

Standard library only. Workflow commands (``::name k=v::message``) travel over stdout and are
escaped the way actions/toolkit escapes them. File commands (``GITHUB_ENV``, ``GITHUB_OUTPUT``)
are appended so that the runner's parser (actions/runner:
src/Runner.Worker/FileCommandManager.cs) reads back exactly the one variable written, whatever
the value holds.
"""

from __future__ import annotations

import os


def escape_data(text: str) -> str:
    """Escape a workflow command's message (actions/toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (actions/toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", **props: object) -> str:
    """One workflow command line (without the newline).

    Properties use the runner's names (``file``, ``line``, ``endLine``, ``title``); ``None``
    values are left out.
    """
    parts = [
        f"{key}={escape_property(str(value))}" for key, value in props.items() if value is not None
    ]
    head = name + (" " + ",".join(parts) if parts else "")
    return f"::{head}::{escape_data(message)}"


def add_mask(value: str) -> list[str]:
    """``::add-mask::`` lines for ``value``; empty for an empty value.

    The runner masks line by line, so a value spanning lines is also masked line by line.
    """
    lines = [value] + (value.splitlines() if ("\n" in value or "\r" in value) else [])
    return [command("add-mask", line) for line in dict.fromkeys(lines) if line.strip()]


def _check(value: str, what: str) -> None:
    if "\0" in value:
        raise ValueError(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text") from None


def _is_name(name: str, dashes: bool = False) -> bool:
    """Whether ``name`` is ``[A-Za-z_][A-Za-z0-9_]*``, with ``dashes`` also ``-`` after the first
    character (outputs are read back with steps.<id>.outputs.<name>: dashes are allowed there).
    An ASCII identifier: no regular expression to compile in every job (start-up)."""
    plain = name.replace("-", "_") if dashes and not name.startswith("-") else name
    return plain.isascii() and plain.isidentifier()


def format_file_command(name: str, value: str, dashes: bool = False) -> str:
    """The text appended for ``name``: ``NAME=value`` or, for a value with CR/LF, a heredoc.

    The heredoc delimiter is random and checked absent from the value (as actions/toolkit does),
    so no line of the value can end the heredoc early and start a new variable.
    """
    if not _is_name(name, dashes):
        raise ValueError(f"invalid variable name {name!r}")
    _check(value, f"value of {name}")
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    while True:
        delimiter = "ghadelimiter_" + os.urandom(16).hex()
        if delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _append(path: str, text: str) -> None:
    # one write of the whole record: an interrupted run can't leave half a variable behind
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(text)


def append_env(path: str, name: str, value: str) -> None:
    """Append ``name=value`` to the ``GITHUB_ENV`` file at ``path``."""
    _append(path, format_file_command(name, value))


def append_output(path: str, name: str, value: str) -> None:
    """Append ``name=value`` to the ``GITHUB_OUTPUT`` file at ``path``."""
    _append(path, format_file_command(name, value, dashes=True))


def append_summary(path: str, markdown: str) -> None:
    """Append Markdown to the ``GITHUB_STEP_SUMMARY`` file at ``path``."""
    _check(markdown, "step summary")
    _append(path, markdown if markdown.endswith("\n") else markdown + "\n")
