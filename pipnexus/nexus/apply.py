"""``pipnexus nexus apply``: create or update repositories and anonymous access, idempotently.

For each repository: GET it; absent -> POST (201); different -> PUT (204, a full replacement);
equal -> nothing. Every change is shown before it is made; ``--dry-run`` only shows them.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from typing import TYPE_CHECKING, Any, NamedTuple

from pipnexus import options
from pipnexus.diagnostics import Diagnostic
from pipnexus.errors import InputError
from pipnexus.nexus import schema
from pipnexus.nexus import values as values_mod

if TYPE_CHECKING:
    from pipnexus.nexus.client import Client

API = "/service/rest/v1"
# Nexus reads these enum-like strings case-insensitively and returns them upper-cased
CASE_INSENSITIVE = frozenset({"writePolicy", "indexType"})
# write-only: GET never returns them, so they cannot be compared
WRITE_ONLY = frozenset({"password", "bearerToken"})
# set on the server but absent from our body: a PUT (full replacement) removes them
REMOVED_BY_PUT = ("cleanup", "routingRuleName", "httpClient.authentication", "replication")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipnexus.nexus.client import add_connection_arguments

    add_connection_arguments(
        parser,
        default_username="admin",
        default_timeout=options.NEXUS_REQUEST_TIMEOUT,
        default_retries=options.NEXUS_RETRIES,
    )
    parser.add_argument(
        "--values",
        metavar="FILE",
        help="apply config.blobStores (file stores), config.repos and config.anonymous of a "
        "values file for the stevehipwell/nexus3 chart; it is linted first, for the Nexus "
        "version the server names",
    )
    values_mod.add_repository_arguments(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change, change nothing"
    )


class Change(NamedTuple):
    kind: str  # "create" | "update" | "unchanged"
    fmt: str
    rtype: str
    name: str
    details: list[str]

    @property
    def what(self) -> str:
        return f"{self.name} ({self.fmt} {self.rtype})"


class ValuesFile(NamedTuple):
    path: str
    text: str


class Desired(NamedTuple):
    blob_stores: list[dict[str, Any]]  # config.blobStores entries
    repos: list[dict[str, Any]]  # config.repos entries
    anonymous: bool | None  # None: leave anonymous access alone
    source: ValuesFile | None = None  # the values file they come from, linted again per version


def lint_values(source: ValuesFile, version: schema.Version | None) -> None:
    """Refuse (exit 2) a values file with lint errors for Nexus ``version``; None: errors in
    every known version only (before the server has named its version)."""
    from pipnexus import diagnostics
    from pipnexus.nexus import lint

    try:
        found = lint.lint_text(source.text, version, every_version=version is None)
    except lint.YamlSyntaxError as e:
        d = e.diagnostic(source.path)
        raise InputError(d.message, d.code, path=d.path, line=d.line, col=d.col) from None
    errors = [d._replace(path=source.path) for d in found if d.severity == "error"]
    if errors:
        for d in errors:
            print(diagnostics.format_text(d), file=sys.stderr)
        which = f" for Nexus {version}" if version else ""
        raise InputError(
            f"{source.path} has {len(errors)} lint error(s){which}; fix them first "
            f"(pipnexus nexus lint {source.path})",
            "values-lint-errors",
        )


def desired_from_values(path: str) -> Desired:
    import json

    from pipnexus.nexus import lint

    source = ValuesFile(path, lint.read(path))
    lint_values(source, None)
    # round-trip through JSON: plain dicts/lists instead of ruamel's commented types
    doc = json.loads(json.dumps(lint.load(source.text)))
    config = doc.get("config") or {}
    anon = config.get("anonymous")
    anonymous = anon.get("enabled") if isinstance(anon, dict) else None
    return Desired(
        config.get("blobStores") or [],
        config.get("repos") or [],
        anonymous if isinstance(anonymous, bool) else None,
        source,
    )


def rest_body(repo: dict[str, Any]) -> dict[str, Any]:
    """The chart entry minus what the chart strips (format, type, secret references)."""
    return {k: v for k, v in repo.items() if k not in ("format", "type", "password", "bearerToken")}


def plan_blob_store(client: Client, store: dict[str, Any]) -> dict[str, Any] | None:
    """The POST body when the file blob store is missing, else None."""
    name = store.get("name")
    if store.get("type") != "file" or not isinstance(name, str):
        print(
            f"blob store {name} ({store.get('type')}): skipped, apply creates file blob stores only"
        )
        return None
    resp = client.request("GET", f"{API}/blobstores/file/{urllib.parse.quote(name, safe='')}")
    if resp.status_code == 200:
        print(f"blob store {name} (file): unchanged")
        return None
    if resp.status_code != 404:
        raise client.refused(resp, f"reading blob store {name}")
    print(f"blob store {name} (file): create")
    return {k: v for k, v in store.items() if k != "type"}


def _show(v: Any) -> str:
    import json

    return json.dumps(v, sort_keys=True) if v is not None else "(not set)"


def differences(desired: Any, current: Any, path: str = "") -> list[str]:
    """Human-readable differences, for every key we send, between our body and the GET."""
    out: list[str] = []
    if isinstance(desired, dict):
        cur = current if isinstance(current, dict) else {}
        for key, want in desired.items():
            p = f"{path}.{key}" if path else key
            if key in WRITE_ONLY:
                continue
            got = "routingRuleName" if key == "routingRule" and not path else key
            if got not in cur:
                # a field this Nexus version does not know (e.g. pypi.removeQuarantined after
                # 3.93): it ignores it on write and never returns it, so it cannot differ
                continue
            have = cur[got]
            if isinstance(want, dict):
                if not isinstance(have, dict):
                    if want:
                        out.append(f"{p}: {_show(have)} -> {_show(want)}")
                    continue
                out.extend(differences(want, have, p))
            elif not _equal(key, want, have):
                out.append(f"{p}: {_show(have)} -> {_show(want)}")
    if not path:
        for p in REMOVED_BY_PUT:
            have = _get(current, p)
            want = _get(desired, "routingRule" if p == "routingRuleName" else p)
            if want is None and have not in (None, {}, [], {"policyNames": []}):
                out.append(f"{p}: {_show(have)} -> (removed: PUT replaces the whole repository)")
    return out


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _equal(key: str, want: Any, have: Any) -> bool:
    if key in CASE_INSENSITIVE and isinstance(want, str) and isinstance(have, str):
        return want.lower() == have.lower()
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if isinstance(want, str) and isinstance(have, int) and want.strip().lstrip("-").isdigit():
        return int(want) == have  # Jackson coerces "1440" to 1440
    if isinstance(want, list) and isinstance(have, list):
        return sorted(map(_show, want)) == sorted(map(_show, have))
    return bool(want == have)


def repo_path(fmt: str, rtype: str, name: str | None = None) -> str:
    path = f"{API}/repositories/{urllib.parse.quote(fmt)}/{urllib.parse.quote(rtype)}"
    if name is not None:
        path += "/" + urllib.parse.quote(name, safe="")
    return path


def plan_repository(client: Client, repo: dict[str, Any]) -> tuple[Change, dict[str, Any]]:
    from pipnexus.nexus.client import NexusError

    fmt, rtype, name = repo.get("format"), repo.get("type"), repo.get("name")
    if not (isinstance(fmt, str) and isinstance(rtype, str) and isinstance(name, str) and name):
        raise InputError(f"repository {name!r}: needs name, format and type")
    body = rest_body(repo)
    resp = client.request("GET", repo_path(fmt, rtype, name))
    if resp.status_code == 404:
        return Change("create", fmt, rtype, name, []), body
    if resp.status_code != 200:
        raise client.refused(resp, f"reading repository {name}", repository=True)
    try:
        current = resp.json()
    except ValueError:
        raise NexusError(f"reading repository {name}: the answer is not JSON") from None
    diff = differences(body, current)
    return Change("update" if diff else "unchanged", fmt, rtype, name, diff), body


def run(args: argparse.Namespace) -> int:
    import os

    from pipnexus.nexus.client import NexusError, client_for, connection

    conn = connection(args, os.environ, options.NEXUS_REQUEST_TIMEOUT, options.NEXUS_RETRIES)
    repo_opts = (
        "repository",
        "remote_url",
        "blob_store",
        "metadata_max_age",
        "docker_hub",
        "python_mirror",
    )
    if args.values:
        if any(getattr(args, o) is not None for o in repo_opts):
            raise InputError("--values and repository options cannot be combined")
        desired = desired_from_values(args.values)
        if args.anonymous is not None:
            desired = desired._replace(anonymous=args.anonymous)
    else:
        opts = values_mod.options_from_args(args)
        desired = Desired(
            values_mod.blob_stores(opts), values_mod.repositories(opts), args.anonymous
        )
    for repo in desired.repos:
        if isinstance(repo, dict) and ("password" in repo or "bearerToken" in repo):
            _report_line(Diagnostic(
                "warning",
                f"{repo.get('name')}: password/bearerToken refer to a Kubernetes Secret that "
                "only the chart's Job can read; sending the repository without them",
                "secret-reference",
            ))
    client = client_for(conn)
    try:
        return _apply(client, desired, args.dry_run)
    except NexusError as e:
        _report(e)
        return 1
    finally:
        client.close()


def _report(err: Any) -> None:
    """A NexusError's one line."""
    _report_line(Diagnostic("error", err.message(), err.code))


