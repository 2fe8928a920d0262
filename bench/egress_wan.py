"""Warm builds over a modelled WAN: no cache vs GitHub cache vs pipnexus, bytes AND time.

Run from the repository root: ``python -m bench.egress_wan [-n 3] [--installers pip,uv]``
(needs ``pip install -e '.[bench]'`` for devpi-server and uv).

On loopback an archive costs nothing to move, so wall times there say nothing about a runner.
Here every path that crosses the NAT gateway goes through ``testbed.relay.ThrottledRelay`` with
``WAN_RATE``/``WAN_RTT`` (stated assumptions, see testbed/relay.py), and the path to the
in-cluster cache through one with ``CLUSTER_RATE``/``CLUSTER_RTT`` (assumptions too):

* "pypi.org": bench/egress.py's ``CountingIndex`` over the same real wheels, behind the WAN;
* "the GitHub cache store": ``ArchiveStore`` (a TCP blob store on 127.0.0.1) behind the WAN;
  a restore downloads the archive through it and unpacks it, a save packs and uploads;
* "the in-cluster Nexus": devpi-server (its own upstream is "pypi.org" behind the WAN), reached
  by the runner through the in-cluster link.

Packages only (the interpreter step of bench/egress.py is left out). Each build is an
ephemeral runner's job: a fresh venv and an empty installer cache; a pipnexus build first runs
the job's ``pipnexus configure`` (its probe reads the canary page through the cache: "probe"
bytes and seconds, in the build's NAT total and wall). The set-ups take turns
(build 1 of each, then build 2 of each, ...), so that a slow spell of a shared machine is
spread over all of them. For pip, ``STALE`` restores the GitHub cache as a job more than
pypi.org's page max-age after the save would (see ``STALE``). It prints tables and never
asserts anything about time.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple

from bench._common import (
    CountingIndex,
    Counts,
    builds_parser,
    devpi,
    human,
    isolated_env,
    machine,
    parse_builds,
    pipnexus_configure,
    run,
    table,
    tempdir,
)
from bench.egress import (
    REQUIREMENTS,
    fetch_wheels,
    install,
    setups,
    uv_bin,
)
from bench.egress_table import NO_PRUNE
from testbed.httpbase import QuietHandler, Response
from testbed.interpreters import GITHUB_CACHE, NO_CACHE, PIPNEXUS, pack, unpack
from testbed.nexus_double import NexusDouble
from testbed.relay import WAN_RATE, WAN_RTT, ThrottledRelay

# The runner -> in-cluster cache link: pod to pod (or to a ClusterIP service) in one cluster.
# ASSUMPTIONS, like the WAN figures: 500 MB/s per connection and a 1 ms round trip.
CLUSTER_RATE = 500_000_000
CLUSTER_RTT = 0.001
# pip's GitHub cache restored by a job more than pypi.org's page max-age (600 s) after the job
# that saved it, which is when most restores happen (the archive is saved once per key): pip
# has every project page but must revalidate each one with pypi.org (a 304 here, the pages
# never change), one request after another over the WAN. The plain GITHUB_CACHE row restores
# within seconds of the save, so pip's pages are still fresh and it sends no request at all.
STALE = "GitHub cache, pages stale"
PAGE_CACHE_CONTROL = "max-age=600, public"  # CountingIndex's project pages, as pypi.org's


def wan_setups(installer: str) -> tuple[str, ...]:
    """bench.egress's set-ups, plus ``STALE`` after the GitHub cache for pip."""
    out = list(setups(installer))
    if installer == "pip":
        out.insert(out.index(GITHUB_CACHE) + 1, STALE)
    return tuple(out)


class WanIndex(CountingIndex):
    """``CountingIndex`` whose project pages are sent already stale (``max-age=0``, so a
    client's cached copy must be revalidated) while ``stale_pages`` is set: the cold build of
    the ``STALE`` set-up fills its archive with such pages, as a restore ten minutes or more
    after the save would find them."""

    stale_pages = False

    def handle(self, handler: QuietHandler) -> Response | None:
        resp = super().handle(handler)
        if resp is None or not self.stale_pages:
            return resp
        return resp._replace(headers=[(k, "max-age=0, public" if v == PAGE_CACHE_CONTROL
                                       else v) for k, v in resp.headers])


