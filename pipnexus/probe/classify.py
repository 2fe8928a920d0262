"""A failed probe -> one of ``REASONS`` and one sentence for the user.

Every sentence is one line, built from fixed text plus server-supplied text made safe with
:func:`clean` (printable, bounded) after the credentials we sent were scrubbed out of it
(:func:`scrub`): a server may echo the ``Authorization`` header or the password back in its
reason phrase or error page. ``probe`` redacts the finished sentence once more.
"""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Sequence

from pipnexus import urls
from pipnexus._nt import NamedTuple
from pipnexus.errors import InputError
from pipnexus.probe.attempt import Attempt, Deadline

# The one list of reason codes: action.yml, README.md, docs/action.md and `pipnexus probe --help`
# name them in this order (tests/test_docs.py checks each).
PROBE_REASONS: tuple[str, ...] = (
    "dns",
    "refused",
    "timeout",
    "tls",
    "auth",
    "not-found",
    "remote-blocked",
    "remote-unreachable",
    "unavailable",
    "not-an-index",
    "redirect",
    "bad-response",
)
# configure's, not the probe's: no index was given at all, nothing was probed or changed
REASONS: tuple[str, ...] = (*PROBE_REASONS, "not-configured")
MAX_ERROR_BODY = 64 * 1024
_BLOCKED = r"Remote (?:Auto|Manually) Blocked[^<>\r\n]{0,80}"  # compiled on first use


class Failure(Exception):
    """A classified failure: ``reason`` is one of REASONS, ``detail`` one sentence."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Answer(NamedTuple):
    """An HTTP answer as the probe keeps it: headers by lower-case name, a bounded body."""

    status: int
    reason: str  # the reason phrase, with any echoed credentials scrubbed
    headers: dict[str, str]
    body: bytes  # MAX_BODY at most; an error page: MAX_ERROR_BODY at most, scrubbed
    too_large: bool


def clean(text: str, limit: int = 160) -> str:
    """Server-supplied text made safe for one line of output: printable, bounded."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def basic_auth(username: str | None, password: str | None) -> str | None:
    """The ``Authorization``/``Proxy-Authorization`` value for Basic auth, None without both."""
    if username is None and password is None:
        return None
    import binascii

    raw = f"{username or ''}:{password or ''}".encode()
    return "Basic " + binascii.b2a_base64(raw, newline=False).decode("ascii")


def echo_forms(auths: Sequence[str | None]) -> list[bytes]:
    """What a server echoing our ``Authorization`` header or its password would send back."""
    import binascii

    forms: set[bytes] = set()
    for auth in auths:
        if not auth:
            continue
        token = auth.split(" ", 1)[1]
        forms.add(token.encode("ascii"))
        password = binascii.a2b_base64(token).decode("utf-8", "replace").partition(":")[2]
        if password:
            forms.update(form.encode("utf-8") for form in urls.secret_encodings(password))
    return sorted(forms, key=len, reverse=True)


def scrub(data: bytes, forms: Sequence[bytes]) -> bytes:
    """``data`` without the credentials we sent (before any text of it is cut short)."""
    for form in forms:
        data = data.replace(form, b"***")
    return data


def scrub_text(text: str, forms: Sequence[bytes]) -> str:
    return scrub(text.encode("latin-1", "replace"), forms).decode("latin-1") if forms else text


def tunnel_failure(
    status: int, reason: str, proxy: str, server: str, has_auth: bool
) -> Failure:
    """The proxy would not open a CONNECT tunnel (``reason`` already scrubbed)."""
    said = clean(f"{status} {reason}", 80)
    if status == 407:
        needed = "were rejected" if has_auth else "are needed (userinfo in the proxy URL)"
        return Failure("auth", f"the proxy {proxy} answered {said}: credentials {needed}")
    return Failure("refused", f"the proxy {proxy} would not open a tunnel to {server} ({said})")


def _auth_failure(status: int, what: str, said: str, auth: str | None) -> Failure | None:
    """The proxy's 407 or the server's 401/403, read alike whatever the probe asked."""
    if status == 407:
        return Failure(
            "auth",
            f"the {what} answered {said}: the proxy's credentials (userinfo in the proxy URL) "
            "are missing or were rejected",
        )
    if status not in (401, 403):
        return None
    if auth:
        return Failure("auth", f"the {what} answered {said}: the credentials were rejected")
    return Failure(
        "auth",
        f"the {what} answered {said}: credentials are needed (username and password, "
        "or userinfo in the URL)",
    )


