"""Candidates -> probe -> :class:`Decision`. Every call into the probe is in this module.

The first healthy candidate, in the order given, is used; when none is healthy the fallback
index is used, unless require-nexus is set (source "none").
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from pipnexus import probe, urls
from pipnexus._nt import NamedTuple
from pipnexus.configure.settings import PYTHON_MIRROR_REPOSITORY, Settings
from pipnexus.errors import InputError
from pipnexus.options import Credentials
from pipnexus.probe import Candidates, Target
from pipnexus.urls import URL

_NO_CREDENTIALS = Credentials()


class Mirror(NamedTuple):
    """uv's interpreter mirror, probed with the indexes under the same deadline."""

    url: URL  # with credentials: for uv only, never shown
    result: probe.Result


class Decision(NamedTuple):
    source: str  # "nexus", "fallback", or "none" (no healthy index and fallback refused)
    chosen: URL | None  # with credentials: for installers only, never shown; None for "none"
    reason: str  # why the first candidate was not used; "" for "nexus"
    latency_ms: int
    candidates: list[probe.Result]
    https_ca: bool  # the chosen index is https and a CA was given for it
    mirror: Mirror | None = None  # None: no interpreter mirror to probe

    @property
    def trusted_host(self) -> str | None:
        return self.chosen.trusted_host if self.chosen is not None else None


def credentialed(index: URL, credentials: Credentials) -> URL:
    """The candidate with the credentials installers need. Userinfo already in the URL wins
    over --username/--password-env, as in the probe."""
    if index.has_credentials or credentials == _NO_CREDENTIALS:
        return index
    user, password = credentials
    # not URL.with_credentials: that validates again, and a URL with a (huge) password from
    # the environment may exceed the length allowed for a URL given as input
    text = urls.with_credentials(index.text, user, password)
    return index._replace(text=text, username=user or "", password=password)


NOT_CONFIGURED = "not-configured"


def configured(settings: Settings, environ: Mapping[str, str]) -> bool:
    """Whether an index is given at all (options, inputs or the runner's ``PIPNEXUS_*``)."""
    return probe.index_configured(settings.index_urls, settings.nexus_url, environ)


def not_configured() -> Decision:
    """The decision when no index is given: nothing probed, nothing to use."""
    return Decision("none", None, NOT_CONFIGURED, 0, [], False)


def resolve(settings: Settings, environ: Mapping[str, str]) -> Candidates:
    """The candidates (InputError when none is given or one is invalid)."""
    return probe.resolve_candidates(
        settings.index_urls, settings.nexus_url, settings.repository, environ
    )


def mirror_target(settings: Settings, candidates: Candidates) -> Target | None:
    """The interpreter mirror to probe: the URL given, else ``<base>/repository/<name>`` of the
    first Nexus-shaped candidate (the Nexus URL makes one); None when it is off, or ``auto``
    without a Nexus. InputError for a repository name without a Nexus."""
    value = settings.python_mirror
    if not value:
        return None
    if "://" in value:
        return probe.mirror_target(urls.parse_url(value, "--python-mirror"))
    base = next(
        (b for b in (urls.nexus_base_from_index(t.index.text) for t in candidates.targets) if b),
        None,
    )
    if base is None:
        if value == "auto":
            return None
        raise InputError(
            "--python-mirror names a repository but the index is not on a Nexus: give the "
            "whole mirror URL, or --nexus-url"
        )
    name = PYTHON_MIRROR_REPOSITORY if value == "auto" else value
    return probe.mirror_target(urls.parse_url(f"{base.rstrip('/')}/repository/{name}"))


def decide(settings: Settings, candidates: Candidates, environ: Mapping[str, str]) -> Decision:
    started = time.monotonic()
    mirror = mirror_target(settings, candidates)
    results = probe.probe(
        [*candidates.targets, *([mirror] if mirror is not None else [])],
        canary=settings.canary,
        timeout=settings.timeout,
        cafile=settings.ca_cert,
        credentials=settings.credentials,
        environ=environ,
    )
    elapsed_ms = int((time.monotonic() - started) * 1000)
    probed = None
    if mirror is not None:
        probed = Mirror(credentialed(mirror.index, settings.credentials), results.pop())
    for target, result in zip(candidates.targets, results):
        if result.healthy:
            index = credentialed(target.index, settings.credentials)
            https_ca = index.scheme == "https" and settings.ca_cert is not None
            return Decision("nexus", index, "", result.latency_ms, results, https_ca, probed)
    reason = results[0].reason if results else "bad-response"
    if settings.require_nexus:
        return Decision("none", None, reason, elapsed_ms, results, False, probed)
    return Decision("fallback", settings.fallback, reason, elapsed_ms, results, False, probed)


def describe_failure(decision: Decision) -> str:
    """``url: reason: detail`` of the first unhealthy candidate."""
    for r in decision.candidates:
        if not r.healthy:
            detail = f": {r.detail}" if r.detail else ""
            return f"{r.url}: {r.reason}{detail}"
    return decision.reason