class ArchiveStore:
    """A blob store on 127.0.0.1 keeping one archive per key (a word) in ``directory``: a
    client sends ``PUT <key> <size>\\n<bytes>`` (answer ``ok\\n``) or ``GET <key>\\n`` (answer:
    the bytes, then the connection closes). Plays the GitHub cache's storage; put it behind a
    ``ThrottledRelay``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn, suppress(OSError, ValueError, IndexError):
                conn.settimeout(600)
                with conn.makefile("rb") as f:  # closed first: it holds the socket open
                    line = f.readline().split()
                    data = f.read(int(line[2])) if line[:1] == [b"PUT"] else b""
                path = self.directory / line[1].decode("ascii")
                if line[:1] == [b"PUT"]:
                    path.write_bytes(data)
                    conn.sendall(b"ok\n")
                elif line[:1] == [b"GET"]:
                    conn.sendall(path.read_bytes())
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> ArchiveStore:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        self._thread.join(5)


def upload(port: int, key: str, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=600) as c:
        c.sendall(b"PUT %s %d\n" % (key.encode("ascii"), len(data)) + data)
        if c.recv(3) != b"ok\n":
            raise OSError("archive store did not confirm the upload")


def download(port: int, key: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=600) as c:
        c.sendall(b"GET %s\n" % key.encode("ascii"))
        parts = []
        while part := c.recv(1 << 16):
            parts.append(part)
    return b"".join(parts)


class Build(NamedTuple):
    setup: str
    number: int
    ok: bool
    upstream: Counts  # the install step's
    archive_down: int
    archive_up: int
    restore: float  # archive download + unpack
    install: float
    save: float  # pack + upload
    probe_up: Counts = Counts(0, 0, 0, 0)  # pipnexus: what the cache fetched for the probe
    probe: float = 0.0  # pipnexus: the job's `pipnexus configure` step

    @property
    def nat(self) -> int:
        return self.upstream.total + self.probe_up.total + self.archive_down + self.archive_up

    @property
    def wall(self) -> float:
        return self.probe + self.restore + self.install + self.save


class Bed(NamedTuple):
    up: CountingIndex
    wan_index_url: str  # "pypi.org" through the WAN
    cache_url: str  # the cache's base URL through the in-cluster link
    store_port: int  # the archive store through the WAN
    work: Path
    reqs: Path
    cache: str = "devpi"  # or "nexus": which server plays the in-cluster Nexus

    def cache_index(self, installer: str) -> str:
        """The cache's index for one installer (its own index or repository, so each
        installer's first build finds it cold)."""
        if self.cache == "nexus":
            return f"{self.cache_url}/repository/{installer}/simple/"
        return f"{self.cache_url}/root/{installer}/+simple/"


