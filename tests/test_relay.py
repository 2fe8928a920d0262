"""testbed.relay: CountingRelay and ThrottledRelay (the modelled WAN link of bench/egress_wan.py).
Only lower bounds derived from the configured rate and latency are asserted (never a timing of
our code)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from testbed.relay import CountingRelay, ThrottledRelay

SIZE = 1_000_000


@contextmanager
def _sender(payload: bytes) -> Iterator[int]:
    """A one-shot TCP server on 127.0.0.1 that sends ``payload`` to its client and closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(10)

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        with conn:
            conn.sendall(payload)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield int(srv.getsockname()[1])
    finally:
        srv.close()
        t.join(10)


def _receive(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        parts = []
        while part := c.recv(1 << 16):
            parts.append(part)
    return b"".join(parts)


def test_a_transfer_takes_at_least_its_size_over_the_rate_plus_half_the_rtt() -> None:
    payload = bytes(range(256)) * (SIZE // 256)
    rate, rtt = 10_000_000, 0.02
    with _sender(payload) as port, ThrottledRelay(port, rate=rate, rtt=rtt) as relay:
        start = time.monotonic()
        got = _receive(relay.port)
        elapsed = time.monotonic() - start
        assert got == payload
        assert relay.downstream_bytes() == len(payload)
    assert elapsed >= len(payload) / rate + rtt / 2


@pytest.mark.parametrize("make", [CountingRelay, lambda port: ThrottledRelay(port, 1e9, 0.0)],
                         ids=["counting", "throttled"])
def test_relays_forward_with_nagle_off(make: Callable[[int], CountingRelay]) -> None:
    # Nagle's algorithm on the relay's sockets would hold a response's last small piece until
    # the client's delayed ACK: a per-request stall that a network link does not add.
    payload = b"small answer"
    with _sender(payload) as port, make(port) as relay:
        assert _receive(relay.port) == payload
        sockets = relay.sockets()
        assert len(sockets) == 2  # the client's end and the upstream end
        for s in sockets:
            assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_exit_closes_open_connections() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    try:
        relay = ThrottledRelay(int(srv.getsockname()[1]), rate=1_000_000, rtt=0.0)
        with relay:
            client = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
            upstream, _ = srv.accept()  # the relay's connection, which never sends anything
        with client, upstream:
            assert client.recv(1) == b""  # closed by the relay, not left hanging
    finally:
        srv.close()


def test_rejects_a_rate_that_is_not_positive() -> None:
    with pytest.raises(ValueError):
        ThrottledRelay(1, rate=0)
