"""Index-page bytes per warm build when the upstream's pages change and the cache's metadata
has expired between builds.

Run from the repository root: ``python -m bench.egress --metadata [-n 3] [--installers pip,uv]``
or ``python -m bench.egress_metadata [...] [--setups pipnexus]``
(needs ``pip install -e '.[bench]'``).

bench/egress.py's warm pipnexus builds move 0 bytes for the install step within the proxy's
metadata lifetime: after it, the cache asks upstream again for every project page a build
needs, and real PyPI pages change daily (every upload) and are large for long-lived projects.
Here:

* "pypi.org" is ``ChangingIndex``: bench/egress.py's counting index over the same real wheels
  with ``testbed.upstream.PaddedUpstream`` pages: boto3-like projects padded to ``BIG`` bytes,
  every other page to ``PAGE`` bytes (fake yanked pre-releases no installer picks), one new
  release published on every page between builds, and a project list (root page) that has
  changed whenever the cache revalidates it, as pypi.org's has;
* time is scaled down: the cache's metadata lifetime (devpi ``mirror_cache_expiry``) is
  ``EXPIRY`` s, the pages' ``Cache-Control: max-age`` (pypi.org sends 600) is ``EXPIRY`` s too,
  and builds are ``GAP`` s apart: longer than both, like daily builds against a 24 h lifetime;
* the WAN bed of bench/egress_wan.py (upstream and GitHub cache store behind the WAN);
  every pipnexus build runs the job's ``pipnexus configure``, whose probe reads the canary
  page ``pip`` (padded like the others) through the cache: "probe (NAT)" is what the cache
  fetched upstream for it, apart from the install step's pages.

It prints tables and never asserts anything.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from bench._common import (
    CountingIndex,
    builds_parser,
    human,
    machine,
    parse_builds,
    table,
    tempdir,
)
from bench.egress import REQUIREMENTS, fetch_wheels
from bench.egress_wan import Build, links, run_builds, wan_bed
from testbed.interpreters import PIPNEXUS
from testbed.upstream import PaddedUpstream

# ASSUMPTIONS about page sizes: pypi.org's simple page of boto3 or botocore lists thousands of
# files (one release most working days for years) and is hundreds of kB; a mature project's
# page is tens of kB.
BIG_PROJECTS = ("boto3", "botocore")
BIG = 400_000
PAGE = 30_000
EXPIRY = 2
GAP = EXPIRY + 2


class ChangingIndex(PaddedUpstream, CountingIndex):
    """CountingIndex with PaddedUpstream pages whose max-age is ``EXPIRY`` seconds."""

    page_max_age = EXPIRY


def report(installer: str, builds: list[Build]) -> list[list[str]]:
    rows = []
    for b in builds:
        rows.append([installer, b.setup, f"{b.number} ({'cold' if b.number == 1 else 'warm'})",
                     "ok" if b.ok else "FAILED", human(b.upstream.pages),
                     human(b.upstream.metadata), human(b.upstream.files),
                     human(b.probe_up.total) if b.setup == PIPNEXUS else "-",
                     human(b.archive_down + b.archive_up), human(b.nat)])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = builds_parser("python -m bench.egress_metadata", __doc__)
    parser.add_argument("--setups", default=None,
                        help="comma-separated set-ups to run (default all), e.g. pipnexus")
    args, installers = parse_builds(parser, argv)
    wheels = fetch_wheels(REQUIREMENTS)
    print("# pipnexus egress with expiring metadata and changing pages\n")
    print(f"machine: {machine()}")
    print(f"requirements: {' '.join(REQUIREMENTS)}")
    print(f"project pages: {', '.join(BIG_PROJECTS)} padded to {human(BIG)}, the others to "
          f"{human(PAGE)}; one new release on every page between builds")
    print(f"cache metadata lifetime {EXPIRY} s, page max-age {EXPIRY} s, builds {GAP} s apart")
    print(links() + "\n", flush=True)

    def between() -> None:
        time.sleep(GAP)
        index.publish()

    rows: list[list[str]] = []
    warm_pages: dict[tuple[str, str], list[int]] = {}
    warm_probe: list[int] = []
    failed: set[str] = set()
    with tempdir("pipnexus-egress-metadata-") as tmp:
        work = Path(tmp)
        (work / "requirements.txt").write_text("\n".join(REQUIREMENTS) + "\n")
        index = ChangingIndex(wheels, page_bytes=dict.fromkeys(BIG_PROJECTS, BIG),
                              default_page_bytes=PAGE)
        with wan_bed(wheels, installers, work, index=index, cache_expiry=EXPIRY) as bed:
            for installer in installers:
                print(f"## {installer}", flush=True)
                builds = run_builds(installer, args.builds, bed, between,
                                    args.setups.split(",") if args.setups else None)
                rows += report(installer, builds)
                failed.update(f"{installer} {b.setup}" for b in builds if not b.ok)
                for b in builds:
                    if b.number > 1:
                        warm_pages.setdefault((installer, b.setup), []).append(
                            b.upstream.pages)
                        if b.setup == PIPNEXUS:
                            warm_probe.append(b.probe_up.total)
    print()
    print(table(["installer", "set-up", "build", "result", "index pages (NAT)",
                 "metadata (NAT)", "files (NAT)", "probe (NAT)", "cache archive (NAT)",
                 "NAT total"], rows))
    print()
    summary = [[inst, setup, human(min(v)) + (f"-{human(max(v))}" if max(v) != min(v) else "")]
               for (inst, setup), v in warm_pages.items()]
    print(table(["installer", "set-up",
                 "install step: index-page bytes per warm build (min-max)"], summary))
    pn = [v for (_, s), v in warm_pages.items() if s == PIPNEXUS]
    if failed:
        print(f"\n- FAILED builds ({', '.join(sorted(failed))}): their bytes are no valid "
              "measurement")
    if pn and all(x == 0 for v in pn for x in v):
        print("\n- warm pipnexus builds: 0 page bytes from upstream even after expiry")
    else:
        print("\n- warm pipnexus builds past the cache's metadata lifetime fetch every page "
              "the build needs from upstream again (the proxy revalidates expired metadata); "
              "0 bytes for the install step holds only within the metadata lifetime")
    if warm_probe:
        print(f"- warm pipnexus builds, the job's probe (the canary page `pip`, revalidated by "
              f"the cache past its lifetime): {human(min(warm_probe))}"
              + (f"-{human(max(warm_probe))}" if max(warm_probe) != min(warm_probe) else "")
              + " from upstream per build, on top of the install step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
