"""A small Nexus REST client: Basic auth, bounded retries, TLS verified, clear error lines.

The connection options of ``nexus apply`` and ``nexus status`` come from the one option layer
(:mod:`pipnexus.options`) and become a typed :class:`Connection` once, in :func:`connection`.
``requests`` is imported when a Client is made, so importing this module stays cheap.
The password is only ever handed to requests' auth; it is never part of a message.
The client remembers the ``Server: Nexus/<version> (<edition>)`` header of the answers
(``sonatype/nexus-public: components/nexus-base/src/main/java/org/sonatype/nexus/internal/web/
EnvironmentFilter.java``) so that callers apply that version's rules.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from pipnexus import options, urls
from pipnexus.errors import InputError
from pipnexus.nexus.answers import (
    ServerVersion,
    answer_text,
    error_lines,
    printable,
    server_version,
)
from pipnexus.probe.classify import cause_of, network_failure

USER_AGENT = "pipnexus-nexus"
# the bound of the TLS handshake that tells an http:// URL of a TLS port (speaks_tls_instead)
HANDSHAKE_TIMEOUT = 3.0
# the commands' wait before their first retry, doubling after each (read at each client_for)
BACKOFF = 0.5


class Connection(NamedTuple):
    """Where Nexus is and how to talk to it, checked once."""

    url: str  # base URL without credentials and trailing slash
    username: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    timeout: float = options.NEXUS_REQUEST_TIMEOUT
    retries: int = options.NEXUS_RETRIES


def add_connection_arguments(
    parser: argparse.ArgumentParser,
    default_username: str | None,
    default_timeout: float,
    default_retries: int,
) -> None:
    """--url, --username, --password-env, --ca-cert, --timeout and --retries."""
    parser.add_argument(
        "--url", required=True, metavar="URL", help="Nexus base URL, e.g. https://nexus.example"
    )
    options.add_credentials(parser, default_username=default_username)
    options.add_ca_cert(parser)
    options.add_timeout(parser, default=default_timeout)
    parser.add_argument(
        "--retries",
        default=str(default_retries),
        metavar="N",
        help="retries after connection errors and 5xx answers, with backoff "
        f"(default: {default_retries}; at most {options.NEXUS_MAX_RETRIES})",
    )


def parse_retries(value: str | None, default: int) -> int:
    text = options.given(value)
    if text is None:
        return default
    if not text.isdigit() or int(text) > options.NEXUS_MAX_RETRIES:
        raise InputError(f"--retries must be a whole number from 0 to {options.NEXUS_MAX_RETRIES}")
    return int(text)


def connection(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    default_timeout: float,
    default_retries: int,
) -> Connection:
    """The typed settings of the options added by :func:`add_connection_arguments`."""
    url = check_base_url(args.url)
    creds = options.parse_credentials(
        args.username, args.password_env, environ, from_environment=False
    )
    return Connection(
        url=url,
        username=creds.username,
        password=creds.password,
        ca_cert=options.parse_ca_cert(args.ca_cert),
        timeout=options.parse_timeout(args.timeout, default_timeout),
        retries=parse_retries(args.retries, default_retries),
    )


def client_for(conn: Connection, backoff: float | None = None) -> Client:
    return Client(
        conn.url,
        username=conn.username,
        password=conn.password,
        ca_cert=conn.ca_cert,
        timeout=conn.timeout,
        attempts=conn.retries + 1,
        backoff=BACKOFF if backoff is None else backoff,
    )


class NexusError(Exception):
    """Nexus refused or could not be reached; ``lines`` are safe to print. ``code`` is the
    diagnostic code of the error line (``diagnostics.CODES``)."""

    def __init__(
        self,
        summary: str,
        lines: list[str] | None = None,
        status: int | None = None,
        refused: bool = False,
        code: str = "nexus-unreachable",
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.lines = lines or []
        self.status = status
        self.refused = refused  # the last attempt's connection was refused (nothing listens)
        self.code = code

    def message(self) -> str:
        """The summary and the lines of the answer, on one line."""
        return f"{self.summary}: {'; '.join(self.lines)}" if self.lines else self.summary


class AuthError(NexusError):
    def __init__(self, summary: str, status: int) -> None:
        super().__init__(summary, status=status, code="nexus-auth")


class SchemeError(NexusError):
    """The URL's scheme is not what the server speaks; ``fix`` is the URL with the other one."""

    def __init__(self, summary: str, fix: str) -> None:
        super().__init__(summary, code="not-nexus")
        self.fix = fix


STATUS_PATH = "/service/rest/v1/status"


def check_base_url(url: str) -> str:
    parsed = urls.parse_url(url, "--url")
    if parsed.has_credentials:
        raise InputError("--url must not contain credentials; use --username and --password-env")
    return parsed.bare.rstrip("/")


