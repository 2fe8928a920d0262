"""One candidate's probe state (:class:`Attempt`), which the transport updates, the watchdog
aborts at the deadline and :func:`pipnexus.probe.classify.failure_of` reads; :class:`Deadline`.
"""

from __future__ import annotations

import socket
import time


class Deadline(Exception):
    """The total deadline (or the shorter wait for an error page) passed."""


class Attempt:
    """State of one candidate's probe, shared with the thread that enforces the deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.until: float | None = None  # an earlier end, while reading an error page
        self.what = "request"
        self.stage = "starting"
        self.where = ""
        self.url = ""  # the URL asked now, without userinfo (for scheme_mixup)
        self.sock: socket.socket | None = None
        self.cancelled = False

    def remaining(self) -> float:
        end = self.deadline if self.until is None else min(self.deadline, self.until)
        left = end - time.monotonic()
        if left <= 0 or self.cancelled:
            raise Deadline()
        return left

    def abort(self) -> None:
        """The watchdog, called by the waiting thread at the deadline: wake a read blocked in
        this probe, e.g. on a server that trickles a header that never ends, where no single
        read times out (tests/probe/test_transport.py::test_headers_trickle,
        tests/probe/test_engine.py::test_worker_threads_are_daemons_and_end)."""
        self.cancelled = True
        sock = self.sock
        if sock is not None:
            # the plain socket method also works on an SSLSocket without touching TLS state
            # not contextlib.suppress: one import fewer at start-up (see fsutil.py)
            try:  # noqa: SIM105
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
