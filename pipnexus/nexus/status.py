"""``pipnexus nexus status``: is Nexus up, writable, and does it serve the repository?

Each check is a :class:`~pipnexus.diagnostics.Diagnostic` (a note when it passes, an error when
it fails), then one last line ``healthy`` or ``unhealthy``; ``--format json`` prints one object
``{"healthy": ..., "nexus_version": ..., "diagnostics": [...]}``. The Nexus version comes from
the ``Server`` header. Exit 0 when healthy, 1 when not, 2 on bad input.

``--docker-url`` also checks a Docker connector as an anonymous ``docker pull`` meets it, up
to the manifest of a canary image (:mod:`pipnexus.nexus.docker`).
"""

from __future__ import annotations

import argparse
import os
import urllib.parse
from typing import Any, NamedTuple

from pipnexus import options
from pipnexus.diagnostics import Diagnostic
from pipnexus.nexus import schema
from pipnexus.nexus.apply import API
from pipnexus.nexus.docker import DEFAULT_CANARY, Canary, docker_check, parse_canary


class Settings(NamedTuple):
    repository: str | None
    canary: str
    project: str  # the canary, normalized (PEP 503)
    fmt: str  # text | json
    docker_url: str | None = None  # the Docker connector's base URL, without trailing slash
    docker_canary: Canary = parse_canary(DEFAULT_CANARY)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipnexus.nexus.client import add_connection_arguments

    add_connection_arguments(
        parser,
        default_username=None,
        default_timeout=options.NEXUS_STATUS_TIMEOUT,
        default_retries=options.NEXUS_STATUS_RETRIES,
    )
    options.add_repository(parser, help_text="also check this repository and a canary page")
    options.add_canary(parser)
    parser.add_argument(
        "--docker-url",
        metavar="URL",
        help="also check the Docker connector at URL (e.g. http://nexus3.nexus.svc.cluster.local"
        ":8082) as an anonymous docker pull meets it, up to the manifest of --docker-canary",
    )
    parser.add_argument(
        "--docker-canary",
        metavar="IMAGE:TAG",
        help=f"the image whose manifest --docker-url must serve (default: {DEFAULT_CANARY}; "
        "a one-part name gets library/, as docker pull gives it)",
    )
    options.add_format(
        parser,
        "text: one 'severity: message [code]' line a finding, then healthy or unhealthy "
        "(default); json: one object",
    )


def parse_docker_url(value: str | None) -> str | None:
    from pipnexus import urls
    from pipnexus.errors import InputError

    text = options.given(value)
    if text is None:
        return None
    parsed = urls.parse_url(text, "--docker-url")
    if parsed.has_credentials:
        raise InputError("--docker-url must not contain credentials: the check is anonymous")
    return parsed.bare.rstrip("/")


def check(ok: bool, message: str, code: str) -> Diagnostic:
    return Diagnostic("note" if ok else "error", message, code)


def _status(client: Any, path: str, name: str, bad: str, code: str, resp: Any = None) -> Diagnostic:
    """The check of a status endpoint's answer ``resp`` (None: GET ``path`` now)."""
    if resp is None:
        resp = client.request("GET", path)
    if resp.status_code == 200:
        return check(True, f"{name}: ok", code)
    if resp.status_code == 503:
        return check(False, f"{name}: {bad} (503)", code)
    return check(False, f"{name}: unexpected answer {resp.status_code} from {path}", code)


def version_check(client: Any) -> Diagnostic:
    """Which Nexus answered, and whose rules ``lint``/``apply`` use for it."""
    server = client.server
    if server is None:
        return Diagnostic(
            "warning",
            "version: the Server header names no Nexus version (a proxy in between?); "
            f"apply uses the rules of the newest known, Nexus {schema.NEWEST}",
            "nexus-version",
        )
    version = server.version
    rules = ""
    if version < schema.OLDEST:
        rules = f"; older than every version checked: apply uses the rules of {schema.OLDEST}"
    elif version > schema.NEWEST:
        rules = f"; newer than every version checked: apply uses the rules of {schema.NEWEST}"
    return Diagnostic("note", f"version: Nexus {server.text}{rules}", "nexus-version")


def _json_of(resp: Any) -> Any:
    """The JSON body of a response, or None when it is not JSON."""
    try:
        return resp.json()
    except ValueError:
        return None