class Client:
    def __init__(
        self,
        base_url: str,
        username: str | None = None,
        password: str | None = None,
        ca_cert: str | None = None,
        timeout: float = 30.0,
        attempts: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import requests

        self.base_url = check_base_url(base_url)
        self.username = username
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.sleep = sleep
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or netrc credentials from the environment
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        if username is not None and password is not None:
            self.session.auth = (username, password)
        self.echoes = _echo_forms(username, password)
        if ca_cert:
            if not os.path.isfile(ca_cert):
                raise InputError("--ca-cert does not name a readable file")
            self.session.verify = ca_cert
        self.ca_cert = ca_cert
        # from the first answer that names one (None: no answer yet, or none named a version)
        self.server: ServerVersion | None = None
        self.answered = False  # a connection may be in the pool

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        anonymous: bool = False,
    ) -> Any:
        """Send with bounded retries on connection errors and 5xx; return the last response.
        ``anonymous``: without the credentials (to a server not yet known to be Nexus)."""
        import requests

        url = self.url(path)
        last_error = ""
        refused = False
        if method not in _IDEMPOTENT and self.answered:
            # a pooled connection the server closed after its last answer would fail this
            # request, which is not safe to send twice: a fresh connection instead
            self._drop_idle_connections()
        stale_retry = method in _IDEMPOTENT
        attempt = 0
        while attempt < self.attempts:
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = self.session.request(
                    method,
                    url,
                    json=body,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    auth=_no_auth if anonymous else None,
                )
            except requests.exceptions.SSLError as e:
                raise self._tls_error(e) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
                cause = cause_of(e)
                if stale_retry and self.answered and _closed_unanswered(cause):
                    # the pooled connection was closed by the server after its last answer
                    # (urllib3 reuses it when the close has not arrived yet): once more, at
                    # once, on a new connection; not counted as one of --retries
                    stale_retry = False
                    self._drop_idle_connections()
                    continue
                last_error = self._failure_text(cause, e)
                refused = isinstance(cause, ConnectionRefusedError)
                timed_out = isinstance(e, requests.exceptions.Timeout)
                if not (refused or timed_out or attempt) and self.speaks_tls_instead():
                    raise self.scheme_error() from None
                attempt += 1
                continue
            self.answered = True
            if self.server is None:
                self.server = server_version(resp.headers.get("Server"))
            if resp.status_code >= 500 and attempt + 1 < self.attempts:
                last_error = f"HTTP {resp.status_code}"
                resp.close()
                attempt += 1
                continue
            if resp.status_code >= 300:
                self._scrub(resp)
            return resp
        times = "once" if self.attempts == 1 else f"{self.attempts} times"
        raise NexusError(
            f"cannot reach {self.base_url}: {last_error}; tried {times}", refused=refused
        )

    def _failure_text(self, cause: BaseException, error: Exception) -> str:
        """A connection failure in the probe's words (pipnexus.probe.classify)."""
        failure = network_failure(cause, "the server", self.timeout)
        if failure is None and "timed out" in str(error).lower():
            failure = network_failure(TimeoutError(), "the server", self.timeout)
        return failure.detail if failure else _reason(error)

    def _drop_idle_connections(self) -> None:
        for adapter in self.session.adapters.values():
            adapter.close()  # the pools are made again on the next request

    def _tls_error(self, e: Exception) -> NexusError:
        from pipnexus.nexus import schemes
        from pipnexus.probe.classify import tls_error_says_plain_http

        text = str(e)
        if tls_error_says_plain_http(text) or (
            not schemes.is_certificate_error(text)
            and schemes.speaks_plain_http(self.base_url, self.timeout)
        ):
            return self.scheme_error()
        if schemes.is_certificate_error(text):
            hint = "" if self.ca_cert else "; pass the cluster's CA with --ca-cert FILE"
            return NexusError(f"TLS verification failed for {self.base_url}{hint} ({_reason(e)})")
        return NexusError(f"TLS handshake with {self.base_url} failed ({_reason(e)})")

    def speaks_tls_instead(self) -> bool:
        """For an ``http://`` base URL: whether its port completes a TLS handshake."""
        from pipnexus.nexus import schemes

        # a TLS server completes the handshake in a round trip or two; a plain-HTTP server may
        # wait for the rest of a request that never comes: not the whole request timeout
        return self.base_url.startswith("http://") and schemes.speaks_tls(
            self.base_url, min(self.timeout, HANDSHAKE_TIMEOUT)
        )

    def scheme_error(self) -> SchemeError:
        from pipnexus.nexus import schemes

        if self.base_url.startswith("https://"):
            speaks = "plain HTTP, not TLS"
        else:
            speaks = "TLS, not plain HTTP"
        return SchemeError(f"{self.base_url} speaks {speaks}", schemes.other_scheme(self.base_url))

    def _scrub(self, resp: Any) -> None:
        """Hide the credentials in an error answer that echoes them (reason phrase, body)."""
        if not self.echoes:
            return
        content = resp.content or b""
        reason = resp.reason or ""
        for form in self.echoes:
            content = content.replace(form, b"***")
            reason = reason.replace(form.decode("latin-1"), "***")
        resp._content = content
        resp.reason = reason

    def auth_error(self, resp: Any, doing: str) -> AuthError:
        who = f"user '{self.username}'" if self.username else "anonymous access"
        if resp.status_code == 401:
            hint = (
                "check --username and the password in --password-env"
                if self.session.auth
                else "give --username and --password-env"
            )
            return AuthError(
                f"authentication failed while {doing}: Nexus answered 401 for {who}; {hint}",
                status=401,
            )
        return AuthError(
            f"not allowed while {doing}: Nexus answered 403 for {who}; it needs the nx-admin "
            "role or the matching nx-repository-admin-* / nx-settings privileges",
            status=403,
        )

    def refused(self, resp: Any, doing: str, repository: bool = False) -> NexusError:
        if resp.status_code in (401, 403):
            return self.auth_error(resp, doing)
        return NexusError(
            f"Nexus refused {doing} (HTTP {resp.status_code})",
            error_lines(resp.status_code, resp.text, repository),
            status=resp.status_code,
            code="nexus-refused",
        )