def run_builds(installer: str, n: int, bed: Bed, between: Callable[[], None] | None = None,
               which: Sequence[str] | None = None, interleave: bool = False) -> list[Build]:
    """``n`` builds per set-up (build 1 cold); ``between`` runs before every build but the
    first of each set-up (e.g. waits out the cache's metadata lifetime, publishes releases).

    ``interleave``: build i of every set-up, then build i + 1 of every set-up, the order
    rotated by one set-up each round, so that a slow spell of a shared machine does not fall
    on one set-up's builds only; ``between`` then runs once before every round but the first.
    Otherwise every build of one set-up, then the next set-up's."""
    work, builds = bed.work, []
    cache_var = "PIP_CACHE_DIR" if installer == "pip" else "UV_CACHE_DIR"
    base = isolated_env(work / "home", {"UV_LINK_MODE": "copy"})
    direct = {"PIP_INDEX_URL": bed.wan_index_url, "PIP_TRUSTED_HOST": "127.0.0.1",
              "UV_DEFAULT_INDEX": bed.wan_index_url}
    chosen = list(which or setups(installer))
    width = max(len(s) for s in chosen)
    saved: set[str] = set()  # set-ups whose GitHub cache archive is in the store

    def build(setup: str, i: int) -> Build:
        tag = f"{installer}-{setup.replace(' ', '-').replace(':', '')}"
        github = setup in (GITHUB_CACHE, STALE, NO_PRUNE)
        venv, cache_dir = work / f"venv-{installer}", work / f"{tag}-cache"
        shutil.rmtree(cache_dir, ignore_errors=True)
        probe_before, probe = bed.up.counts(), 0.0
        env = dict(base, **direct)
        if setup == PIPNEXUS:
            # the job's action step: one probe per job, in the build's window
            start = time.perf_counter()
            configured = pipnexus_configure(bed.cache_index(installer), bed.wan_index_url,
                                            base, decision=False)
            probe = time.perf_counter() - start
            if configured.source != "nexus":
                print(f"  warning: pipnexus configure chose {configured.source!r}: the "
                      "pipnexus numbers below are not through the cache", flush=True)
            env = dict(base, **configured.env)
        env[cache_var] = str(cache_dir)
        before = bed.up.counts()
        down = upl = 0
        restore = save = 0.0
        archive = work / f"{tag}.tar.gz"
        if github and setup in saved:
            start = time.perf_counter()
            archive.write_bytes(download(bed.store_port, tag))
            down = unpack(archive, cache_dir)
            restore = time.perf_counter() - start
        stale = setup == STALE and setup not in saved
        if stale and not isinstance(bed.up, WanIndex):
            raise ValueError(f"set-up {STALE!r} needs a WanIndex upstream")
        if isinstance(bed.up, WanIndex):
            bed.up.stale_pages = stale
        start = time.perf_counter()
        ok = install(installer, venv, bed.reqs, env)
        took = time.perf_counter() - start
        if isinstance(bed.up, WanIndex):
            bed.up.stale_pages = False
        if github and setup not in saved:
            start = time.perf_counter()
            if installer == "uv" and setup == GITHUB_CACHE:
                run([uv_bin(), "cache", "prune", "--ci"], env, timeout=120)
            upl = pack(cache_dir, archive)
            upload(bed.store_port, tag, archive.read_bytes())
            save = time.perf_counter() - start
            saved.add(setup)
        b = Build(setup, i, ok, bed.up.counts() - before, down, upl, restore, took, save,
                  before - probe_before, probe)
        print(f"  {setup:{width}} build {i}: {'ok' if ok else 'FAILED'}, NAT "
              f"{human(b.nat)} (install step: pages {human(b.upstream.pages)}, "
              f"{b.upstream.requests} requests to pypi.org; probe {human(b.probe_up.total)}), "
              f"probe {b.probe:.1f} s, restore {b.restore:.1f} s, install {b.install:.1f} s, "
              f"save {b.save:.1f} s", flush=True)
        return b

    if interleave:
        for i in range(1, n + 1):
            if i > 1 and between is not None:
                between()
            k = (i - 1) % len(chosen)
            builds += [build(setup, i) for setup in chosen[k:] + chosen[:k]]
        order = {s: j for j, s in enumerate(chosen)}
        return sorted(builds, key=lambda b: (order[b.setup], b.number))
    for setup in chosen:
        for i in range(1, n + 1):
            if i > 1 and between is not None:
                between()
            builds.append(build(setup, i))
    return builds


def _span(vals: Sequence[float], fmt: Callable[[float], str]) -> str:
    if not vals:
        return "n/a"
    if len(vals) == 1 or min(vals) == max(vals):
        return fmt(vals[0])
    return f"{fmt(statistics.mean(vals))} ({fmt(min(vals))}-{fmt(max(vals))})"


def report(builds: list[Build]) -> str:
    rows = [[b.setup, f"{b.number} ({'cold' if b.number == 1 else 'warm'})",
             "ok" if b.ok else "FAILED",
             f"{human(b.upstream.total)} ({b.upstream.requests} requests)",
             human(b.probe_up.total) if b.setup == PIPNEXUS else "-",
             f"{human(b.archive_down)} down, {human(b.archive_up)} up", human(b.nat),
             f"{b.probe:.1f} s" if b.setup == PIPNEXUS else "-",
             f"{b.restore:.1f} s", f"{b.install:.1f} s", f"{b.save:.1f} s", f"{b.wall:.1f} s"]
            for b in builds]
    out = [table(["set-up", "build", "result", "packages (NAT)", "probe (NAT)",
                  "cache archive (NAT)", "NAT total", "probe", "restore", "install", "save",
                  "wall"], rows), ""]
    present = list(dict.fromkeys(b.setup for b in builds))
    secs: Callable[[float], str] = lambda v: f"{v:.1f} s"  # noqa: E731
    summary = []
    for s in present:
        warm = [b for b in builds if b.setup == s and b.number > 1]
        summary.append([s, _span([float(b.nat) for b in warm], human),
                        _span([b.wall for b in warm], secs)])
    out.append(table(["set-up", "warm: NAT per build, mean (min-max)",
                      "warm: wall per build, mean (min-max)"], summary))

    def warm_wall(s: str) -> float:
        vals = [b.wall for b in builds if b.setup == s and b.number > 1]
        return statistics.mean(vals) if vals else float("nan")

    out.append("")
    pn = warm_wall(PIPNEXUS)
    for other in (GITHUB_CACHE, STALE, NO_PRUNE, NO_CACHE):
        if other in present:
            verdict = "MET" if pn <= warm_wall(other) else "NOT MET"
            out.append(f"- goal, a warm build through pipnexus is not slower than {other}: "
                       f"{verdict} ({pn:.1f} s vs {warm_wall(other):.1f} s, mean of warm "
                       "builds)")
    return "\n".join(out)