def _named_404(
    resp: Answer, who: str, said: str, remote: str, subject: str = ""
) -> Failure | None:
    """A 404 whose text names its cause: Nexus's proxy has blocked its remote (Nexus's own
    words quoted), or the repository does not exist; None for any other 404."""
    text = _error_text(resp)
    blocked = re.search(_BLOCKED, text, re.IGNORECASE)
    if blocked:
        return Failure(
            "remote-blocked",
            f"{who} answered 404 {clean(blocked.group(0), 100)}{subject}: the proxy has blocked "
            f"its remote ({remote}) and has no cached copy",
        )
    if "repository not found" in text.lower():
        return Failure("not-found", f"{who} answered {said}: the repository does not exist")
    return None


def status_failure(resp: Answer, auth: str | None) -> Failure:
    """Classify an unexpected answer from the Nexus status endpoint."""
    said = clean(f"{resp.status} {resp.reason}", 80)
    refused = _auth_failure(resp.status, "Nexus status endpoint", said, auth)
    if refused is not None:
        return refused
    if resp.status in (502, 503, 504):
        return Failure(
            "unavailable",
            f"the Nexus status endpoint answered {said}: Nexus is starting, stopped or "
            "cannot serve reads",
        )
    return Failure("bad-response", f"the Nexus status endpoint answered {said}")


def page_failure(resp: Answer, canary: str, auth: str | None) -> Failure:
    """Classify an unexpected answer for the canary project page."""
    said = clean(f"{resp.status} {resp.reason}", 120)
    subject = f"the canary project '{canary}'"
    refused = _auth_failure(resp.status, f"index page of {subject}", said, auth)
    if refused is not None:
        return refused
    if resp.status == 404:
        return _named_404(resp, "Nexus", said, "pypi.org", f" for {subject}") or Failure(
            "not-found", f"the index answered {said} for {subject}"
        )
    if resp.status == 502:
        return Failure(
            "remote-unreachable",
            f"the index answered {said} for {subject}: the proxy cannot reach its remote "
            "and has no cached copy",
        )
    if resp.status in (503, 504):
        return Failure(
            "unavailable", f"the index answered {said} for {subject} (offline or read-only?)"
        )
    return Failure("bad-response", f"the index answered {said} for {subject}")


def _error_text(resp: Answer) -> str:
    return resp.reason + " " + resp.body[:MAX_ERROR_BODY].decode("utf-8", "replace")


def mirror_failure(resp: Answer, auth: str | None, path: str) -> Failure:
    """Classify an answer other than 200 for ``<mirror>/<path>``, a file every mirror of
    python-build-standalone's releases has."""
    said = clean(f"{resp.status} {resp.reason}", 120)
    what = "interpreter mirror"
    refused = _auth_failure(resp.status, what, said, auth)
    if refused is not None:
        return refused
    if resp.status == 404:
        return _named_404(resp, f"the {what}", said, "GitHub") or Failure(
            "not-found",
            f"the {what} answered {said} for {path}, which every mirror of "
            "python-build-standalone's releases has: not such a mirror (its URL or remote is "
            "wrong, or the server answers 404 for everything)",
        )
    if resp.status == 502:
        return Failure(
            "remote-unreachable", f"the {what} answered {said}: the proxy cannot reach GitHub"
        )
    if resp.status in (503, 504):
        return Failure("unavailable", f"the {what} answered {said} (offline or stopped?)")
    return Failure("bad-response", f"the {what} answered {said} for {path}, not 200")


def empty_page_failure(canary: str, lists_links_for: bool) -> Failure:
    """A 200 page of the canary project that links none of its files."""
    if lists_links_for:
        # a PEP 503 project page without files: a Nexus group answers so for a project that
        # none of its members has
        return Failure(
            "not-found",
            f"the index page of the canary project '{canary}' lists no files of it (the "
            "project is missing, e.g. from every member of a Nexus group)",
        )
    return Failure(
        "not-an-index",
        f"the index answered 200 for the canary project '{canary}' but the page links no "
        "files of it (a login page, or not a PEP 503 simple index?)",
    )


