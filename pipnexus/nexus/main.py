"""``pipnexus nexus values|lint|apply|status``: the cluster side.

Only the standard library is imported here; each subcommand's module (and ruamel.yaml or
requests) is imported when that subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib

from pipnexus.errors import InputError

SUBCOMMANDS = (
    (
        "values",
        "pipnexus.nexus.values",
        "print Helm values for the stevehipwell/nexus3 chart with a PyPI proxy",
        "Print complete, commented values for the stevehipwell/nexus3 chart (5.x): root "
        "password Secret, persistence, resources, anonymous access and a PyPI proxy "
        "repository with every field Nexus requires.",
    ),
    (
        "lint",
        "pipnexus.nexus.lint",
        "check a values file against what Nexus and the chart accept",
        "Report 'FILE:LINE:COL: severity: message [code]' for every problem Nexus or the "
        "chart would reject or silently ignore, by the rules of one Nexus version "
        "(--nexus-version, else image.tag, else the newest known). Exit 1 when there are "
        "errors, 2 when the file is not valid YAML.",
    ),
    (
        "apply",
        "pipnexus.nexus.apply",
        "create or update repositories and anonymous access over the REST API",
        "First checks that --url is Nexus (its status endpoint, without credentials; exit 2 "
        "when something else answers). For each repository: GET it; create it when absent, "
        "replace it when different, "
        "leave it alone when equal. Shows every change first; --dry-run changes nothing. "
        "A --values file is linted for the Nexus version the server names.",
    ),
    (
        "status",
        "pipnexus.nexus.status",
        "check that Nexus is up, writable and serves a repository (and its Docker proxy)",
        "Check that --url is Nexus (exit 2 when something else answers), that "
        "/service/rest/v1/status and /status/writable answer 200 and, with --repository, that the "
        "repository exists and serves a canary project page; report the Nexus version from "
        "the Server header; with --docker-url, that an anonymous docker pull would be "
        "allowed by the Docker proxy's connector. Exit 1 when unhealthy.",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="nexus_command", metavar="SUBCOMMAND")
    for name, module_name, help_text, description in SUBCOMMANDS:
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=description)
        module.add_arguments(p)
        p.set_defaults(_nexus_module=module_name, _parser=p)
    parser.set_defaults(_nexus_parser=parser)


def run(args: argparse.Namespace) -> int:
    module_name = getattr(args, "_nexus_module", None)
    if not module_name:
        names = ", ".join(name for name, *_ in SUBCOMMANDS)
        raise InputError(f"a subcommand is required: one of {names} (see 'pipnexus nexus --help')")
    module = importlib.import_module(module_name)
    return int(module.run(args))