def _echo_forms(username: str | None, password: str | None) -> list[bytes]:
    """The password as an error page could echo it: plain, URL-encoded, in the Basic header."""
    import base64

    from pipnexus import urls

    if not password:
        return []
    forms: set[bytes] = set()
    for encoding in ("utf-8", "latin-1"):  # requests encodes Basic credentials as latin-1
        try:
            raw = f"{username or ''}:{password}".encode(encoding)
            forms.add(password.encode(encoding))
        except UnicodeEncodeError:
            continue
        forms.add(base64.b64encode(raw))
    forms.update(form.encode("utf-8") for form in urls.secret_encodings(password))
    return sorted(forms, key=len, reverse=True)


def check_nexus(client: Client, option: str = "--url") -> Any:
    """GET the status endpoint, without credentials, and make sure Nexus answered it; return
    the answer (200, or 5xx for a Nexus that is not ready or a proxy whose Nexus is down).

    Nexus answers it to anyone, anonymous access on or off (``StatusResource.isAvailable`` has
    no ``@RequiresAuthentication``; ``NexusBasicHttpAuthenticationFilter.isPermissive``), with
    200 (503 when not readable) and an empty body, and ``EnvironmentFilter`` puts
    ``Server: Nexus/<version> (<edition>)`` on every answer. A reverse proxy may drop that header
    (nginx does unless told ``proxy_pass_header Server``), so a 200 with an empty body counts
    too. Anything else is not Nexus: an InputError (exit 2) naming what answered, so that
    nothing (no password, no plan) goes to it. NexusError when nothing answers.
    """
    try:
        resp = client.request("GET", STATUS_PATH, anonymous=True)
        if resp.status_code == 400 and client.speaks_tls_instead():
            raise client.scheme_error()
    except SchemeError as e:
        raise InputError(f"{e.summary}: use {option} {e.fix}", "not-nexus") from None
    header = resp.headers.get("Server") or ""
    status = resp.status_code
    if header.startswith("Nexus/") or status >= 500:
        return resp
    if status == 200 and not (resp.content or b"").strip():
        return resp
    location = resp.headers.get("Location") or ""
    if 300 <= status < 400 and client.base_url.startswith("http://"):
        from pipnexus.nexus import schemes

        https = schemes.other_scheme(client.base_url)
        if location.startswith(https + "/") or location == https:
            raise InputError(
                f"{client.base_url} redirects to HTTPS: use {option} {https}", "not-nexus"
            )
    server = printable(header)
    what = f"{answer_text(resp)}, Server: {server}" if server else answer_text(resp)
    hint = f"; if it runs under a path, put the path in {option}" if status == 404 else ""
    raise InputError(
        f"{client.base_url} is not a Nexus Repository Manager (GET {STATUS_PATH} answered "
        f"{what}; Nexus answers 200 there, with a 'Server: Nexus/...' header{hint})",
        "not-nexus",
    )


def _no_auth(request: Any) -> Any:
    """A requests auth that adds nothing, overriding the session's credentials."""
    return request


# what may be sent twice after a reused connection failed before any answer: the methods RFC
# 9110 (section 9.2.2) calls idempotent. golang/go's net/http transport retries the same case
# (src/net/http/transport.go, persistConn.shouldRetryRequest: reused connection, replayable
# request) for GET/HEAD/OPTIONS/TRACE only; apply's PUT is a full replacement, as safe twice.
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def _closed_unanswered(cause: BaseException) -> bool:
    """Whether the connection was closed or reset before any answer came."""
    import http.client

    closed = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
    return isinstance(cause, closed)


_SSL_REASON = re.compile(r"\[SSL(?:: \w+)?\] ([^'\"]*?)(?: \(_ssl\.c:\d+\))?['\")]")


def _reason(e: Exception) -> str:
    """A short, credential-free reason for a requests exception."""
    text = str(e)
    ssl_reason = _SSL_REASON.search(text)
    if ssl_reason:  # OpenSSL's words, without Python's "(_ssl.c:NNN)" and requests' wrapping
        return ssl_reason.group(1).strip()[:160] or type(e).__name__
    for marker in ("Failed to establish a new connection: ", "] "):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    text = text.rstrip("')\"").strip()
    return text[:160] or type(e).__name__
