"""``probe()``: every candidate at once, in daemon threads, under one total deadline.

For each candidate: the Nexus status endpoint (when the URL has the shape of a Nexus index),
then the PEP 503 page of the canary project, which must link files of it. The call returns
at the deadline even if a socket hangs: the waiting thread records ``timeout`` for every
candidate still running and shuts its socket down (:meth:`Attempt.abort`).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping, Sequence

from pipnexus import urls
from pipnexus.errors import InputError
from pipnexus.options import (
    DEFAULT_CANARY,
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
    Credentials,
    is_project_name,
    normalize_project,
)
from pipnexus.probe import transport
from pipnexus.probe.attempt import Attempt, Deadline
from pipnexus.probe.candidates import MIRROR, Result, Target
from pipnexus.probe.classify import (
    Failure,
    basic_auth,
    empty_page_failure,
    failure_of,
    mirror_failure,
    page_failure,
    status_failure,
)
from pipnexus.probe.page import count_project_files
from pipnexus.probe.proxies import parse_proxy, proxy_for

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (pipnexus/_nt.py)

if TYPE_CHECKING:
    import ssl

_NO_CREDENTIALS = Credentials()


def _check(
    target: Target,
    attempt: Attempt,
    project: str,
    canary: str,
    tls: ssl.SSLContext | None,
    default_auth: str | None,
    environ: Mapping[str, str],
) -> str:
    """Probe one candidate; return the detail sentence when healthy, raise otherwise."""
    index = target.index
    auth = basic_auth(index.username, index.password) if index.has_credentials else default_auth
    said_status = ""
    if target.status is not None:
        status = target.status
        if status.has_credentials:
            s_auth = basic_auth(status.username, status.password)
        else:
            same = transport.endpoint(status).origin == transport.endpoint(index).origin
            s_auth = auth if same else None
        attempt.what = "Nexus status endpoint"
        resp = transport.get_following(attempt, status, s_auth, tls, False, environ)
        if resp.status == 404:
            # The URL only looks like Nexus, or an ingress exposes /repository/ alone: the
            # canary page below is the stronger test, so it decides.
            said_status = "no Nexus status endpoint (404); "
        elif resp.status != 200:
            raise status_failure(resp, s_auth)
        else:
            said_status = "Nexus status 200; "
    if target.kind == MIRROR:
        return said_status + _check_mirror(target, attempt, auth, tls, environ)
    attempt.what = "canary page"
    page = index.joined(project + "/")
    resp = transport.get_following(attempt, page, auth, tls, True, environ)
    if resp.status != 200:
        raise page_failure(resp, canary, auth)
    if resp.too_large:
        raise Failure(
            "bad-response",
            f"the page of the canary project '{canary}' is larger than "
            f"{transport.MAX_BODY // 1048576} MiB",
        )
    files = count_project_files(resp.body, project)
    if not files:
        raise empty_page_failure(canary, b"links for" in resp.body[:4096].lower())
    plural = "" if files == 1 else "s"
    proxy = transport.select_proxy(transport.endpoint(page), environ)
    via = f" (through the proxy {proxy.display})" if proxy else ""
    return f"{said_status}the page of the canary project '{canary}' lists {files} file{plural}{via}"


# A file every mirror of python-build-standalone's releases has: the checksum list of a fixed,
# old (small) release. uv asks a mirror for ``<mirror>/<tag>/<asset>``, the part of the asset's
# URL after ``https://github.com/astral-sh/python-build-standalone/releases/download/``
# (astral-sh/uv: crates/uv-python/src/downloads.rs, ``download_urls``), and the release tooling
# uploads ``SHA256SUMS`` with every release since 2022-02-27 (astral-sh/python-build-standalone:
# src/github.rs, commit 4cc656e2; lines ``<sha256 hex>  <file name>``). 20220318 is the second
# release made with it.
MIRROR_PROBE_TAG = "20220318"
MIRROR_PROBE_PATH = f"{MIRROR_PROBE_TAG}/SHA256SUMS"
# that list is some 20 KiB (about 150 assets, estimated from uv's download list for the tag);
# anything much larger is not it
MIRROR_PROBE_MAX_BODY = 256 * 1024


def is_checksum_list(body: bytes) -> bool:
    """Whether ``body`` has the shape of a python-build-standalone ``SHA256SUMS``: one or more
    lines of 64 lower-case hex digits, two spaces and a file name, nothing else."""
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return bool(lines) and all(re.fullmatch(_CHECKSUM_LINE, line) for line in lines)


_CHECKSUM_LINE = rb"[0-9a-f]{64}  [^\s/]+"  # compiled on first use (re's cache)


def _check_mirror(
    target: Target,
    attempt: Attempt,
    auth: str | None,
    tls: ssl.SSLContext | None,
    environ: Mapping[str, str],
) -> str:
    """uv's interpreter mirror is healthy when it serves ``<mirror>/MIRROR_PROBE_PATH``: a 200
    whose body is a checksum list. That proves the repository exists, is online, readable
    with the job's credentials, reaches GitHub (or has the file cached: Nexus keeps it, so the
    NAT is crossed once) and maps paths the way uv expects.

    Anything else leaves the mirror unset: any 404 (no such repository, a blocked remote, a
    server that is no mirror: an ingress answers a plain 404 for every path), a 200 of
    something else (a login page), a redirect to another host (uv would have to follow it off
    the mirror), 401/403, 502, 503, no answer in time.
    """
    attempt.what = "interpreter mirror"
    url = target.index.joined(MIRROR_PROBE_PATH)
    resp = transport.get_following(
        attempt, url, auth, tls, True, environ, max_body=MIRROR_PROBE_MAX_BODY
    )
    if resp.status != 200:
        raise mirror_failure(resp, auth, MIRROR_PROBE_PATH)
    if resp.too_large or not is_checksum_list(resp.body):
        raise Failure(
            "not-an-index",
            f"the interpreter mirror answered 200 for {MIRROR_PROBE_PATH} but not with "
            "python-build-standalone's checksum list (a login page, or not a mirror of its "
            "releases?)",
        )
    proxy = transport.select_proxy(transport.endpoint(url), environ)
    via = f" (through the proxy {proxy.display})" if proxy else ""
    return f"the interpreter mirror serves {MIRROR_PROBE_PATH} of python-build-standalone{via}"


def _tls_context(cafile: str | None) -> ssl.SSLContext:
    import ssl

    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ValueError):
        # the path is not repeated: it may be a secret given to the wrong option
        raise InputError("cannot load the CA certificate file (--ca-cert)") from None


def _secrets(
    targets: Sequence[Target], credentials: Credentials, proxy_urls: Sequence[str]
) -> list[str]:
    """Every secret the probe may send, in the forms a message could show it."""
    secrets = [credentials.password or ""]
    auths = [basic_auth(credentials.username, credentials.password)]
    used = [t.index for t in targets] + [t.status for t in targets if t.status is not None]
    for url in used:
        secrets += url.secrets
        if url.has_credentials:
            auths.append(basic_auth(url.username, url.password))
    for proxy_url in proxy_urls:
        proxy = parse_proxy(proxy_url)
        secrets += proxy.secrets
        auths.append(proxy.auth)
    # the Basic-auth tokens too: a server may echo the Authorization header back
    return secrets + [auth.split(" ", 1)[1] for auth in auths if auth]


def probe(
    targets: Sequence[Target],
    *,
    canary: str = DEFAULT_CANARY,
    timeout: float = DEFAULT_TIMEOUT,
    cafile: str | None = None,
    credentials: Credentials = _NO_CREDENTIALS,
    environ: Mapping[str, str] | None = None,
) -> list[Result]:
    """Probe all targets in parallel under one total deadline of ``timeout`` seconds.

    Returns one Result per target, in input order; a target that has not finished by the
    deadline is ``timeout``. Credentials in a URL's userinfo win over ``credentials``.
    Proxies come from ``environ`` (default ``os.environ``) as pip and uv take them
    (:mod:`pipnexus.probe.proxies`; http:// proxies only). InputError for a bad canary,
    timeout, CA file or proxy setting.
    """
    if not is_project_name(canary):
        raise InputError("canary project name is invalid (letters, digits, '-', '_', '.')")
    project = normalize_project(canary)
    if not 0 < timeout <= MAX_TIMEOUT:  # also rejects NaN
        raise InputError(f"timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    if not targets:
        return []
    env: Mapping[str, str] = dict(os.environ if environ is None else environ)
    used = [t.index for t in targets] + [t.status for t in targets if t.status is not None]
    # a bad proxy setting is an input error, before any thread
    proxy_urls = [p for p in (proxy_for(u.bare, env) for u in used) if p]
    secrets = _secrets(targets, credentials, proxy_urls)
    tls = _tls_context(cafile) if any(u.scheme == "https" for u in used) else None
    default_auth = basic_auth(credentials.username, credentials.password)

    start = time.monotonic()
    deadline = start + timeout
    attempts = [Attempt(deadline) for _ in targets]
    results: list[Result | None] = [None] * len(targets)
    done = threading.Condition()

    def finish(i: int, healthy: bool, reason: str, detail: str) -> None:
        shown = urls.redact(targets[i].index.text, secrets)
        latency = round((time.monotonic() - start) * 1000)
        with done:
            if results[i] is None:
                results[i] = Result(shown, healthy, reason, urls.redact(detail, secrets), latency)
                done.notify_all()

    def work(i: int) -> None:
        attempt = attempts[i]
        try:
            detail = _check(targets[i], attempt, project, canary, tls, default_auth, env)
        except BaseException as e:  # a probe never raises: every failure is a Result
            failure = failure_of(e, attempt, timeout)
            finish(i, False, failure.reason, failure.detail)
        else:
            finish(i, True, "", detail)

    for i in range(len(targets)):
        threading.Thread(target=work, args=(i,), name=f"pipnexus-probe-{i}", daemon=True).start()
    with done:
        while any(r is None for r in results):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            done.wait(left)
    for i, attempt in enumerate(attempts):
        if results[i] is None:
            failure = failure_of(Deadline(), attempt, timeout)
            finish(i, False, failure.reason, failure.detail)
            attempt.abort()
    return [r for r in results if r is not None]
