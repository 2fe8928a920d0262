"""Concurrent cache misses through the Nexus double share one upstream fetch, as Nexus' proxy
cooperation does (ProxyFacetSupport.get -> proxyCooperation.cooperate(requestKey))."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from testbed.cooperation import Cooperation
from testbed.httpbase import LoopbackServer, QuietHandler, Response, fetch
from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from testbed.wheels import StandardPackages

N = 8
WAIT = 10.0


class GatedRemote(LoopbackServer):
    """A remote that holds every answer until ``gate`` is set; counts GETs per path."""

    def __init__(self, body: bytes = b"x" * 4096) -> None:
        self.gate = threading.Event()
        self.body = body
        self.in_handler = 0  # requests that reached the remote (answered or held)
        super().__init__()

    def handle(self, handler: QuietHandler) -> Response | None:
        with self.lock:
            self.in_handler += 1
        self.gate.wait(WAIT)
        return Response(200, [("Content-Type", "application/octet-stream")], self.body)


def wait_until(predicate, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_n_concurrent_misses_one_upstream_fetch_n_identical_answers() -> None:
    with GatedRemote() as remote, NexusDouble(repository=None) as nexus:
        nexus.add_raw_proxy("raw", remote.base_url)
        url = f"{nexus.base_url}/repository/raw/big/file.bin"
        with ThreadPoolExecutor(N) as pool:
            futures = [pool.submit(fetch, url) for _ in range(N)]
            # every request is in the double: one fetching, N-1 cooperating
            wait_until(lambda: nexus.cooperation.waiting() == N - 1)
            assert remote.count("/big/file.bin") <= 1
            remote.gate.set()
            answers = [f.result(WAIT) for f in futures]
        assert [a.status for a in answers] == [200] * N
        assert {a.body for a in answers} == {remote.body}
        assert len({a.headers["ETag"] for a in answers}) == 1
        assert remote.count("/big/file.bin") == 1
        assert nexus.fetch_count("/big/file.bin") == 1
        assert nexus.upstream_bytes == len(remote.body)
        assert nexus.cooperation.cooperated == N - 1


def test_cooperation_disabled_every_miss_goes_upstream() -> None:
    # nexus.proxy.cooperation.enabled=false: each concurrent miss fetches for itself
    with GatedRemote() as remote, NexusDouble(repository=None) as nexus:
        nexus.cooperation.enabled = False
        nexus.add_raw_proxy("raw", remote.base_url)
        url = f"{nexus.base_url}/repository/raw/file.bin"
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(fetch, url) for _ in range(4)]
            wait_until(lambda: remote.in_handler == 4)
            remote.gate.set()
            assert [f.result(WAIT).status for f in futures] == [200] * 4
        assert nexus.fetch_count("/file.bin") == 4


def test_different_assets_are_fetched_concurrently() -> None:
    with GatedRemote() as remote, NexusDouble(repository=None) as nexus:
        nexus.add_raw_proxy("raw", remote.base_url)
        with ThreadPoolExecutor(3) as pool:
            futures = [
                pool.submit(fetch, f"{nexus.base_url}/repository/raw/f{i}") for i in range(3)
            ]
            # three leaders at once: no global lock around upstream fetches
            wait_until(lambda: nexus.cooperation.in_flight() == 3)
            remote.gate.set()
            assert [f.result(WAIT).status for f in futures] == [200] * 3
        assert nexus.cooperation.cooperated == 0


def test_waiters_get_the_leaders_failure() -> None:
    class Failing(GatedRemote):
        def handle(self, handler: QuietHandler) -> Response | None:
            self.gate.wait(WAIT)
            return Response(404, [], b"")

    with Failing() as remote, NexusDouble(repository=None) as nexus:
        nexus.add_raw_proxy("raw", remote.base_url)
        url = f"{nexus.base_url}/repository/raw/missing"
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(fetch, url) for _ in range(4)]
            wait_until(lambda: nexus.cooperation.waiting() == 3)
            remote.gate.set()
            assert [f.result(WAIT).status for f in futures] == [404] * 4
        assert remote.count("/missing") == 1


def test_pypi_concurrent_cold_downloads(
    upstream: Upstream, packages: StandardPackages
) -> None:
    with NexusDouble(upstream.base_url) as nexus:
        upstream.delay = 0.2  # the leader is slow; everyone else arrives meanwhile
        try:
            page = nexus.index_url() + "pipnexus-demo-pkg/"
            file_url = nexus.repo_url() + (
                f"packages/pipnexus-demo-pkg/1.0/{packages.pkg.name}"
            )
            with ThreadPoolExecutor(N) as pool:
                pages = list(pool.map(lambda _: fetch(page), range(N)))
                files = list(pool.map(lambda _: fetch(file_url), range(N)))
        finally:
            upstream.delay = 0.0
        assert {(p.status, p.body) for p in pages} == {(200, pages[0].body)}
        assert {(f.status, f.body) for f in files} == {(200, packages.pkg.read_bytes())}
        assert nexus.fetch_count("/simple/pipnexus-demo-pkg/") == 1
        assert nexus.fetch_count(packages.pkg.name) == 1


def test_cooperation_disabled_fetches_per_request() -> None:
    coop: Cooperation[int] = Cooperation(enabled=False)
    calls: list[int] = []

    def fetch_once() -> int:
        calls.append(1)
        return 7

    assert coop.cooperate("k", fetch_once, lambda: None) == 7
    assert coop.cooperate("k", fetch_once, lambda: None) == 7
    assert len(calls) == 2


@pytest.mark.parametrize("cached", [True, False])
def test_waiter_prefers_what_the_cache_holds(cached: bool) -> None:
    coop: Cooperation[str] = Cooperation()
    started, release = threading.Event(), threading.Event()

    def leader() -> str:
        started.set()
        release.wait(WAIT)
        return "leader"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(coop.cooperate, "k", leader, lambda: None)
        started.wait(WAIT)
        second = pool.submit(
            coop.cooperate, "k", lambda: "own fetch", lambda: "cache" if cached else None
        )
        wait_until(lambda: coop.waiting() == 1)
        release.set()
        assert first.result(WAIT) == "leader"
        assert second.result(WAIT) == ("cache" if cached else "leader")