@contextmanager
def wan_bed(wheels: Path, installers: Sequence[str], work: Path,
            index: CountingIndex | None = None, cache_expiry: int = 1800,
            cache: str = "devpi") -> Iterator[Bed]:
    """"pypi.org" and the archive store behind the WAN, the cache behind the in-cluster link:
    devpi (one mirror index per installer), or the Nexus double (one PyPI proxy repository per
    installer, with the same metadata lifetime)."""
    reqs = work / "requirements.txt"
    with (index or WanIndex(wheels)) as up, \
            ThrottledRelay(up.port, WAN_RATE, WAN_RTT) as wan_up:
        wan_index = f"http://127.0.0.1:{wan_up.port}/simple/"
        with _cache(cache, wan_index, installers, work, cache_expiry) as cache_port, \
                ThrottledRelay(cache_port, CLUSTER_RATE, CLUSTER_RTT) as near, \
                ArchiveStore(work / "store") as store, \
                ThrottledRelay(store.port, WAN_RATE, WAN_RTT) as wan_store:
            yield Bed(up, wan_index, f"http://127.0.0.1:{near.port}", wan_store.port, work,
                      reqs, cache)


@contextmanager
def _cache(kind: str, upstream: str, installers: Sequence[str], work: Path,
           expiry: int) -> Iterator[int]:
    """The in-cluster cache's port."""
    if kind == "devpi":
        with devpi(upstream, installers, work, cache_expiry=expiry) as url:
            yield int(url.rsplit(":", 1)[1])
        return
    remote = upstream.removesuffix("/simple/")  # a Nexus PyPI proxy's remote: https://pypi.org
    with NexusDouble(None, None) as double:
        for installer in installers:
            # "Maximum metadata age" is in minutes, as Nexus has it
            double.add_pypi_proxy(installer, remote, proxy={
                "remoteUrl": remote, "contentMaxAge": 1440, "metadataMaxAge": expiry / 60})
        yield double.port


def links() -> str:
    return (f"WAN (runner or cache -> pypi.org, runner -> GitHub cache store): "
            f"{human(WAN_RATE)}/s per connection and direction, {WAN_RTT * 1000:.0f} ms RTT; "
            f"in-cluster (runner -> cache): {human(CLUSTER_RATE)}/s, "
            f"{CLUSTER_RTT * 1000:.0f} ms RTT (assumptions: testbed/relay.py, "
            "bench/egress_wan.py)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = builds_parser("python -m bench.egress_wan", __doc__)
    parser.add_argument("--cache", choices=("devpi", "nexus"), default="devpi",
                        help="the server that plays the in-cluster Nexus: devpi-server "
                        "(default) or the Nexus double, which answers Range requests as "
                        "Nexus's PyPI routes do (PartialFetchHandler) and devpi does not")
    args, installers = parse_builds(parser, argv)
    wheels = fetch_wheels(REQUIREMENTS)
    files = [p for p in wheels.iterdir() if p.suffix == ".whl"]
    print("# pipnexus egress over a modelled WAN\n")
    print(f"machine: {machine()}")
    print(f"requirements: {' '.join(REQUIREMENTS)} ({len(files)} real wheels, "
          f"{human(sum(p.stat().st_size for p in files))})")
    print(links())
    print(f"in-cluster cache (plays Nexus): {args.cache}")
    print(f"builds per set-up: {args.builds} (build 1 cold), fresh venv and empty installer "
          "cache each; wall = probe (pipnexus: the job's `pipnexus configure`) + restore "
          "(archive download + unpack) + install + save (pack + upload)\n", flush=True)
    with tempdir("pipnexus-egress-wan-") as tmp:
        work = Path(tmp)
        (work / "requirements.txt").write_text("\n".join(REQUIREMENTS) + "\n")
        with wan_bed(wheels, installers, work, cache=args.cache) as bed:
            for installer in installers:
                print(f"## {installer}", flush=True)
                builds = run_builds(installer, args.builds, bed,
                                    which=wan_setups(installer), interleave=True)
                print()
                print(report(builds))
                print(flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
