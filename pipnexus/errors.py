"""Errors that the CLI turns into one clear line and exit code 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the user (arguments, environment, files): one line, exit 2.

    The message must already be safe to print: no credentials.
    """
