"""Listeners that stand for "the internet" in installer tests and the leak audit.

``DeadProxy`` is what ``HTTPS_PROXY``/``HTTP_PROXY`` point at: it records the target of each
connection (``CONNECT pypi.org:443``), answers 502 and closes, so every record is a request
that went around the package index under test. ``proxy_env`` builds the proxy variables.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import NamedTuple


class Bypass(NamedTuple):
    target: str
    line: str


class DeadProxy:
    """A listener for ``HTTP(S)_PROXY``: every connection is a bypass; it is recorded and refused.

    ``CONNECT host:443`` (https through the proxy) and ``GET http://host/...`` (plain http) name
    their target; anything else (a direct TLS hello redirected here) is recorded as ``direct``.
    """

    def __init__(self) -> None:
        self.bypasses: list[Bypass] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n" not in data and len(data) < 8192:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            first = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
            parts = first.split()
            if len(parts) >= 2 and parts[0].isalpha() and parts[0].isupper():
                target = parts[1]
                if "://" in target:  # GET http://host/path: keep scheme://host
                    target = "/".join(target.split("/")[:3])
            else:
                target, first = "direct", repr(data[:40])
            with self._lock:
                self.bypasses.append(Bypass(target, first))
            with suppress(OSError):
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")

    def count(self) -> int:
        with self._lock:
            return len(self.bypasses)

    def since(self, mark: int) -> list[Bypass]:
        with self._lock:
            return self.bypasses[mark:]

    def __enter__(self) -> DeadProxy:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()


def proxy_env(proxy: DeadProxy, no_proxy: Sequence[str]) -> dict[str, str]:
    """Proxy variables sending everything but the loopback cache to the dead proxy."""
    hosts = ",".join(["127.0.0.1", "localhost", *no_proxy])
    return {
        "HTTPS_PROXY": proxy.url, "https_proxy": proxy.url,
        "HTTP_PROXY": proxy.url, "http_proxy": proxy.url,
        "ALL_PROXY": proxy.url, "all_proxy": proxy.url,
        "NO_PROXY": hosts, "no_proxy": hosts,
    }
