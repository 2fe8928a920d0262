"""A TCP relay on 127.0.0.1 that counts the bytes it hands to clients.

The egress benchmark puts one in front of the cache (bytes "inside the cluster") and one in
front of the python-build-standalone releases server (interpreter bytes across the "NAT").
``ThrottledRelay`` adds a modelled WAN link (bandwidth and latency per direction).
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from contextlib import suppress


def _shutdown(*socks: socket.socket) -> None:
    for s in socks:
        with suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)


class CountingRelay:
    """Forwards ``relay.port`` to ``target_port``, counting the bytes handed to clients."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._sock = socket.socket()
        self._lock = threading.Lock()
        self._down = 0
        self._conns: set[socket.socket] = set()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def downstream_bytes(self) -> int:
        with self._lock:
            return self._down

    def sockets(self) -> list[socket.socket]:
        """Both ends of every connection accepted so far (until ``__exit__``)."""
        with self._lock:
            return list(self._conns)

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while chunk := src.recv(1 << 16):
                self._deliver(dst, chunk, count)
        except OSError:
            pass
        finally:
            _shutdown(src, dst)

    def _deliver(self, dst: socket.socket, chunk: bytes, count: bool) -> None:
        if count:  # before sending: counted by the time the client has it
            with self._lock:
                self._down += len(chunk)
        dst.sendall(chunk)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
                upstream.settimeout(None)
                # A link forwards each packet as it comes. With Nagle's algorithm on, the
                # relay's write of a response's last small piece would wait for the client's
                # delayed ACK of the previous one (up to 40 ms on Linux): a stall per request
                # that no router adds.
                for s in (client, upstream):
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def __enter__(self) -> CountingRelay:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


# A modelled WAN link (bench/egress_wan.py): 50 MB/s per connection and 20 ms round trip.
# Both figures are ASSUMPTIONS, not measurements: a cloud NAT gateway's aggregate bandwidth is
# many Gbit/s (the AWS VPC user guide, "NAT gateways", gives 5 Gbps scaling up to 100 Gbps), but
# one TCP flow to an Internet host is limited by its window and round trip, and 50 MB/s (400
# Mbit/s) is a plausible single-flow figure; 20 ms is the order of a round trip from a cloud
# region to a CDN edge or storage endpoint in the same geography.
WAN_RATE = 50_000_000  # bytes per second, per connection and direction
WAN_RTT = 0.020  # seconds, round trip (half of it added in each direction)
_CHUNK = 1 << 14
_STOP = b""


class ThrottledRelay(CountingRelay):
    """A ``CountingRelay`` that models a WAN link: every connection gets at most ``rate`` bytes
    per second in each direction, and every byte arrives ``rtt / 2`` seconds after it was sent.

    A reader thread stamps each chunk with its arrival time and queues it; a writer thread
    releases it no earlier than ``arrival + rtt / 2`` and no earlier than the previous chunk's
    release plus ``len(chunk) / rate`` (so latency and bandwidth add up the way they do on a
    link, and a transfer of N bytes takes at least ``N / rate + rtt / 2``). ``__exit__`` closes
    every open connection, so the relay's threads end within ``_POLL`` seconds.
    """

    _POLL = 0.1

    def __init__(self, target_port: int, rate: float = WAN_RATE, rtt: float = WAN_RTT) -> None:
        if rate <= 0 or rtt < 0:
            raise ValueError("rate must be > 0 and rtt >= 0")
        super().__init__(target_port)
        self.rate = float(rate)
        self.rtt = float(rtt)
        self._closed = threading.Event()

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue(maxsize=4096)

        def read() -> None:
            try:
                while not self._closed.is_set():
                    chunk = src.recv(_CHUNK)
                    chunks.put((time.monotonic(), chunk))
                    if not chunk:
                        return
            except OSError:
                chunks.put((time.monotonic(), _STOP))

        threading.Thread(target=read, daemon=True).start()
        free = 0.0  # when the link has sent everything released so far
        try:
            while not self._closed.is_set():
                try:
                    arrived, chunk = chunks.get(timeout=self._POLL)
                except queue.Empty:
                    continue
                if not chunk:
                    break
                free = max(free, arrived + self.rtt / 2) + len(chunk) / self.rate
                while (wait := free - time.monotonic()) > 0 and not self._closed.is_set():
                    time.sleep(min(wait, self._POLL))
                self._deliver(dst, chunk, count)
        except OSError:
            pass
        finally:
            _shutdown(src, dst)

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        super().__exit__(*exc)
        with self._lock:
            conns, self._conns = self._conns, set()
        for s in conns:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                s.close()
