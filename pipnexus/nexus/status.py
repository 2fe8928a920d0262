"""``pipnexus nexus status``: is Nexus up, writable, and does it serve the repository?

Exit 0 when healthy, 1 when not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
import urllib.parse
from typing import Any, NamedTuple

from pipnexus.nexus.apply import API, add_connection_arguments


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser, auth_required=False)
    parser.set_defaults(retries=1, timeout=10.0)
    parser.add_argument(
        "--repository", metavar="NAME", help="also check this repository and a canary page"
    )
    parser.add_argument(
        "--canary",
        default="pip",
        metavar="PROJECT",
        help="project whose /simple/ page the repository must serve (default: pip)",
    )


def _status(client: Any, path: str, name: str, bad: str) -> Check:
    resp = client.request("GET", path)
    if resp.status_code == 200:
        return Check(name, True, "ok")
    if resp.status_code == 503:
        return Check(name, False, f"{bad} (503)")
    return Check(name, False, f"unexpected answer {resp.status_code} from {path}")


def repository_checks(client: Any, name: str, canary: str, project: str) -> list[Check]:
    """The repository's listing entry and the page of ``canary`` (``project`` normalized)."""
    from pipnexus import probe
    from pipnexus.nexus.client import error_lines

    checks: list[Check] = []
    resp = client.request("GET", f"{API}/repositories")
    found: Any = None
    if resp.status_code == 200:
        try:
            listing = resp.json()
        except ValueError:
            listing = None
        if isinstance(listing, list):
            found = next(
                (r for r in listing if isinstance(r, dict) and r.get("name") == name), None
            )
        if found is None:
            checks.append(
                Check(f"repository {name}", False, "not found (or not visible to this user)")
            )
        else:
            online = "" if found.get("online", True) else ", offline"
            checks.append(
                Check(
                    f"repository {name}",
                    not online,
                    f"{found.get('format')} {found.get('type')}{online}",
                )
            )
    elif resp.status_code in (401, 403):
        checks.append(
            Check(
                f"repository {name}",
                False,
                f"cannot list repositories ({resp.status_code}): give --username and "
                "--password-env, or enable anonymous access",
            )
        )
    else:
        checks.append(
            Check(f"repository {name}", False, "; ".join(error_lines(resp.status_code, resp.text)))
        )
    if found is not None and found.get("format") not in (None, "pypi"):
        return checks
    page = (
        f"/repository/{urllib.parse.quote(name, safe='')}/simple/"
        f"{urllib.parse.quote(canary, safe='')}/"
    )
    resp = client.request("GET", page)
    label = f"canary {page}"
    if resp.status_code == 200:
        links = probe.count_project_files(resp.content, project)
        if links:
            checks.append(Check(label, True, f"200, {links} file link(s)"))
        else:
            checks.append(Check(label, False, "200 but no file links: not a simple index page"))
    else:
        reason = " ".join(re.sub(r"<[^>]+>", " ", resp.reason or "").split())
        checks.append(Check(label, False, f"{resp.status_code} {reason}".strip()))
    return checks


def run(args: argparse.Namespace) -> int:
    from pipnexus import probe
    from pipnexus.nexus.client import NexusError, client_from_args

    # a bad canary is an input error, found before any request
    project = probe.normalize_project(args.canary) if args.repository else ""
    client = client_from_args(args)
    try:
        up = _status(client, f"{API}/status", "status", "not ready")
        bad = "read-only" if up.ok else "not ready"
        checks = [up, _status(client, f"{API}/status/writable", "writable", bad)]
        if args.repository:
            checks.extend(repository_checks(client, args.repository, args.canary, project))
    except NexusError as e:
        print(f"pipnexus nexus status: {e.summary}", file=sys.stderr)
        print("unhealthy")
        return 1
    finally:
        client.close()
    for c in checks:
        print(f"{c.name}: {c.detail}")
    healthy = all(c.ok for c in checks)
    print("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1
