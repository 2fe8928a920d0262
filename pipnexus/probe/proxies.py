"""The proxy pip and uv would use for a URL, from ``*_proxy`` and ``no_proxy`` variables.

The variables are read with the precedence of ``urllib.request.getproxies_environment`` (any
case, the lower-case name wins; an upper-case ``HTTP_PROXY`` is ignored under CGI) but from
the ``environ`` mapping given, and ``no_proxy`` is matched by
``urllib.request.proxy_bypass_environment``, plus what requests (pip) also honours: CIDR
blocks for IPv4 hosts and bare IPv6 literals. ``all_proxy`` is used when there is no
``<scheme>_proxy``, as requests and uv do.

``urllib.request`` is slow to import, so it is imported only when a proxy applies and a
``no_proxy`` list has to be matched (start-up of the action matters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipnexus import urls
from pipnexus._nt import NamedTuple
from pipnexus.errors import InputError
from pipnexus.probe.classify import basic_auth


class Proxy(NamedTuple):
    host: str  # ASCII host without brackets
    port: int
    display: str  # host:port, no credentials
    auth: str | None  # Proxy-Authorization value
    secrets: tuple[str, ...]  # the userinfo's secret, as written and decoded


def proxy_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """``{"http": ..., "https": ..., "all": ..., "no": ...}`` as
    ``urllib.request.getproxies_environment`` builds it, from ``environ``."""
    proxies: dict[str, str] = {}
    for name, value in environ.items():
        lower = name.lower()
        if value and lower[-6:] == "_proxy":
            proxies[lower[:-6]] = value
    if "REQUEST_METHOD" in environ:
        proxies.pop("http", None)  # CGI: HTTP_PROXY may come from a request header
    for name, value in environ.items():
        if name[-6:] == "_proxy":  # the lower-case names win
            if value:
                proxies[name[:-6].lower()] = value
            else:
                proxies.pop(name[:-6].lower(), None)
    return proxies


def _bypass(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``no_proxy`` exempts ``host`` (lower case, IPv6 without brackets)."""
    entries = [e.strip() for e in no_proxy.split(",") if e.strip()]
    if re.match(r"[0-9]+(\.[0-9]+){3}\Z", host) and any("/" in e for e in entries):
        import ipaddress  # only for IPv4 hosts with CIDR entries

        for entry in entries:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    if ":" in host:
        bare = {e.lower().strip("[]") for e in entries}
        bare |= {e.lower().rpartition("]:")[0].lstrip("[") for e in entries if "]:" in e}
        if host in bare:
            return True
    # in urllib.request since Python 2, though not in typeshed's stubs
    from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

    shown = f"[{host}]" if ":" in host else host
    return bool(proxy_bypass_environment(f"{shown}:{port}", {"no": no_proxy}))


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy URL that pip (requests) and uv take from ``environ`` for ``url``; None for a
    direct connection (no setting, ``no_proxy`` exempts the host, or ``url`` is invalid)."""
    if not any(name[-6:].lower() == "_proxy" and value for name, value in environ.items()):
        return None
    try:
        parsed = urls.parse_url(url)
    except InputError:
        return None
    proxies = proxy_settings(environ)
    proxy = (proxies.get(parsed.scheme) or proxies.get("all") or "").strip()
    if not proxy:
        return None
    no_proxy = proxies.get("no", "").strip()
    if no_proxy == "*":
        return None
    if no_proxy and _bypass(parsed.host.strip("[]"), parsed.effective_port, no_proxy):
        return None
    return proxy


def parse_proxy(proxy_url: str) -> Proxy:
    """An http:// proxy URL (scheme optional) -> Proxy; InputError for anything else."""
    if "://" not in proxy_url:
        proxy_url = "http://" + proxy_url
    scheme = proxy_url.partition("://")[0].lower()
    if scheme != "http":
        raise InputError(
            f"proxy scheme {scheme[:20]!r} from the environment is not supported by the probe "
            "(only http:// proxies; unset it or add the index host to NO_PROXY)"
        )
    parsed = urls.parse_url(proxy_url, "the proxy URL from the environment")
    host = ascii_host(parsed.host)
    shown = f"[{host}]" if ":" in host else host
    return Proxy(
        host,
        parsed.effective_port,
        f"{shown}:{parsed.effective_port}",
        basic_auth(parsed.username, parsed.password),
        parsed.secrets,
    )


def ascii_host(host: str) -> str:
    """A URL's host as sockets take it: brackets of an IPv6 literal off, IDNA-encoded."""
    host = host.strip("[]")
    return host if host.isascii() else host.encode("idna").decode("ascii")
