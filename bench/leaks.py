"""Installer leak audit: does anything slip past the proxy once ``pipnexus configure`` ran?

Run from the repository root: ``python -m bench.leaks [--quick] [--only NAME ...]``
(``pip install -e '.[bench]'`` brings every audited tool). The cases and how each is run are
in ``testbed/leakaudit.py`` (shared with tests/test_leaks.py); this prints the report.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from bench._common import machine, table, tempdir
from testbed import leakaudit
from testbed.leakaudit import CASES, Row, make_bed, run_case
from testbed.nexus_double import NexusDouble
from testbed.proxies import DeadProxy
from testbed.upstream import Upstream
from testbed.wheels import standard_packages


def report(rows: list[Row]) -> tuple[str, bool]:
    lines = []
    for r in rows:
        targets = sorted({b.target for b in r.bypassed})
        lines.append([
            r.label, r.version, r.result, r.via_cache,
            f"{len(r.bypassed)}" + (f" ({', '.join(targets)})" if targets else ""),
            r.warns, "; ".join(x for x in (r.known, r.remark) if x),
        ])
    out = table(["tool", "version", "result", "requests via cache", "bypassed",
                 "configure warns", "note"], lines)
    supported = [r for r in rows if not r.known and not r.result.startswith("not run")]
    good = all(r.result == "ok" and not r.bypassed for r in supported)
    return out, good


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.leaks", description=leakaudit.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the cases that take seconds")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only these cases: {', '.join(c.name for c in CASES)}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the output of failed or leaking steps")
    args = parser.parse_args(argv)
    names = {c.name for c in CASES}
    if args.only and not set(args.only) <= names:
        parser.error(f"unknown case; choose from {', '.join(sorted(names))}")
    cases = [c for c in CASES if (not args.quick or c.quick)
             and (not args.only or c.name in args.only)]

    print("# pipnexus installer leak audit\n")
    print(f"machine: {machine()}")
    rows: list[Row] = []
    with tempdir("pipnexus-leaks-") as tmp:
        work = Path(tmp)
        packages = standard_packages(work / "packages")
        with Upstream(packages.directory) as upstream, \
                NexusDouble(upstream.base_url, "pypi-proxy") as nexus, DeadProxy() as proxy:
            assert isinstance(nexus, NexusDouble)
            bed = make_bed(work, nexus, proxy)
            print(f"cache: Nexus double at {bed.urls[False]} (uv: {bed.urls[True]}); "
                  f"dead proxy {proxy.url}")
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
                          f"{len(r.bypassed)} bypassed", flush=True)
                rows.extend(new)
            time.sleep(1)  # anything a tool left running in the background
            late = proxy.count() - sum(len(r.bypassed) for r in rows)
    out, good = report(rows)
    print()
    print(out)
    print()
    print(f"bypasses after the last case (background processes): {late}")
    gaps = [r.label for r in rows if r.known.startswith("gap:") and r.bypassed]
    print(f"configure gaps that leaked: {len(gaps)}" + (f" ({'; '.join(gaps)})" if gaps else ""))
    good = good and late == 0
    print(f"goal, 0 bypasses and success for every supported tool: {'MET' if good else 'NOT MET'}")
    leaking = [r for r in rows if r.detail and (args.verbose or not r.known)]
    for r in leaking:
        print(f"\n--- {r.label}: {r.result}, bypassed: "
              f"{[b.line for b in r.bypassed] or 'none'}\n{r.detail}")
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
