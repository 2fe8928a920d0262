"""A TCP relay on 127.0.0.1 that counts the bytes it hands to clients.

The egress benchmark puts one in front of the cache (bytes "inside the cluster") and one in
front of the python-build-standalone releases server (interpreter bytes across the "NAT").
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress


class CountingRelay:
    """Forwards ``relay.port`` to ``target_port``, counting the bytes handed to clients."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._sock = socket.socket()
        self._lock = threading.Lock()
        self._down = 0

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def downstream_bytes(self) -> int:
        with self._lock:
            return self._down

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while chunk := src.recv(1 << 16):
                if count:  # before sending: counted by the time the client has it
                    with self._lock:
                        self._down += len(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def __enter__(self) -> CountingRelay:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
