"""Errors that the CLI turns into one clear line and exit code 2.

Standard library only: the action's hot path raises these.
"""

from __future__ import annotations

# the code of an InputError that names none: a bad option value, argument or environment
USAGE = "usage"


class InputError(Exception):
    """Bad input from the user (arguments, environment, files): one line, exit 2.

    ``code`` is a key of ``diagnostics.CODES``; ``hint`` says what to do, when the message
    does not. ``path``/``line``/``col`` place it in a file, when it is about one. The message
    and hint must already be safe to print: no credentials.
    """

    def __init__(
        self,
        message: str,
        code: str = USAGE,
        hint: str | None = None,
        path: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint
        self.path = path
        self.line = line
        self.col = col
