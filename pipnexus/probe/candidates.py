"""Which indexes to probe: from the options and the runner's environment, each URL parsed once.

A Nexus PyPI repository's index is ``<base>/repository/<name>/simple/`` and its status
endpoint ``<base>/service/rest/v1/status`` (200 when the node can serve reads, 503 otherwise:
``sonatype/nexus-public: components/nexus-core/src/main/java/org/sonatype/nexus/internal/status/
StatusResource.java``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipnexus import urls
from pipnexus._nt import NamedTuple
from pipnexus.diagnostics import Diagnostic
from pipnexus.errors import InputError
from pipnexus.options import DEFAULT_REPOSITORY
from pipnexus.urls import URL

MAX_CANDIDATES = 16
STATUS_PATH = "/service/rest/v1/status"


class Target(NamedTuple):
    # the field is named as the callers use it, shadowing tuple.index on purpose
    index: URL  # type: ignore[assignment]  # the simple index URL, with any userinfo
    status: URL | None = None  # Nexus "<base>/service/rest/v1/status", None to skip
    # INDEX: a PEP 503 index (canary page); MIRROR: uv's interpreter mirror
    kind: str = "index"


INDEX = "index"
MIRROR = "mirror"


class Result(NamedTuple):
    url: str  # index URL, credentials redacted
    healthy: bool
    reason: str  # "" when healthy, else one of REASONS
    detail: str  # one human sentence, redacted
    latency_ms: int


class Candidates(NamedTuple):
    targets: list[Target]
    notes: list[Diagnostic]  # notes for the user, secrets redacted


def _status_url(base: str) -> URL:
    return urls.parse_url(base.rstrip("/") + STATUS_PATH, "the Nexus status URL")


def target_for(index: URL) -> Target:
    """A Target for ``index``; with a status URL when it has the shape of a Nexus index."""
    base = urls.nexus_base_from_index(index.text)
    return Target(index, _status_url(base) if base is not None else None)


def mirror_target(mirror: URL) -> Target:
    """A Target for uv's interpreter mirror ``mirror`` (``UV_PYTHON_INSTALL_MIRROR``, no
    trailing slash); the probe asks for a release's checksum list below it
    (``engine.MIRROR_PROBE_PATH``). Nexus-shaped
    (``<base>/repository/<name>``): with the status endpoint of that Nexus."""
    parts = urls.nexus_repository_parts(urls.ensure_trailing_slash(mirror.text))
    status = _status_url(parts.base) if parts is not None else None
    return Target(mirror, status, MIRROR)


def _env(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or "").strip()


class NotConfigured(InputError):
    """No index given at all: no option or input, no ``PIPNEXUS_*`` variable (a GitHub-hosted
    runner, a laptop). ``pipnexus probe`` treats it as bad input; ``configure`` asks
    :func:`index_configured` first and leaves the job alone."""


def index_configured(
    index_urls: Sequence[str], nexus_url: str | None, environ: Mapping[str, str]
) -> bool:
    """Whether any source of :func:`resolve_candidates` is set, by its rules (empty options
    and blank variables are unset). The one test of "is this runner meant to use a Nexus",
    for the action, the ``configure`` command and anything that runs before them."""
    return bool(
        any(u != "" for u in index_urls)
        or nexus_url
        or _env(environ, "PIPNEXUS_INDEX_URL")
        or _env(environ, "PIPNEXUS_NEXUS_URL")
    )


def _nexus_target(
    nexus_url: str, repository: str | None, what: str, repo_what: str
) -> tuple[Target, Diagnostic | None]:
    """The target for a Nexus base URL and a repository, or for a whole index URL given as
    the Nexus URL (then with a note, or InputError when the repository names another one)."""
    nexus = urls.parse_url(nexus_url, what)
    if repository is not None:
        urls.validate_repository(repository)
    whole = urls.nexus_index_parts(nexus.text)
    if whole is not None:
        base = urls.redact(whole.base)
        if repository is not None and repository != whole.repository:
            fix = (
                f"pass --nexus-url {base} --repository {repository}"
                if what.startswith("--")
                else f"set PIPNEXUS_NEXUS_URL={base} (the Nexus base URL)"
            )
            raise InputError(
                f"{what} is a whole index URL of the repository '{whole.repository}' but "
                f"{repo_what} names '{repository}': {fix}, or give the index URL you mean "
                "as --index-url"
            )
        note = Diagnostic(
            "note",
            f"{what} is a whole index URL: using it as the index URL (pass --index-url URL, "
            f"or --nexus-url {base} --repository {whole.repository})",
            "nexus-url-is-index",
        )
        return Target(nexus, _status_url(whole.base)), note
    if "?" in nexus.text:
        raise InputError(f"{what} must not have a query ('?')")
    inside = urls.nexus_repository_parts(nexus.text)
    if inside is not None:
        # never probe a doubled path such as .../repository/x/repository/pypi-proxy/simple/
        raise InputError(
            f"{what} points inside the repository '{inside.repository}', not at Nexus: pass "
            f"--nexus-url {urls.redact(inside.base)} --repository {inside.repository}, or the "
            "whole index URL .../repository/NAME/simple/ as --index-url"
        )
    index = urls.index_from_nexus(nexus.text, repository or DEFAULT_REPOSITORY, what)
    return Target(urls.parse_url(index, what), _status_url(nexus.text)), None


def resolve_candidates(
    index_urls: Sequence[str],
    nexus_url: str | None,
    repository: str | None,
    environ: Mapping[str, str],
) -> Candidates:
    """Where the index comes from; the first source that is set wins.

    1. ``index_urls`` (explicit, ordered candidates; empty strings are ignored),
    2. ``nexus_url`` + ``repository`` (default ``pypi-proxy``),
    3. ``PIPNEXUS_INDEX_URL`` in ``environ`` (space-separated candidates),
    4. ``PIPNEXUS_NEXUS_URL`` + (``repository`` or ``PIPNEXUS_REPOSITORY`` or ``pypi-proxy``).

    A Nexus URL that is a whole index URL (``.../repository/<name>/simple/``) is used as the
    index URL, with a note. Empty or blank values count as unset (Actions passes unset inputs
    as ""). Raises NotConfigured (an InputError) when nothing is set, InputError when a value
    is invalid.
    """
    explicit = [u for u in index_urls if u != ""]
    if repository is not None and repository.strip() == "":
        repository = None
    notes: list[Diagnostic] = []
    targets: list[Target]
    if explicit:
        whats = (
            ["--index-url"]
            if len(explicit) == 1
            else [f"--index-url #{i + 1}" for i in range(len(explicit))]
        )
        targets = [target_for(urls.parse_url(u, w)) for u, w in zip(explicit, whats)]
    elif nexus_url:
        target, note = _nexus_target(nexus_url, repository, "--nexus-url", "--repository")
        targets = [target]
        notes += [note] if note else []
    elif _env(environ, "PIPNEXUS_INDEX_URL"):
        items = _env(environ, "PIPNEXUS_INDEX_URL").split()
        targets = [
            target_for(urls.parse_url(u, f"PIPNEXUS_INDEX_URL entry #{i + 1}"))
            for i, u in enumerate(items)
        ]
    elif _env(environ, "PIPNEXUS_NEXUS_URL"):
        repo_what = "--repository" if repository else "PIPNEXUS_REPOSITORY"
        repo = repository or _env(environ, "PIPNEXUS_REPOSITORY") or None
        target, note = _nexus_target(
            _env(environ, "PIPNEXUS_NEXUS_URL"), repo, "PIPNEXUS_NEXUS_URL", repo_what
        )
        targets = [target]
        notes += [note] if note else []
    else:
        raise NotConfigured(
            "no package index given: set an index URL or a Nexus URL "
            "(--index-url / --nexus-url, or PIPNEXUS_INDEX_URL / PIPNEXUS_NEXUS_URL)"
        )
    if len(targets) > MAX_CANDIDATES:
        raise InputError(f"too many index candidates ({len(targets)}; at most {MAX_CANDIDATES})")
    return Candidates(targets, notes)