# OpenSSL's reason when a TLS client gets a plain-HTTP answer to its hello: "wrong version
# number" up to OpenSSL 3.1, "record layer failure" or "packet length too long" from 3.2 (the
# record layer rewrite; urllib3/urllib3#3271, cherrypy/cherrypy#2026); LibreSSL says "wrong
# version number" too. A CPython built against older headers knows no name for the 3.2 codes
# (``SSLError.reason`` is None, the message "[SSL] record layer failure"): the text is matched.
# OpenSSL 1.0 said "unknown protocol".
_PLAIN_HTTP_TLS_ERRORS = (
    "wrong version number", "record layer failure", "packet length too long", "unknown protocol",
)
# the first bytes a TLS server sends: a record of type alert (21) or handshake (22), version 3.x
_TLS_RECORD_STARTS = ("\x15\x03", "\x16\x03")
# what web servers in front of a TLS port answer to a plain-HTTP request: nginx's 400 page
# (nginx/nginx: src/http/ngx_http_special_response.c, ngx_http_error_497_page) and Go's
# net/http (golang/go: src/net/http/server.go, "(*conn).serve")
_TLS_PORT_ANSWERS = (
    b"the plain http request was sent to https port",
    b"client sent an http request to an https server",
)


def tls_error_says_plain_http(text: str) -> bool:
    """Whether a TLS client's error (its reason and message) says the server answered the
    hello in plain HTTP."""
    said = text.replace("_", " ").lower()
    return any(error in said for error in _PLAIN_HTTP_TLS_ERRORS)


def _other_scheme(url: str, scheme: str) -> str:
    """The origin of ``url`` with ``scheme``, keeping the port it was reached on."""
    u = urls.parse_url(url)
    return f"{scheme}://{u.host}:{u.effective_port}"


def scheme_mixup(url: str, problem: BaseException | bytes) -> str | None:
    """The hint for an http/https mix-up, or None: ``problem`` is what talking to ``url``
    raised, or the start of an answer (status line, reason, body) it gave.

    An ``https://`` URL whose TLS handshake met a plain-HTTP answer (OpenSSL's reasons above)
    -> "the server speaks plain HTTP: use http://HOST:PORT"; an ``http://`` URL answered by a
    TLS record (a TLS alert instead of a status line) or by a web server's "plain HTTP to an
    HTTPS port" page -> "the server speaks TLS: use https://HOST:PORT". Only the origin is
    named, with the port it was reached on (a server on 443 that speaks plain HTTP is
    ``http://host:443``): no path, no credentials.
    One place for the probe, configure and the nexus commands; tests/probe/test_classify.py
    (test_scheme_mixup_*) runs it against real loopback servers. Passive: it opens no
    connection, so the probe's deadline is not spent on it; the nexus commands confirm what
    it cannot tell with a connection of their own (:mod:`pipnexus.nexus.schemes`).
    """
    inner = getattr(problem, "reason", None)
    if isinstance(inner, BaseException):  # urllib's URLError wraps the error
        problem = inner
    low = url[:8].lower()
    try:
        return _mixup(urls.split_credentials(url)[0], low, problem)
    except InputError:
        return None


def _mixup(bare: str, low: str, problem: BaseException | bytes) -> str | None:
    if low.startswith("https://"):
        ssl_module = sys.modules.get("ssl")
        if ssl_module is not None and isinstance(problem, ssl_module.SSLError) and (
            tls_error_says_plain_http(f"{getattr(problem, 'reason', None) or ''} {problem}")
        ):
            return f"the server speaks plain HTTP: use {_other_scheme(bare, 'http')}"
        return None
    if not low.startswith("http://"):
        return None
    speaks_tls = False
    if isinstance(problem, bytes):
        head = problem[:MAX_ERROR_BODY].lower()
        speaks_tls = any(answer in head for answer in _TLS_PORT_ANSWERS)
    else:
        import http.client

        if isinstance(problem, http.client.BadStatusLine):
            line = str(problem.args[0]) if problem.args else ""
            speaks_tls = line.startswith(_TLS_RECORD_STARTS)
    if speaks_tls:
        return f"the server speaks TLS: use {_other_scheme(bare, 'https')}"
    return None


