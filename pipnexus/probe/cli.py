"""``pipnexus probe``: probe the candidates and print one line (or JSON object) for each.

Exit status: 0 when a candidate is healthy, 1 when none is, 2 for bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NamedTuple

from pipnexus import options
from pipnexus.diagnostics import Diagnostic, format_command
from pipnexus.options import Credentials
from pipnexus.probe.candidates import Result, Target, resolve_candidates
from pipnexus.probe.engine import probe


class Settings(NamedTuple):
    targets: list[Target]
    notes: list[Diagnostic]
    canary: str
    timeout: float
    cafile: str | None
    credentials: Credentials
    json: bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_index_location(parser)
    options.add_canary(parser)
    options.add_timeout(parser)
    options.add_ca_cert(parser)
    options.add_credentials(parser)
    options.add_format(parser, "text: a table, one candidate a line (default); json: a list of "
                       "objects, one a candidate")
    parser.epilog = (
        "Without --index-url/--nexus-url the candidates come from PIPNEXUS_INDEX_URL "
        "(space-separated) or PIPNEXUS_NEXUS_URL and PIPNEXUS_REPOSITORY; credentials from "
        "--username/--password-env or PIPNEXUS_USERNAME/PIPNEXUS_PASSWORD. "
        "Exit status: 0 if a candidate is healthy, 1 if none is, 2 for bad input."
    )


def settings_of(args: argparse.Namespace) -> Settings:
    """The typed settings of the command line; InputError for a bad value."""
    environ = os.environ
    timeout = options.parse_timeout(args.timeout)
    canary = options.parse_canary(args.canary)
    credentials = options.parse_credentials(
        args.username, args.password_env, environ, from_environment=True
    )
    cafile = options.parse_ca_cert(args.ca_cert)
    index_urls = [u for value in args.index_url for u in value.split(" ") if u]
    repository = options.given(args.repository)
    candidates = resolve_candidates(
        index_urls, options.given(args.nexus_url), repository, environ
    )
    return Settings(
        candidates.targets, candidates.notes, canary, timeout, cafile, credentials,
        args.format == "json",
    )


def format_text(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        state = "healthy" if r.healthy else "unhealthy"
        lines.append(
            f"{state:<9}  {r.reason or '-':<18}  {r.latency_ms:>6} ms  {r.url}  {r.detail}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    for note in settings.notes:
        print(format_command("pipnexus probe", note), file=sys.stderr)
    results = probe(
        settings.targets,
        canary=settings.canary,
        timeout=settings.timeout,
        cafile=settings.cafile,
        credentials=settings.credentials,
    )
    healthy = any(r.healthy for r in results)
    if settings.json:
        import json

        payload = {"healthy": healthy, "candidates": [r._asdict() for r in results]}
        print(json.dumps(payload, indent=2))
    else:
        print(format_text(results))
    return 0 if healthy else 1
