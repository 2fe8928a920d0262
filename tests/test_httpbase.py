"""testbed.httpbase: the bed's loopback HTTP servers."""

from __future__ import annotations

import socket
import urllib.request

from testbed.httpbase import LoopbackServer, QuietHandler, Response


class _NagleReport(LoopbackServer):
    """Answers whether Nagle's algorithm is off on the connection it answers on."""

    def handle(self, handler: QuietHandler) -> Response | None:
        off = handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        return Response(200, [("Content-Type", "text/plain")], b"off" if off else b"on")


def test_servers_answer_with_nagle_off() -> None:
    # Headers and body are two writes: with Nagle on, a small body would wait for the
    # client's delayed ACK of the headers, a stall per request that pypi.org does not add.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with _NagleReport() as srv, opener.open(f"{srv.base_url}/", timeout=10) as resp:
        assert resp.read() == b"off"
