"""Which scheme a server speaks, to name an ``http://``/``https://`` mix-up in a URL: the
active check of the nexus commands, which opens a connection of its own to confirm.

Why there are two mechanisms: :func:`pipnexus.probe.classify.scheme_mixup` is passive, it reads
a mix-up off what a request already met (an SSL error, a status line that is a TLS record, a
web server's "plain HTTP to an HTTPS port" page) and costs nothing; the probe uses only it,
because every candidate shares one deadline and an extra connection per failure would spend it
(and a plain-HTTP server may hold a half-sent request until the deadline). The nexus commands
go through requests, whose errors carry other texts, and can afford a second connection to be
sure before they tell the user to change ``--url``; they use the passive check first
(``tls_error_says_plain_http``) and this module only when it cannot tell. Two mix-ups:

* ``https://`` for a plain-HTTP server: the TLS client reads an HTTP answer where it expects
  a TLS record; the probe's :func:`pipnexus.probe.classify.tls_error_says_plain_http` knows
  OpenSSL's words for it; other texts are confirmed by sending a plain request
  (:func:`speaks_plain_http`).
* ``http://`` for a TLS port: servers differ. Python's and Jetty's TLS stacks reset the
  connection, nginx answers 400 "The plain HTTP request was sent to HTTPS port", Go answers
  400 "Client sent an HTTP request to an HTTPS server."; so a reset or a 400 is confirmed by a
  TLS handshake (:func:`speaks_tls`), certificate unchecked: nothing is sent but the hello.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

from pipnexus import urls

CERTIFICATE_ERRORS = ("certificate verify failed", "certificate_verify_failed")


def is_certificate_error(text: str) -> bool:
    low = text.lower()
    return any(marker in low for marker in CERTIFICATE_ERRORS)


def other_scheme(url: str) -> str:
    """``url`` with http and https swapped, on the same host and port (kept explicit when it
    is the default port of the scheme given)."""
    parsed = urls.parse_url(url)
    scheme = "http" if parsed.scheme == "https" else "https"
    port = parsed.effective_port
    default = 443 if scheme == "https" else 80
    netloc = parsed.host if port == default else f"{parsed.host}:{port}"
    return f"{scheme}://{netloc}{parsed.target}"


def _address(url: str) -> tuple[str, int]:
    parsed = urls.parse_url(url)
    return parsed.host.strip("[]"), parsed.effective_port


def speaks_tls(url: str, timeout: float) -> bool:
    """Whether the server of ``url`` completes a TLS handshake (certificate not checked)."""
    host, port = _address(url)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sni = None if _is_ip(host) else host
            with ctx.wrap_socket(sock, server_hostname=sni):
                return True
    except (OSError, ValueError):  # ssl.SSLError is an OSError
        return False


def speaks_plain_http(url: str, timeout: float) -> bool:
    """Whether the server of ``url`` answers a plain ``HEAD /`` with an HTTP status line."""
    host, port = _address(url)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\nHost: " + host.encode("idna") + b"\r\n\r\n")
            answer = b""
            while len(answer) < 5:
                chunk = sock.recv(5 - len(answer))
                if not chunk:
                    break
                answer += chunk
            return answer == b"HTTP/"
    except (OSError, UnicodeError):
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
