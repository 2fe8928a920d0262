"""Installer leak audit: does anything slip past the proxy once ``pipnexus configure`` ran?

Run from the repository root: ``python -m bench.leaks [--quick] [--only NAME ...]``
(``pip install -e '.[bench]'`` brings every audited tool). The cases and how each is run are
in ``testbed/leakaudit.py``, ``leakmore.py`` and ``leakrun.py`` (shared with
tests/test_leaks.py); this prints the report. As root it runs itself again under
``unshare -mn`` (testbed/netns.py) so that strace and a DNS stub witness every connection
attempt; elsewhere only the ``HTTPS_PROXY`` trap does (the report says which).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench._common import machine, table, tempdir
from testbed import leakaudit, netns, pbs
from testbed.leakaudit import Row
from testbed.leakmore import ALL_CASES as CASES
from testbed.leakmore import make_tool_wheel
from testbed.leakrun import Bed, isolated_bed, make_bed, python_mirror, run_case, unpinned
from testbed.nexus_double import NexusDouble
from testbed.proxies import DeadProxy
from testbed.upstream import Upstream
from testbed.wheels import standard_packages


def _short(items: Sequence[str]) -> str:
    seen = sorted(set(items))
    return f"{len(items)}" + (f" ({', '.join(seen[:3])}{', ...' if len(seen) > 3 else ''})"
                              if seen else "")


def leaked(r: Row) -> bool:
    return bool(r.bypassed or r.connects or r.queries or r.packets)


def failed(r: Row) -> bool:
    return r.result != "ok" or leaked(r)


def verdict(r: Row) -> str:
    """pass: clean; warned: a known shape leaked and configure warned about it; FAIL: a
    supported row leaked or failed, or a known row leaked unwarned; "no leak": a known case's
    step that leaked nothing (the case needs one "warned" step, else its warning is unproven
    and the goal is not met); off: a pipnexus setting off on purpose; "-": not run."""
    if r.result.startswith("not run"):
        return "-"
    if r.known.startswith("off:"):
        return "off"
    if r.known:
        if not leaked(r):
            return "no leak"
        return "warned" if r.warns == "yes" else "FAIL"
    return "FAIL" if failed(r) else "pass"


def report(rows: list[Row]) -> tuple[str, bool]:
    lines = []
    for r in rows:
        lines.append([
            r.label, r.version, r.result, verdict(r), r.via_cache,
            _short([b.target for b in r.bypassed]),
            _short(r.connects) if r.isolated else "-", _short(r.queries) if r.isolated else "-",
            "-" if r.packets is None else r.packets, r.warns,
            "; ".join(x for x in (r.known, r.remark) if x),
        ])
    out = table(["tool", "version", "result", "row", "requests via cache", "via HTTPS_PROXY",
                 "connects (strace)", "DNS queries", "packets out", "configure warns", "note"],
                lines)
    # a known case passes when one of its steps leaked and configure warned about it
    good = all(verdict(r) != "FAIL" for r in rows) and all(
        any(verdict(x) == "warned" for x in rows if x.known == r.known)
        for r in rows if r.known and not r.known.startswith("off:")
        and not r.result.startswith("not run"))
    return out, good


@contextmanager
def _bed(work: Path, isolated: bool) -> Iterator[Bed]:
    if isolated:
        netns.enter(work / "etc")
        with isolated_bed(work / "bed") as bed:
            yield bed
        return
    packages = standard_packages(work / "packages")
    make_tool_wheel(packages.directory)
    with Upstream(packages.directory) as upstream, \
            NexusDouble(upstream.base_url, "pypi-proxy") as nexus, DeadProxy() as proxy, \
            pbs.Releases({pbs.Build(): pbs.make_archive(pbs.Build())}) as releases:
        assert isinstance(nexus, NexusDouble) and isinstance(releases, pbs.Releases)
        yield make_bed(work, nexus, proxy, releases=releases)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.leaks", description=leakaudit.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the cases that take seconds")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only these cases: {', '.join(c.name for c in CASES)}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the output of failed or leaking steps")
    parser.add_argument("--no-netns", action="store_true",
                        help="no network namespace: the HTTPS_PROXY trap is the only witness")
    args = parser.parse_args(argv)
    why = "--no-netns" if args.no_netns else netns.why_unavailable()
    if why is None and not netns.inside():
        # everything again, servers included, in a namespace with only loopback
        return netns.reexec(["-m", "bench.leaks", *(sys.argv[1:] if argv is None else argv)])
    names = {c.name for c in CASES}
    if args.only and not set(args.only) <= names:
        parser.error(f"unknown case; choose from {', '.join(sorted(names))}")
    cases = [c for c in CASES if (not args.quick or c.quick)
             and (not args.only or c.name in args.only)]

    print("# pipnexus installer leak audit\n")
    print(f"machine: {machine()}")
    rows: list[Row] = []
    if why is None:
        print("witnesses: network namespace, default route to nowhere (nftables counts every "
              "packet leaving loopback; strace connect/sendto/sendmsg/sendmmsg/io_uring_setup; "
              "DNS stub) + HTTPS_PROXY trap")
    else:
        print(f"witnesses: HTTPS_PROXY trap only (no namespace: {why})")
    with tempdir("pipnexus-leaks-") as tmp:
        work = Path(tmp)
        with _bed(work, why is None) as bed:
            proxy = bed.proxy
            print(f"cache: Nexus double at {bed.urls[False]} (uv: {bed.urls[True]}); "
                  f"dead proxy {proxy.url}")
            print("interpreter mirror: the double's raw proxy of testbed/pbs.py's releases; "
                  f"configure --python-mirror {python_mirror(bed.urls[True])} set "
                  f"UV_PYTHON_INSTALL_MIRROR={bed.envs[True].get('UV_PYTHON_INSTALL_MIRROR')}")
            print(f"pipnexus configure set: {' '.join(sorted(bed.configured.env))}")
            for w in bed.configured.warnings:
                print(f"  configure: {w}")
            print(flush=True)
            for case in cases:
                case_dir = work / "cases" / case.name
                case_dir.mkdir(parents=True)
                new = run_case(case, bed, case_dir)
                for r in new:
                    print(f"  {r.label}: {r.result}, {r.via_cache} via cache, "
                          f"{len(r.bypassed)} via HTTPS_PROXY, {len(r.connects)} connects, "
                          f"{len(r.queries)} DNS queries, {r.packets} packets out", flush=True)
                rows.extend(new)
            time.sleep(1)  # anything a tool left running in the background
            late = proxy.count() - sum(len(r.bypassed) for r in rows)
            if bed.dns:
                late += bed.dns.count() - sum(len(r.queries) for r in rows)
    out, good = report(rows)
    print()
    print(out)
    print()
    print(f"proxy connections or DNS queries after the last case (background processes): "
          f"{late}")
    drift = unpinned(rows)
    print("tool versions against bench/constraints.txt: "
          + (f"DIFFER: {'; '.join(drift)}" if drift else "all as pinned"))
    off = [r.label for r in rows if r.known.startswith("off:") and failed(r)]
    print(f"rows with a pipnexus setting off that leaked (what the setting prevents): "
          f"{len(off)}" + (f" ({'; '.join(off)})" if off else ""))
    good = good and late == 0
    print("goal, no witness saw anything and success for every supported tool, and every "
          "known shape leaked only where configure warned: "
          f"{'MET' if good else 'NOT MET'}")
    leaking = [r for r in rows if r.detail and (args.verbose or not r.known)]
    for r in leaking:
        print(f"\n--- {r.label}: {r.result}, via HTTPS_PROXY: "
              f"{[b.line for b in r.bypassed] or 'none'}, connects: {r.connects or 'none'}, "
              f"DNS: {r.queries or 'none'}\n{r.detail}")
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