def _report_line(d: Diagnostic) -> None:
    from pipnexus import diagnostics

    print(diagnostics.format_command("pipnexus nexus apply", d), file=sys.stderr)


def nexus_version(client: Client, desired: Desired) -> schema.Version:
    """The version the server names in its Server header; else the values' image.tag; else
    the newest known."""
    if client.server is not None:
        return client.server.version
    if desired.source is not None:
        from pipnexus.nexus import lint

        tagged = lint.version_of(lint.load(desired.source.text))
        if tagged is not None:
            return tagged
    return schema.NEWEST


def anonymous_body(
    enabled: bool, current: dict[str, Any], version: schema.Version
) -> dict[str, Any]:
    """The PUT body: ``enabled``, and the user and realm (kept as they are) that the published
    API of newer versions requires (schema.ANONYMOUS_FIELDS)."""
    body: dict[str, Any] = {"enabled": enabled}
    for field in schema.ANONYMOUS_FIELDS:
        value = current.get(field.path)
        if isinstance(value, str) and value:
            body[field.path] = value
        elif field.applies(version):
            body[field.path] = schema.ANONYMOUS_DEFAULTS[field.path]
    return body


def _apply(client: Client, desired: Desired, dry_run: bool) -> int:
    from pipnexus.nexus.answers import answer_text
    from pipnexus.nexus.client import STATUS_PATH, NexusError, check_nexus

    # before anything else, dry run too: a plan computed against something that is not Nexus
    # (every GET a 404: "create" everything) would look believable
    up = check_nexus(client)
    if up.status_code != 200:
        raise NexusError(
            f"{client.base_url} is not ready: GET {STATUS_PATH} answered {answer_text(up)}"
        )
    stores = [s for s in (plan_blob_store(client, b) for b in desired.blob_stores) if s]
    planned = [plan_repository(client, repo) for repo in desired.repos]
    version = nexus_version(client, desired)
    if desired.source is not None:
        lint_values(desired.source, version)  # now with the rules of the server's version
    anonymous = desired.anonymous
    anon_change: bool | None = None
    anon_current: dict[str, Any] = {}
    if anonymous is not None:
        resp = client.request("GET", f"{API}/security/anonymous")
        if resp.status_code == 200:
            try:
                anon_current = dict(resp.json())
            except (ValueError, TypeError):
                anon_current = {}
            if anon_current.get("enabled") is not anonymous:
                anon_change = anonymous
        elif resp.status_code in (401, 403):
            raise client.auth_error(resp, "reading anonymous access")
        else:
            anon_change = anonymous  # cannot read it: set it

    for change, _ in planned:
        print(f"{change.what}: {change.kind}")
        for line in change.details:
            print(f"  {line}")
    if anonymous is not None:
        state = "enable" if anonymous else "disable"
        print(f"anonymous access: {state if anon_change is not None else 'unchanged'}")

    todo = [(c, b) for c, b in planned if c.kind != "unchanged"]
    if not stores and not todo and anon_change is None:
        print("nothing to do")
        return 0
    if dry_run:
        print("dry run: nothing changed")
        return 0

    failed = 0
    for store in stores:
        resp = client.request("POST", f"{API}/blobstores/file", store)
        if resp.status_code in (200, 201, 204):
            print(f"created blob store {store['name']}")
            continue
        err = client.refused(resp, f"to create blob store {store['name']}")
        if resp.status_code in (401, 403):
            raise err
        failed += 1
        _report(err)
    for change, body in todo:
        name, fmt, rtype = change.name, change.fmt, change.rtype
        if change.kind == "create":
            resp = client.request("POST", repo_path(fmt, rtype), body)
            ok, verb = resp.status_code in (200, 201), "created"
        else:
            resp = client.request("PUT", repo_path(fmt, rtype, name), body)
            ok, verb = resp.status_code in (200, 204), "updated"
        if ok:
            print(f"{verb} {name}")
            continue
        err = client.refused(resp, f"to {change.kind} repository {name}", repository=True)
        if resp.status_code in (401, 403):
            raise err
        failed += 1
        _report(err)
    if anon_change is not None:
        body = anonymous_body(anon_change, anon_current, version)
        resp = client.request("PUT", f"{API}/security/anonymous", body)
        if resp.status_code in (200, 204):
            print(f"{'enabled' if anon_change else 'disabled'} anonymous access")
        else:
            err = client.refused(resp, "to change anonymous access")
            if resp.status_code in (401, 403):
                raise err
            failed += 1
            _report(err)
    if failed:
        raise NexusError(f"{failed} change(s) failed", code="nexus-refused")
    return 0