def _http_failure(error: Exception, where: str) -> Failure:
    """http.client's own errors (the answer is not valid HTTP/1.x), never quoting them: their
    text repeats what the server sent."""
    import http.client

    if isinstance(error, http.client.RemoteDisconnected):
        return Failure("bad-response", f"{where} closed the connection without answering")
    if isinstance(error, http.client.IncompleteRead):
        return Failure("bad-response", f"the body from {where} is truncated or malformed")
    if isinstance(error, http.client.LineTooLong):
        return Failure("bad-response", f"the response from {where} has a line longer than 64 KiB")
    if isinstance(error, (http.client.BadStatusLine, http.client.UnknownProtocol)):
        return Failure("bad-response", f"the answer from {where} is not an HTTP/1.x response")
    return Failure("bad-response", f"the response from {where} is malformed")


def network_failure(error: BaseException, where: str, timeout: float) -> Failure | None:
    """The failure of a connection, in the same words for the probe and the nexus commands:
    ``error`` is the socket-level exception (urllib3 and requests keep it as the cause of
    their own, see ``cause_of``); None when it is not one of these."""
    import http.client

    if isinstance(error, (socket.timeout, TimeoutError)):  # two classes before Python 3.10
        return Failure("timeout", f"{where} did not answer within {timeout:g} s")
    if isinstance(error, socket.gaierror):
        return Failure("dns", f"cannot resolve the host name of {where}: {error.strerror}")
    if isinstance(error, ConnectionRefusedError):
        return Failure("refused", f"{where} refused the connection (nothing listens there)")
    if isinstance(error, (http.client.RemoteDisconnected, ConnectionResetError)):
        return Failure("bad-response", f"{where} closed the connection without answering")
    if isinstance(error, OSError) and not isinstance(error, http.client.HTTPException):
        message = error.strerror or type(error).__name__
        return Failure("refused", f"cannot connect to {where} ({message})")
    return None


def cause_of(error: BaseException) -> BaseException:
    """The socket-level exception behind a wrapped one (requests' ConnectionError, urllib3's
    MaxRetryError, NewConnectionError, ProtocolError), wherever the wrapper keeps it:
    ``__cause__``, ``__context__``, ``reason`` or ``args``; ``error`` itself when none."""
    seen: set[int] = set()
    todo: list[object] = [error]
    while todo:
        x = todo.pop(0)
        if not isinstance(x, BaseException) or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, OSError) and type(x).__module__ in ("builtins", "socket", "http.client"):
            return x
        todo.extend((getattr(x, "reason", None), x.__cause__, x.__context__, *x.args))
    return error


def failure_of(error: BaseException, attempt: Attempt, timeout: float) -> Failure:
    """Any exception of one candidate's probe -> its Failure (``attempt`` tells the stage)."""
    import http.client

    ssl_module = sys.modules.get("ssl")
    where = attempt.where or "the server"
    if isinstance(error, Failure):
        return error
    hint = scheme_mixup(attempt.url, error) if attempt.url else None
    if hint is not None:
        if isinstance(error, http.client.BadStatusLine):
            return Failure("bad-response", f"{where} answered with a TLS record: {hint}")
        return Failure("tls", f"TLS with {where} failed: {hint}")
    # a socket timeout is always the remaining deadline: report it as the deadline
    if isinstance(error, (Deadline, socket.timeout)):
        return Failure(
            "timeout",
            f"no answer within {timeout:g} s (the {attempt.what}, {attempt.stage})",
        )
    if isinstance(error, (socket.gaierror, ConnectionRefusedError)):
        return network_failure(error, where, timeout) or Failure("refused", str(error))
    if ssl_module is not None and isinstance(error, ssl_module.SSLCertVerificationError):
        return Failure(
            "tls",
            f"the TLS certificate of {where} is not trusted ({error.verify_message}); "
            "give the CA certificate with ca-cert / --ca-cert",
        )
    if ssl_module is not None and isinstance(error, ssl_module.SSLError):
        return Failure("tls", f"TLS with {where} failed ({error.reason or error})")
    if isinstance(error, http.client.HTTPException):
        return _http_failure(error, where)
    if isinstance(error, OSError):
        message = error.strerror or type(error).__name__
        if attempt.stage.startswith("TLS"):
            return Failure("tls", f"TLS handshake with {where} failed ({message})")
        if attempt.stage.startswith("connecting"):
            return Failure("refused", f"cannot connect to {where} ({message})")
        return Failure(
            "bad-response", f"the connection to {where} failed ({message}, {attempt.stage})"
        )
    return Failure("bad-response", f"unexpected error talking to {where}: {type(error).__name__}")