def repository_checks(client: Any, name: str, canary: str, project: str) -> list[Diagnostic]:
    """The repository's listing entry and the page of ``canary`` (``project`` normalized)."""
    from pipnexus.nexus.answers import answer_text, error_lines
    from pipnexus.probe import count_project_files

    checks: list[Diagnostic] = []
    label = f"repository {name}"
    resp = client.request("GET", f"{API}/repositories")
    found: Any = None
    if resp.status_code == 200:
        listing = _json_of(resp)
        if isinstance(listing, list):
            found = next(
                (r for r in listing if isinstance(r, dict) and r.get("name") == name), None
            )
        if found is None:
            checks.append(
                check(
                    False, f"{label}: not found (or not visible to this user)", "repository-exists"
                )
            )
        else:
            online = "" if found.get("online", True) else ", offline"
            detail = f"{found.get('format')} {found.get('type')}{online}"
            checks.append(check(not online, f"{label}: {detail}", "repository-exists"))
    elif resp.status_code in (401, 403):
        checks.append(
            check(
                False,
                f"{label}: cannot list repositories ({resp.status_code}): give --username and "
                "--password-env, or enable anonymous access",
                "repository-exists",
            )
        )
    else:
        detail = "; ".join(error_lines(resp.status_code, resp.text))
        checks.append(check(False, f"{label}: {detail}", "repository-exists"))
    if found is not None and found.get("format") not in (None, "pypi"):
        return checks
    page = (
        f"/repository/{urllib.parse.quote(name, safe='')}/simple/"
        f"{urllib.parse.quote(canary, safe='')}/"
    )
    resp = client.request("GET", page)
    label = f"canary {page}"
    if resp.status_code == 200:
        links = count_project_files(resp.content, project)
        if links:
            checks.append(check(True, f"{label}: 200, {links} file link(s)", "repository-serves"))
        else:
            checks.append(
                check(
                    False,
                    f"{label}: 200 but no file links: not a simple index page",
                    "repository-serves",
                )
            )
    else:
        checks.append(check(False, f"{label}: {answer_text(resp)}", "repository-serves"))
    return checks


def checks_of(client: Any, settings: Settings) -> list[Diagnostic]:
    from pipnexus.nexus.client import check_nexus

    answer = check_nexus(client)  # InputError (exit 2) when it is not Nexus at all
    up = _status(client, f"{API}/status", "status", "not ready", "nexus-status", answer)
    bad = "read-only" if up.severity == "note" else "not ready"
    found = [up, _status(client, f"{API}/status/writable", "writable", bad, "nexus-writable")]
    found.append(version_check(client))
    if settings.repository:
        found.extend(
            repository_checks(client, settings.repository, settings.canary, settings.project)
        )
    return found


def report(found: list[Diagnostic], healthy: bool, version: str | None, fmt: str) -> None:
    from pipnexus import diagnostics
    from pipnexus.nexus.lint import emit

    if fmt == "json":
        emit(found, "json", {"healthy": healthy, "nexus_version": version})
        return
    for d in found:
        print(diagnostics.format_command("pipnexus nexus status", d))
    print("healthy" if healthy else "unhealthy")


def run(args: argparse.Namespace) -> int:
    from pipnexus.nexus.client import NexusError, client_for, connection

    conn = connection(args, os.environ, options.NEXUS_STATUS_TIMEOUT, options.NEXUS_STATUS_RETRIES)
    repository = options.parse_repository(args.repository, default=None)
    # a bad canary is an input error, found before any request
    canary = options.parse_canary(args.canary)
    settings = Settings(
        repository,
        canary,
        options.normalize_project(canary),
        args.format,
        parse_docker_url(args.docker_url),
        parse_canary(args.docker_canary),
    )
    client = client_for(conn)
    try:
        found = checks_of(client, settings)
    except NexusError as e:
        found = [Diagnostic("error", e.summary, "nexus-unreachable")]
    finally:
        client.close()
    if settings.docker_url:
        # anonymous on purpose: --username/--password-env are for the REST API only
        anonymous = conn._replace(url=settings.docker_url, username=None, password=None)
        found.append(docker_check(anonymous, settings.docker_canary))
    healthy = not any(d.severity == "error" for d in found)
    server = client.server
    report(found, healthy, str(server.version) if server else None, settings.fmt)
    return 0 if healthy else 1
