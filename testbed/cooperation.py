"""Request cooperation as Nexus' proxy facet uses it: one upstream fetch per key at a time.

Source: sonatype/nexus-public,
``components/nexus-repository-services/.../proxy/ProxyFacetSupport.java``:
``get(context, staleContent)`` is ``proxyCooperation.on(() -> doGet(...))
.checkFunction(...).cooperate(getRequestKey(context))``; ``configureCooperation`` reads
``nexus.proxy.cooperation.enabled`` (true), ``majorTimeout`` (0s = wait indefinitely),
``minorTimeout`` (30s) and ``threadsPerKey`` (100); the mechanism is
``org.sonatype.nexus.common.cooperation2`` (``Cooperation2``, ``DefaultCooperation2Factory``).

The first thread that misses the cache for a key (the leader) runs the fetch; threads asking for
the same key meanwhile wait for it, then run the check function (is the cache fresh now?) and
serve what it finds; when the check finds nothing they get the leader's result (doGet: content
that was not stored is wrapped in a reusable TempContent "for cooperation") or its error.

DEVIATION: Nexus keys cooperation by request path + query (``getRequestKey``); the Nexus double
keys it by repository and cache entry (the normalized project for pages, the file name for
files), so two spellings of one project page share a fetch in the double and not in Nexus.

DEVIATION: ``threadsPerKey`` (Nexus answers a CooperationException, "Thread cooperation maxed",
beyond 100 waiters per key) and ``minorTimeout`` are not modelled, and waiters wait for the leader
without a timeout (as ``majorTimeout`` 0s); the leader itself is bounded by the double's upstream
timeout. Unsure: whether a waiter re-raises the leader's failure or fetches again itself after a
failed download; the double re-raises it (all waiters see the leader's 404/502/503).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.waiters = 0


class Cooperation(Generic[T]):
    """``cooperate(key, fetch, check)``: one ``fetch()`` per key at a time, shared by waiters."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call[T]] = {}
        self.cooperated = 0  # requests served by another thread's fetch (for tests/benchmarks)

    def cooperate(
        self, key: Hashable, fetch: Callable[[], T], check: Callable[[], T | None]
    ) -> T:
        if not self.enabled:
            return fetch()
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
            else:
                call.waiters += 1
        if leader:
            try:
                call.result = fetch()
                return call.result
            except BaseException as exc:
                call.error = exc
                raise
            finally:
                with self._lock:
                    del self._calls[key]
                call.done.set()
        call.done.wait()
        with self._lock:
            self.cooperated += 1
        found = check()
        if found is not None:
            return found
        if call.error is not None:
            raise call.error
        assert call.result is not None
        return call.result

    def in_flight(self) -> int:
        """Keys being fetched now."""
        with self._lock:
            return len(self._calls)

    def waiting(self) -> int:
        """Threads waiting now for another thread's fetch, every key."""
        with self._lock:
            return sum(call.waiters for call in self._calls.values())
