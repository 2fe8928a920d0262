"""Command line entry point: ``pipnexus <command> ...``.

Each command lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int``. Those modules import only the standard library at import time, so
``python3 -S -m pipnexus configure`` works on a runner without pip; heavy dependencies
(ruamel.yaml, requests) are imported inside ``run``. Only the module of the command that runs
is imported (``--help`` imports them all).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pipnexus import __version__
from pipnexus._nt import NamedTuple
from pipnexus.errors import InputError
from pipnexus.options import Parser, refuse_password_argument


class Command(NamedTuple):
    name: str
    module: str
    help: str
    description: str


COMMANDS = (
    Command(
        "probe",
        "pipnexus.probe.cli",
        "check whether a Nexus PyPI proxy (or any simple index) is healthy",
        "Probe candidate package indexes in parallel under one deadline and report, for each, "
        "whether it is healthy and, if not, a stable reason code (dns, refused, timeout, tls, "
        "auth, not-found, remote-blocked, remote-unreachable, unavailable, not-an-index, "
        "redirect, bad-response). Exit 0 when one is healthy, 1 when none is.",
    ),
    Command(
        "configure",
        "pipnexus.configure",
        "probe, choose an index and point pip, uv, pipenv, pdm and poetry at it",
        "Probe the Nexus PyPI proxy and configure every Python installer of the job to use it, "
        "or the fallback index (pypi.org) when it is unhealthy. Inside GitHub Actions this "
        "writes GITHUB_ENV, GITHUB_OUTPUT and the step summary; elsewhere it prints shell "
        "exports, dotenv lines or a JSON decision. With no index given at all it changes "
        "nothing (source none, reason not-configured) and exits 0, 1 with --require-nexus.",
    ),
    Command(
        "hook",
        "pipnexus.hook",
        "the runner's job-started hook: configure every job of a runner, no workflow edited",
        "Run by the shell hook that ACTIONS_RUNNER_HOOK_JOB_STARTED names on a self-hosted "
        "runner: probe the Nexus of the runner's PIPNEXUS_* variables and point the job's "
        "installers at it (or the fallback) through GITHUB_ENV, with one line in the job log. "
        "Exit 0 even when nothing could be configured, unless PIPNEXUS_REQUIRE_NEXUS=true. "
        "--print-script, --build-zipapp and --configmap deliver it to runner pods.",
    ),
    Command(
        "migrate",
        "pipnexus.migrate.main",
        "rewrite workflows to stop downloading GitHub caches for Python and use the action",
        "Rewrite GitHub Actions workflows and composite actions in place, byte-preserving: drop "
        "setup-python/setup-uv caches and actions/cache steps for Python package caches, and "
        "insert the pipnexus step. --check and --diff change nothing.",
    ),
    Command(
        "nexus",
        "pipnexus.nexus.main",
        "generate and lint Helm values, provision repositories, check Nexus status",
        "Cluster side: Helm values for the stevehipwell/nexus3 chart that work the first time, "
        "a linter for existing values, idempotent repository provisioning over the Nexus REST "
        "API, and a health check.",
    ),
    Command(
        "demo",
        "pipnexus.demo",
        "show what pipnexus does on a built-in example (no Nexus needed)",
        "Probe an unreachable Nexus on this machine and show the fallback decision and what "
        "would be configured, then show the migration of a bundled example workflow as a diff. "
        "Changes nothing.",
    ),
)


def _chosen(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs (its first word), or None (help, version, a usage error)."""
    names = {c.name for c in COMMANDS}
    return argv[0] if argv and argv[0] in names else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``only`` (argv's first word), only that command's
    parser is built and only its module imported, so ``configure`` loads none of the other
    commands' code (the others' parsers would never be used: errors and help come from the
    chosen command's parser)."""
    parser = Parser(
        prog="pipnexus",
        description="Route CI Python package downloads through an in-cluster Nexus PyPI proxy.",
    )
    parser.add_argument("--version", action="version", version=f"pipnexus {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        if only is not None and command.name != only:
            continue
        cmd_parser = sub.add_parser(
            command.name, help=command.help, description=command.description
        )
        # __import__, not importlib.import_module: the importlib package is one more module
        # to load at start-up
        __import__(command.module)
        module = sys.modules[command.module]
        module.add_arguments(cmd_parser)
        # the innermost parser of the command line (nexus sets its subcommands'): its prog
        # prefixes fatal errors, its error() reports arguments that no parser took
        cmd_parser.set_defaults(_run=module.run, _parser=cmd_parser)
    return parser


def _safe(error: BaseException, args: argparse.Namespace) -> str:
    """The error's text on one line, with URL passwords and known secret values hidden."""
    from pipnexus.urls import redact, secret_forms, url_secrets

    secrets = [os.environ.get("PIPNEXUS_PASSWORD", "")]
    password_env = getattr(args, "password_env", None)
    if password_env:
        secrets.append(os.environ.get(password_env, ""))
    # passwords in URL arguments, also in forms no URL shows (base64 in an Authorization header)
    for value in vars(args).values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                secrets.extend(url_secrets(item))
    username = getattr(args, "username", None) or os.environ.get("PIPNEXUS_USERNAME")
    forms = secret_forms([s for s in secrets if s], username)
    text = " ".join(str(error).split())
    return redact(text, tuple(sorted(forms, key=len, reverse=True)))


def _fatal(prog: str, error: InputError, args: argparse.Namespace) -> str:
    """The one line of an InputError: ``prog: error: message [code]`` (or placed in a file)."""
    from pipnexus.diagnostics import Diagnostic, format_command

    message = _safe(error, args)
    if error.hint:
        message = f"{message}; {_safe(Exception(error.hint), args)}"
    where = (error.path, error.line, error.col)
    return format_command(prog, Diagnostic("error", message, error.code, *where))


def _usage_error(message: str) -> None:
    """A usage error before any command's parser: ``pipnexus: error: message [usage]``."""
    from pipnexus.diagnostics import Diagnostic, format_command

    print(format_command("pipnexus", Diagnostic("error", message, "usage")), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    refused = refuse_password_argument(argv)
    if refused:
        _usage_error(refused)
        return 2
    parser = build_parser(_chosen(argv))
    args, extra = parser.parse_known_args(argv)
    here: argparse.ArgumentParser = getattr(args, "_parser", parser)
    if extra:
        # argparse leaves these to the top parser, whose error points at `pipnexus --help`
        here.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "_run", None):
        names = ", ".join(c.name for c in COMMANDS)
        _usage_error(f"a command is required: one of {names} (see 'pipnexus --help')")
        return 2
    try:
        return int(args._run(args))
    except InputError as e:
        print(_fatal(here.prog, e, args), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. piped to head): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as e:  # never show users a traceback; PIPNEXUS_DEBUG=1 re-raises
        if os.environ.get("PIPNEXUS_DEBUG"):
            raise
        problem = InputError(
            f"internal error: {type(e).__name__}: {e}",
            "internal-error",
            hint="set PIPNEXUS_DEBUG=1 for details",
        )
        print(_fatal(here.prog, problem, args), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
