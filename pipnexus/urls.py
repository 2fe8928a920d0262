"""URL checks and helpers for index URLs: validation, credentials, redaction (stdlib only).

Validation rejects rather than repairs: a URL with a line break, a NUL, whitespace or a
control character is refused with one line that never repeats the URL (it may hold a
password), because such a value written to ``GITHUB_ENV`` could inject another variable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote, quote_plus, unquote

from pipnexus._nt import NamedTuple
from pipnexus.errors import InputError

MAX_URL_LENGTH = 4096

# Nexus's repository name rule (NamePatternConstants.REGEX in nexus-public).
# patterns used only by some commands stay strings: re compiles (and caches) them on first use
_REPOSITORY_NAME = r"[a-zA-Z0-9\-][a-zA-Z0-9_\-.]*\Z"
# what an ASCII host name may hold (a set, not a regex: every job checks its index's host)
_ASCII_HOST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-")
# Characters RFC 3986 never allows unencoded anywhere in a URL.
_FORBIDDEN = frozenset('"<>\\^`{|}')
_CHAR_NAMES = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\0": "a NUL byte"}
_NEXUS_INDEX_PATH = r"(?P<prefix>.*?)/repository/(?P<name>[^/]+)/simple/?\Z"
_NEXUS_REPOSITORY_PATH = r"(?P<prefix>.*?)/repository/(?P<name>[^/]+)(?:/.*)?\Z"
# In free text: a scheme, then everything up to the next blank or quote-like delimiter.
_URL_IN_TEXT = r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>`]*"


def _describe_bad_char(url: str) -> str | None:
    for i, ch in enumerate(url):
        code = ord(ch)
        if ch in _CHAR_NAMES:
            return f"{_CHAR_NAMES[ch]} at position {i}"
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            return f"a control character (U+{code:04X}) at position {i}"
        if ch.isspace():
            return f"whitespace (U+{code:04X}) at position {i}"
        if ch in _FORBIDDEN:
            return f"the character {ch!r} at position {i}, which must be percent-encoded"
    return None


def _authority_end(url: str, start: int) -> int:
    """Index where the authority that begins at ``start`` ends (``/``, ``?``, ``#`` or end)."""
    ends = [i for i in (url.find(c, start) for c in "/?#") if i != -1]
    return min(ends) if ends else len(url)


def _check_host(host: str, what: str) -> None:
    if host.startswith("["):
        if not host.endswith("]"):
            raise InputError(f"{what} has an unterminated IPv6 address ('[' without ']')")
        import ipaddress  # only for IPv6 literals

        literal = host[1:-1]
        try:
            ipaddress.IPv6Address(literal.split("%", 1)[0])
        except ValueError:
            raise InputError(f"{what} has an invalid IPv6 address in brackets") from None
        return
    if not host:
        raise InputError(f"{what} has no host name")
    if host.isascii():
        if not _ASCII_HOST.issuperset(host) or ".." in host or host.startswith("."):
            raise InputError(
                f"{what} has an invalid host name (letters, digits, '-', '.' and '_' only)"
            )
        return
    try:
        host.encode("idna")
    except UnicodeError:
        raise InputError(f"{what} has a host name that is not a valid IDNA name") from None


def validate_url(url: str, what: str = "URL") -> str:
    """Check that ``url`` is a plain http(s) URL; return it unchanged or raise InputError.

    IPv6 literals (``http://[::1]:8081/``) and internationalised host names are valid.
    Userinfo must have ``@ : / #`` percent-encoded in the username and password.
    """
    if not isinstance(url, str):
        raise InputError(f"{what} must be a string")
    if not url:
        raise InputError(f"{what} is empty")
    if len(url) > MAX_URL_LENGTH:
        raise InputError(f"{what} is too long ({len(url)} characters; at most {MAX_URL_LENGTH})")
    bad = _describe_bad_char(url)
    if bad:
        raise InputError(f"{what} contains {bad}")
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", url)
    # "host:8081/simple" has no scheme; "file:/x" and "javascript:..." have a wrong one.
    if not match or url[match.end() : match.end() + 1].isdigit():
        raise InputError(f"{what} has no scheme: it must start with http:// or https://")
    scheme = match.group(1)
    if scheme.lower() not in ("http", "https"):
        raise InputError(f"{what} has scheme {scheme.lower()!r}: only http and https are allowed")
    if not url[match.end() :].startswith("//"):
        raise InputError(f"{what} must start with {scheme.lower()}:// followed by a host")
    start = len(scheme) + 3
    end = _authority_end(url, start)
    authority = url[start:end]
    rest = url[end:]
    userinfo, at, hostport = authority.rpartition("@")
    if "@" in rest.split("#", 1)[0].split("?", 1)[0]:
        raise InputError(
            f"{what} has '@' after the host; percent-encode '@', '/' and '#' in a username "
            "or password (%40, %2F, %23)"
        )
    if "#" in rest:
        raise InputError(f"{what} must not contain a fragment ('#'); percent-encode it as %23")
    if at and not userinfo.partition(":")[0] and not userinfo.partition(":")[2]:
        raise InputError(f"{what} has an empty username and password before '@'")
    host, port = hostport, ""
    if hostport.startswith("["):
        close = hostport.find("]")
        if close != -1:
            host, tail = hostport[: close + 1], hostport[close + 1 :]
            if tail and not tail.startswith(":"):
                raise InputError(f"{what} has text after the IPv6 address")
            port = tail[1:]
            if tail == ":":
                raise InputError(f"{what} has an empty port after ':'")
    elif ":" in hostport:
        host, _, port = hostport.partition(":")
        if not port:
            raise InputError(f"{what} has an empty port after ':'")
    _check_host(host, what)
    if port and (not port.isdigit() or not port.isascii() or not 0 < int(port) < 65536):
        raise InputError(f"{what} has an invalid port (a number from 1 to 65535 is needed)")
    return url


def ensure_trailing_slash(url: str) -> str:
    """Add ``/`` to the end of the URL's path (before any query) if it is missing."""
    path, q, query = url.partition("?")
    if not path.endswith("/"):
        path += "/"
    return path + q + query


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Return ``(url without userinfo, username, password)``, both percent-decoded.

    ``username`` is None when the URL has no userinfo; ``password`` is None when the
    userinfo has no ``:``.
    """
    scheme, sep, _ = url.partition("://")
    if not sep:
        return url, None, None
    start = len(scheme) + 3
    end = _authority_end(url, start)
    userinfo, at, hostport = url[start:end].rpartition("@")
    if not at:
        return url, None, None
    user, colon, password = userinfo.partition(":")
    return (
        url[:start] + hostport + url[end:],
        unquote(user),
        unquote(password) if colon else None,
    )


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """Return ``url`` with userinfo replaced by the given, percent-encoded credentials.

    Any userinfo already in ``url`` is dropped. With both None, the URL has no userinfo.
    """
    bare, _, _ = split_credentials(url)
    if username is None and password is None:
        return bare
    userinfo = quote(username or "", safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    scheme, _, tail = bare.partition("://")
    return f"{scheme}://{userinfo}@{tail}"


def _redact_one(url: str) -> str:
    scheme, _, tail = url.partition("://")
    end = _authority_end(tail, 0)
    authority = tail[:end]
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        # A lone user name before '@' is usually a token (as pip assumes): hide it too.
        shown = f"{user}:***" if colon else "***"
        return f"{scheme}://{shown}@{hostport}{tail[end:]}"
    userinfo, at, rest = tail.rpartition("@")
    user, colon, after = authority.partition(":")
    if at and colon and not after.isdigit():
        # An unencoded '/' in the password ended the authority early: the host follows the
        # last '@'. Redact too much rather than leak.
        return f"{scheme}://{user}:***@{rest}"
    return url


def secret_encodings(secret: str) -> tuple[str, ...]:
    """The forms ``secret`` takes in a URL or form body: plain and percent-encoded."""
    return (secret, quote(secret, safe=""), quote(secret), quote_plus(secret))


def url_secrets(text: str) -> Iterator[str]:
    """Passwords (or lone tokens) in the userinfo of the blank-separated URLs in ``text``,
    as written and percent-decoded.

    Linear in the length of ``text``: values may be huge and hostile.
    """
    for token in text.split():
        _, sep, rest = token.partition("://")
        if not sep:
            continue
        userinfo, at, _ = rest[: _authority_end(rest, 0)].rpartition("@")
        if not at:
            continue
        user, colon, password = userinfo.partition(":")
        secret = password if colon else user
        if secret:
            yield secret
            yield unquote(secret)


def secret_forms(secrets: Iterable[str], username: str | None) -> list[str]:
    """Every form a secret can take in our output: plain, URL-encoded, Basic-auth base64."""
    import base64

    forms: dict[str, None] = {}
    for secret in secrets:
        if not secret:
            continue
        forms.update(dict.fromkeys(secret_encodings(secret)))
        for user in {username or "", ""}:
            token = base64.b64encode(f"{user}:{secret}".encode()).decode()
            forms[token] = None
    return list(forms)


def redact(url_or_text: str, secrets: Iterable[str] = ()) -> str:
    """Replace the password of every URL's userinfo in ``url_or_text`` by ``***``.

    A userinfo without a password (``https://TOKEN@host/``) is treated as a token and
    replaced whole. ``secrets`` are further strings to hide wherever they occur, in plain and
    percent-encoded forms (e.g. a password given outside any URL).
    """
    text = re.sub(_URL_IN_TEXT, lambda m: _redact_one(m.group(0)), url_or_text)
    for secret in secrets:
        if secret:
            for form in dict.fromkeys(secret_encodings(secret)):
                text = text.replace(form, "***")
    return text


def trusted_host(url: str) -> str | None:
    """The value for ``PIP_TRUSTED_HOST``: host without port for http URLs, None for https.

    A host without a port trusts every port for pip. IPv6 literals keep their brackets
    (``[::1]``): pip strips them when it parses a trusted host (``parse_netloc``), and uv
    compares against ``Url::host_str()``, which includes them.
    """
    bare, _, _ = split_credentials(url)
    scheme, sep, tail = bare.partition("://")
    if not sep or scheme.lower() != "http":
        return None
    hostport = tail[: _authority_end(tail, 0)]
    if hostport.startswith("["):
        return hostport[: hostport.find("]") + 1].lower() if "]" in hostport else None
    return hostport.partition(":")[0].lower() or None


def is_repository_name(name: str) -> bool:
    """Whether ``name`` follows Nexus's rule for repository and blob store names."""
    return bool(re.match(_REPOSITORY_NAME, name))


def validate_repository(name: str) -> str:
    """Check a Nexus repository name with Nexus's own rule; return it or raise InputError."""
    if not isinstance(name, str) or not name:
        raise InputError("repository name is empty")
    if len(name) > 200 or not is_repository_name(name):
        raise InputError(
            "repository name is invalid: Nexus allows letters, digits, '-', '_' and '.', "
            "not starting with '_' or '.'"
        )
    return name


def index_from_nexus(nexus_url: str, repository: str, what: str = "Nexus URL") -> str:
    """``<nexus-url>/repository/<repository>/simple/`` after validating both parts."""
    validate_url(nexus_url, what)
    validate_repository(repository)
    if "?" in nexus_url:
        raise InputError(f"{what} must not have a query ('?')")
    return f"{nexus_url.rstrip('/')}/repository/{repository}/simple/"


class NexusIndex(NamedTuple):
    base: str  # the Nexus base URL, with any userinfo and context path
    repository: str  # the repository name as written in the path


def nexus_index_parts(index_url: str) -> NexusIndex | None:
    """``http://h:8081/repository/x/simple/`` -> ``("http://h:8081", "x")``, keeping a
    context path (``https://h/nexus/repository/x/simple`` -> ``https://h/nexus``).

    None if the URL does not have the shape of a Nexus PyPI repository index.
    """
    return _nexus_parts(index_url, _NEXUS_INDEX_PATH)


def nexus_repository_parts(url: str) -> NexusIndex | None:
    """Like :func:`nexus_index_parts` for any URL inside a Nexus repository
    (``http://h:8081/repository/x/`` -> ``("http://h:8081", "x")``)."""
    return _nexus_parts(url, _NEXUS_REPOSITORY_PATH)


def _nexus_parts(url: str, pattern: str) -> NexusIndex | None:
    scheme, sep, tail = url.partition("://")
    if not sep or "?" in tail or "#" in tail:
        return None
    end = _authority_end(tail, 0)
    match = re.match(pattern, tail[end:])
    if not match:
        return None
    return NexusIndex(f"{scheme}://{tail[:end]}{match.group('prefix')}", match.group("name"))


def nexus_base_from_index(index_url: str) -> str | None:
    """``http://h:8081/repository/x/simple/`` -> ``http://h:8081`` (keeping a context path).

    None if the URL does not have the shape of a Nexus PyPI repository index.
    """
    parts = nexus_index_parts(index_url)
    return parts.base if parts is not None else None



class URL(NamedTuple):
    """An http(s) URL validated and split once (:func:`parse_url`), to flow through probe,
    decision and rendering without being re-split at every step."""

    text: str  # as given, with any userinfo: for installers only, never shown
    bare: str  # without userinfo, otherwise as given
    scheme: str  # lower case
    host: str  # lower case; an IPv6 literal keeps its brackets
    port: int | None  # as written; None when absent
    target: str  # path and query as written ("" when the URL has none)
    username: str | None  # percent-decoded; None without userinfo
    password: str | None  # percent-decoded; None when the userinfo has no ':'

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else (443 if self.scheme == "https" else 80)

    @property
    def origin(self) -> tuple[str, str, int]:
        """What a redirect must keep to stay on the same server."""
        return (self.scheme, self.host, self.effective_port)

    @property
    def netloc(self) -> str:
        """``host[:port]`` as it goes in a Host header."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def has_credentials(self) -> bool:
        return self.username is not None

    @property
    def trusted_host(self) -> str | None:
        """The value for ``PIP_TRUSTED_HOST``: see :func:`trusted_host`."""
        return self.host if self.scheme == "http" else None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The userinfo's secret (the password, or a lone token), as written and decoded."""
        return tuple(url_secrets(self.text))

    def redacted(self, secrets: Iterable[str] = ()) -> str:
        return redact(self.text, secrets)

    def with_credentials(self, username: str | None, password: str | None) -> URL:
        return parse_url(with_credentials(self.text, username, password))

    def joined(self, path: str) -> URL:
        """This URL with ``path`` appended to its path (after a ``/``), query dropped,
        credentials kept."""
        base = ensure_trailing_slash(self.text.split("?", 1)[0])
        return parse_url(base + path.lstrip("/"))


def parse_url(text: str, what: str = "URL") -> URL:
    """Validate ``text`` (:func:`validate_url`) and split it once; InputError when invalid."""
    validate_url(text, what)
    bare, username, password = split_credentials(text)
    scheme, _, tail = bare.partition("://")
    end = _authority_end(tail, 0)
    hostport, target = tail[:end], tail[end:]
    if hostport.startswith("["):
        close = hostport.index("]")
        host, port = hostport[: close + 1], hostport[close + 2 :]
    else:
        host, _, port = hostport.partition(":")
    return URL(
        text=text,
        bare=bare,
        scheme=scheme.lower(),
        host=host.lower(),
        port=int(port) if port else None,
        target=target,
        username=username,
        password=password,
    )
