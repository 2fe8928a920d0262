"""`pipnexus demo`: show the main jobs on built-in examples, changing nothing.

1. The action's decision: probe a Nexus on a loopback port where nothing listens, fall back
   to pypi.org and print what would be configured (shell format).
2. The migration: `pipnexus migrate --diff` of the bundled example workflow.
"""

from __future__ import annotations

import argparse
import socket
import sys

EXAMPLE = "examples/ci.yml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nexus-url",
        metavar="URL",
        help="probe this Nexus instead of a closed port on 127.0.0.1 (try your own)",
    )
    parser.add_argument(
        "--timeout", default="1", metavar="SECONDS", help="probe deadline (default 1)"
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _heading(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def example_workflow() -> str:
    from importlib import resources

    return resources.files("pipnexus").joinpath(EXAMPLE).read_text(encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    from pipnexus.cli import main

    nexus_url = args.nexus_url or f"http://127.0.0.1:{closed_port()}"
    configure_argv = [
        "configure",
        "--nexus-url",
        nexus_url,
        "--timeout",
        args.timeout,
        "--format",
        "shell",
        "--no-warnings",
    ]
    _heading("1. The action: probe Nexus, decide, configure every installer")
    print(f"$ pipnexus {' '.join(configure_argv)}", flush=True)
    sys.stderr.flush()
    rc = main(configure_argv)
    sys.stdout.flush()
    sys.stderr.flush()
    if rc != 0:
        return rc

    from pipnexus.diagnostics import Diagnostic, format_text
    from pipnexus.migrate import migrate_text
    from pipnexus.migrate.diff import unified_diff

    _heading(f"2. pipnexus migrate --diff {EXAMPLE} (a bundled example workflow)")
    text = example_workflow()
    result = migrate_text(text, EXAMPLE)
    if result.error:
        print(format_text(result.error))
        return 2
    sys.stdout.write(unified_diff(EXAMPLE, text, result.new_text, color=sys.stdout.isatty()))
    # the changes as migrate's rules name them (each rule's name is its code)
    for change in result.changes:
        print(format_text(Diagnostic("note", change.message, change.rule, EXAMPLE, change.line)))
    for finding in result.findings:
        print(format_text(finding))

    _heading("Nothing was changed. Next steps")
    print(
        "  in a repository:  pipnexus migrate --diff   (then without --diff to write)\n"
        "  in a workflow:    - uses: pipnexus/pipnexus@v1   with nexus-url: http://<nexus>:8081\n"
        "  in the cluster:   pipnexus nexus values -o nexus-values.yaml"
    )
    return 0
