"""The one option layer: every option shared by probe, configure and the nexus commands is
defined here once, with one validator and one default.

Commands add options with the ``add_*`` helpers (as pre-commit's ``_add_color_option`` does)
and turn the parsed values into typed settings with the matching ``parse_*`` function; domain
code never sees an ``argparse.Namespace``.

Empty values count as not given: the action passes every input, set or not.

Secrets: a password is never an option value. ``--password`` is refused before parsing
(:func:`refuse_password_argument`), and :class:`Parser` never repeats a value in a usage
error, so a password typed into the wrong option does not reach the log either.

Standard library only: ``configure`` imports this on the action's hot path.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence

from pipnexus._nt import NamedTuple
from pipnexus.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (pipnexus/_nt.py)
if TYPE_CHECKING:
    from typing import NoReturn

DEFAULT_REPOSITORY = "pypi-proxy"
DEFAULT_CANARY = "pip"
DEFAULT_FALLBACK = "https://pypi.org/simple"
# probe and configure: one deadline for probing every candidate together
DEFAULT_TIMEOUT = 3.0
# nexus apply/status: the timeout of each REST request
NEXUS_REQUEST_TIMEOUT = 30.0
# nexus status: a health check answers fast or not at all
NEXUS_STATUS_TIMEOUT = 10.0
# nexus apply/status: retries after connection errors and 5xx answers, with backoff
NEXUS_RETRIES = 3
NEXUS_STATUS_RETRIES = 1
NEXUS_MAX_RETRIES = 10
MAX_TIMEOUT = 300.0
# --format: probe, migrate, nexus lint and nexus status report as text (the default) or JSON;
# configure writes for a consumer, "auto" choosing github inside Actions, else shell
REPORT_FORMATS = ("text", "json")
CONFIGURE_FORMATS = ("auto", "github", "shell", "json", "dotenv")
PASSWORD_ENV = "PIPNEXUS_PASSWORD"
USERNAME_ENV = "PIPNEXUS_USERNAME"

# patterns stay strings, compiled (and cached by re) on first use, not in every job's start-up
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*\Z"
# ASCII only: with re.IGNORECASE, [A-Z] would also match "ı", "ſ" and the Kelvin sign
_PROJECT_NAME = r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\Z"

PASSWORD_REFUSED = (
    "--password is refused: a password on the command line shows in process lists and logs; "
    "put it in an environment variable and pass that variable's name with --password-env VAR"
)


class Credentials(NamedTuple):
    username: str | None = None
    password: str | None = None


# --- the parser --------------------------------------------------------------------------


def _without_values(message: str) -> str:
    """An argparse error with the offending values left out: they may be a password given
    to the wrong option or typed where no option takes it."""
    head, sep, rest = message.partition("unrecognized arguments: ")
    if sep:
        tokens = rest.split()
        options = [t.split("=", 1)[0] for t in tokens if t.startswith("-")]
        hidden = len(tokens) - len(options) + sum("=" in t for t in tokens if t.startswith("-"))
        shown = " ".join(options)
        if hidden:
            plural = "" if hidden == 1 else "s"
            shown = f"{shown} (and {hidden} value{plural}, not shown)".lstrip()
        return head + sep + shown
    return re.sub(
        r"(invalid choice|invalid [\w ]+ value): .*?(?=( \(choose from .*\))?\Z)",
        r"\1",
        message,
        flags=re.DOTALL,
    )


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line that never repeat a value, and no prefix
    matching (``--password`` must never be taken for ``--password-env``)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse builds a formatter for every add_argument, and HelpFormatter without a width
        # imports shutil (slow to import, on the action's hot path) just for the terminal width
        return self.formatter_class(prog=self.prog, width=help_width())  # type: ignore[call-arg]

    def error(self, message: str) -> NoReturn:
        message = " ".join(_without_values(message).split())
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help') [usage]\n")


def help_width() -> int:
    """The width HelpFormatter would use: shutil.get_terminal_size's columns (``COLUMNS``, else
    the terminal of stdout, else 80), minus 2."""
    import sys

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns - 2


def refuse_password_argument(argv: Sequence[str]) -> str | None:
    """The error line when ``argv`` gives ``--password`` (any command, any position), else
    None. Checked before parsing, so no parser can echo the value."""
    for token in argv:
        if token == "--":
            break
        if token == "--password" or token.startswith("--password="):
            return PASSWORD_REFUSED
    return None


# --- adding options ----------------------------------------------------------------------


def add_index_location(parser: argparse.ArgumentParser) -> None:
    """--index-url (repeatable), --nexus-url and --repository: where the index is."""
    parser.add_argument(
        "--index-url", action="append", default=[], metavar="URL",
        help="candidate simple index URL; repeatable, or several separated by blanks, in "
        "order of preference",
    )
    parser.add_argument(
        "--nexus-url", metavar="URL",
        help="Nexus base URL, e.g. http://nexus3.ns.svc:8081; the index is "
        "<URL>/repository/<repository>/simple/",
    )
    add_repository(parser, help_text=f"Nexus PyPI proxy repository (default: "
                   f"{DEFAULT_REPOSITORY}; with PIPNEXUS_NEXUS_URL: PIPNEXUS_REPOSITORY)")


def add_repository(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--repository", metavar="NAME", help=help_text)


def add_credentials(parser: argparse.ArgumentParser, default_username: str | None = None) -> None:
    """--username and --password-env (never a password itself)."""
    default = f" (default: {default_username})" if default_username else ""
    parser.add_argument(
        "--username", default=default_username, metavar="USER",
        help=f"user name for HTTP basic auth{default}",
    )
    parser.add_argument(
        "--password-env", metavar="VAR",
        help="NAME of the environment variable holding the password (a password is never "
        "accepted on the command line)",
    )


def add_timeout(parser: argparse.ArgumentParser, default: float = DEFAULT_TIMEOUT) -> None:
    what = (
        "one deadline for probing all candidates together"
        if default == DEFAULT_TIMEOUT
        else "timeout of each request"
    )
    parser.add_argument(
        "--timeout", default=str(default), metavar="SECONDS",
        help=f"{what} (default: {default:g}; at most {MAX_TIMEOUT:g})",
    )


def add_canary(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--canary", default=DEFAULT_CANARY, metavar="PROJECT",
        help=f"project whose index page must list files (default: {DEFAULT_CANARY})",
    )


def add_ca_cert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ca-cert", metavar="FILE",
        help="PEM CA certificate to verify an https Nexus with",
    )


def add_format(
    parser: argparse.ArgumentParser, help_text: str, formats: Sequence[str] = REPORT_FORMATS
) -> None:
    """``--format``, the first of ``formats`` by default. Configure's value is checked by its
    settings instead of by argparse: the action passes an empty value for an unset input."""
    if tuple(formats) == REPORT_FORMATS:
        parser.add_argument("--format", choices=REPORT_FORMATS, default=formats[0],
                            help=help_text)
    else:
        parser.add_argument("--format", default=formats[0], metavar="FORMAT", help=help_text)


# --- parsing values ----------------------------------------------------------------------


def given(value: str | None) -> str | None:
    """``value``, or None when it is absent or empty (the action passes unset inputs as "")."""
    return value if value else None


def no_breaks(value: str, what: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise InputError(f"{what} contains a line break or NUL character")
    return value


def read_password_env(name: str, environ: Mapping[str, str]) -> str:
    """The password held by the environment variable ``name`` (``--password-env``).

    The same exit-2 error in every command when it is unset or empty. Neither message
    repeats ``name``: it may be a password given by mistake.
    """
    if not re.match(ENV_NAME, name):
        raise InputError("--password-env takes the NAME of an environment variable, not a value")
    password = environ.get(name)
    if not password:
        raise InputError("the environment variable named by --password-env is not set or empty")
    return no_breaks(password, "the password")


def parse_credentials(
    username: str | None,
    password_env: str | None,
    environ: Mapping[str, str],
    from_environment: bool,
) -> Credentials:
    """--username/--password-env; with ``from_environment`` also PIPNEXUS_USERNAME and
    PIPNEXUS_PASSWORD (the runner's own settings, for probe and configure)."""
    user = given(username)
    password = read_password_env(password_env, environ) if password_env else None
    if from_environment:
        user = user or given(environ.get(USERNAME_ENV))
        password = password or given(environ.get(PASSWORD_ENV))
    if user is not None:
        no_breaks(user, "the user name")
    if password is not None:
        no_breaks(password, "the password")
    return Credentials(user, password)


def parse_timeout(value: str | None, default: float = DEFAULT_TIMEOUT) -> float:
    if not given(value):
        return default
    assert value is not None
    try:
        seconds = float(value)
    except ValueError:
        raise InputError("--timeout must be a number of seconds") from None
    if not 0 < seconds <= MAX_TIMEOUT:  # also rejects NaN
        raise InputError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    return seconds


def is_project_name(name: str) -> bool:
    """Whether ``name`` is a valid project name (PEP 508), at most 200 characters."""
    return isinstance(name, str) and len(name) <= 200 and bool(re.match(_PROJECT_NAME, name))


def normalize_project(name: str) -> str:
    """PEP 503 normalized form of a valid project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_canary(value: str | None) -> str:
    canary = given(value) or DEFAULT_CANARY
    if not is_project_name(canary):
        raise InputError("--canary must be a project name (letters, digits, '.', '_', '-')")
    return canary


def parse_ca_cert(value: str | None) -> str | None:
    """The absolute path of a readable CA file, or None."""
    path = given(value)
    if path is None:
        return None
    no_breaks(path, "--ca-cert")
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        # the path is not repeated: it may be a secret given to the wrong option
        raise InputError("--ca-cert does not name a readable file")
    return os.path.abspath(path)


def parse_repository(value: str | None, default: str | None = DEFAULT_REPOSITORY) -> str | None:
    from pipnexus.urls import validate_repository

    name = given(value.strip() if value is not None else None) or default
    return validate_repository(name) if name is not None else None
