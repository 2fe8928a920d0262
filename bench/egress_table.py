"""The per-kind table of bench/egress.py: one build's figures (``Build``) and the report.

A pipnexus build's figures have three parts: the job's probe (``pipnexus configure``: the
canary page from the package cache, the interpreter mirror's checksum file from the raw proxy,
and what the caches fetch upstream for them), the interpreter step and the install step. The
"packages" and "interpreter" columns are the steps alone; "probe" is counted apart, and the
NAT and inside totals include it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from bench._common import Counts, human, table
from testbed.interpreters import GITHUB_CACHE, NO_CACHE, PIPNEXUS

NO_PRUNE = "GitHub cache, prune-cache: false"
SETUPS = (NO_CACHE, GITHUB_CACHE, NO_PRUNE, PIPNEXUS)


class Build(NamedTuple):
    setup: str
    number: int  # 1 = cold, 2.. = warm
    cold_run: int  # a cold build: which of the --cold-runs (1..K); a warm one: 0
    ok: bool
    wall: float
    upstream: Counts  # the install step's packages from "pypi.org"
    interpreter: int  # the interpreter step's bytes from "GitHub releases"
    archive_down: int  # cache archives restored (packages + interpreter)
    archive_up: int  # cache archives saved
    inside: int  # bytes the caches sent to the runner, the probe's included
    images: int = 0  # Docker image bytes from "Docker Hub" (bench/egress_docker.py)
    probe_nat: int = 0  # what the caches fetched upstream for the job's probe
    probe_inside: int = 0  # the probe's canary page and mirror file, from the caches

    @property
    def packages(self) -> int:
        return self.upstream.total

    @property
    def archives(self) -> int:
        return self.archive_down + self.archive_up

    @property
    def nat(self) -> int:
        return self.packages + self.interpreter + self.images + self.archives + self.probe_nat

    @property
    def cold(self) -> bool:
        return self.number == 1


def label(b: Build) -> str:
    return f"{b.number} (cold, run {b.cold_run})" if b.cold else f"{b.number} (warm)"


def span(values: Sequence[float]) -> str:
    """``min–max`` in bytes (one figure when they are equal)."""
    lo, hi = human(min(values)), human(max(values))
    return lo if lo == hi else f"{lo}–{hi}"


def _ratio(new: float, old: float) -> str:
    if old <= 0:
        return "n/a"
    return f"{100 * (1 - new / old):.2f} % less"


def _probe(b: Build) -> str:
    return f"{human(b.probe_nat)} ({human(b.probe_inside)} inside)" \
        if b.setup == PIPNEXUS else "-"


def report(installer: str, builds: list[Build]) -> str:
    rows = []
    for b in builds:
        rows.append([
            b.setup, label(b), "ok" if b.ok else "FAILED", human(b.packages),
            human(b.interpreter), human(b.images), _probe(b),
            f"{human(b.archives)} ({human(b.archive_down)} down, {human(b.archive_up)} up)",
            human(b.nat), human(b.inside), f"{b.wall:.1f} s",
        ])
    out = [table(["set-up", "build", "result", "packages", "interpreter", "images", "probe",
                  "cache archive", "NAT total", "inside cluster", "wall"], rows)]

    def warm_mean(setup: str, attr: str) -> float:
        vals = [getattr(b, attr) for b in builds if b.setup == setup and not b.cold]
        return sum(vals) / len(vals) if vals else 0.0

    def cold(setup: str) -> list[float]:
        return [b.nat for b in builds if b.setup == setup and b.cold]

    def cold_files(setup: str) -> list[float]:
        return [b.upstream.files for b in builds if b.setup == setup and b.cold]

    present = [s for s in SETUPS if any(b.setup == s for b in builds)]
    runs = max(b.cold_run for b in builds)
    warm_builds = max(b.number for b in builds) - 1
    summary = []
    for setup in present:
        warm_total = sum(b.nat for b in builds if b.setup == setup and not b.cold)
        summary.append([
            setup, span(cold(setup)), human(warm_mean(setup, "packages")),
            human(warm_mean(setup, "interpreter")), human(warm_mean(setup, "images")),
            human(warm_mean(setup, "probe_nat")) if setup == PIPNEXUS else "-",
            human(warm_mean(setup, "archives")),
            human(warm_mean(setup, "nat")), span([c + warm_total for c in cold(setup)]),
        ])
    out.append("")
    out.append(table(["set-up", f"NAT cold (min–max, {runs} runs)", "warm: packages",
                      "warm: interpreter", "warm: images", "warm: probe", "warm: cache archive",
                      "warm: NAT total", f"NAT, 1 cold + {warm_builds} warm"], summary))
    pn = [b for b in builds if b.setup == PIPNEXUS]
    pn_warm = warm_mean(PIPNEXUS, "nat")
    pn_files = sum(b.upstream.files for b in pn if not b.cold)
    pn_interp = sum(b.interpreter for b in pn if not b.cold)
    out.append("")
    out.append(f"- warm pipnexus builds, install and interpreter steps: {human(pn_files)} of "
               f"package files and {human(pn_interp)} of interpreter from upstream (goal 0 and 0)")
    if pn:
        out.append("- pipnexus probe per job (canary page and interpreter mirror file from the "
                   f"caches): NAT {span([b.probe_nat for b in pn if b.cold])} cold, "
                   f"{span([b.probe_nat for b in pn if not b.cold] or [0])} warm; inside "
                   f"{span([b.probe_inside for b in pn])}")
    for other in (GITHUB_CACHE, NO_PRUNE, NO_CACHE):
        if other in present:
            out.append(f"- NAT per warm build (whole job, probe included), pipnexus vs {other}: "
                       f"{_ratio(pn_warm, warm_mean(other, 'nat'))}")
    pn_files_cold, direct_files = cold_files(PIPNEXUS), cold_files(NO_CACHE)
    if pn_files_cold and direct_files and max(pn_files_cold) > max(direct_files):
        out.append(f"- cold pipnexus builds: the cache fetched {span(pn_files_cold)} of files "
                   f"for {span(direct_files)} of wheels: requests for a wheel that arrive "
                   "while the cache is still downloading it (uv sends a HEAD and then a GET) "
                   "start a second upstream download in devpi")
    if installer == "uv":
        out.append(f"- uv, {GITHUB_CACHE}: the archive is what setup-uv saves by default, after "
                   "`uv cache prune --ci` (which drops wheels downloaded from an index), so warm "
                   f"builds still download every wheel; {NO_PRUNE} keeps them in the archive")
        out.append("- uv: inside the cluster it moves about twice the wheel bytes: devpi serves "
                   "no PEP 658 metadata (nor does Nexus, nexus-public#296) and answers no Range "
                   "requests (Nexus does), so uv downloads each wheel to read its metadata "
                   "(astral-sh/uv#1596)")
    return "\n".join(out)
