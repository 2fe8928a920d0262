"""Real projects, end to end: other people's workflows and lock files through pipnexus.

Run from the repository root (needs ``pip install -e '.[bench]' -c bench/constraints.txt``)::

    python -m bench.realprojects                      # every project of bench/realprojects.json
    python -m bench.realprojects --project requests   # one (repeatable)

``bench/realprojects.json`` is the manifest and the provenance record: for every project its
repository, the pinned commit, its licence, the SHA-256 of each file the bench uses (its
workflows, project and lock files: never its code) and the install commands its CI runs, read
from its workflows by hand. For each project:

1. Its files are taken from a git mirror of the repository (``--mirrors DIR`` holding
   ``owner+name/repo``, a bare clone) or from raw.githubusercontent.com at the pinned commit,
   checked against the manifest's SHA-256 and put in ``bench/.cache/realprojects/src/``
   (git-ignored). The package itself is replaced by the manifest's ``stubs`` (an empty
   ``__init__.py``, a version), so building it still needs its real build backend.
2. ``pipnexus migrate --diff`` over its workflows; the diff is kept as an artifact in
   ``bench/.cache/realprojects/out/<project>/migrate.diff``.
3. The PyPI files its install commands need are downloaded once from pypi.org into
   ``bench/.cache/realprojects/pypi/`` (``Recorder``: every file checked against the SHA-256
   pypi.org's simple API lists for it), by a first job through the Nexus double whose remote
   is the recorder. Every measured job after that is offline: "pypi.org" is the bench's
   ``CountingIndex`` over those files, and every byte it serves counts as NAT traffic. A
   project's extra index (the manifest's ``extra_index``) is pointed at a second one in every
   job, behind the WAN too: that host is outside the cluster, Nexus or not.
4. Four jobs, each on a fresh runner (fresh HOME, empty installer caches, the host's installer
   configuration removed), on the bed of bench/realprojects_jobs.py: "pypi.org" and the
   GitHub cache's storage behind the modelled WAN, the Nexus double (with its interpreter
   mirror) behind the in-cluster link, every proxy variable pointing at a dead proxy; where a
   network namespace can be made, each project's jobs run in one of their own, every install
   step under strace, with a DNS stub and a packet counter (else the dead proxy is the only
   witness, and the output says so):
   * GitHub cache, cold: the index variables ``pipnexus configure`` sets, pointed at
     "pypi.org" itself (a runner without pipnexus), then the installer caches packed and
     uploaded as GitHub's cache action does (counted, timed);
   * GitHub cache, warm: the archive downloaded and restored (counted, timed), the same
     install;
   * pipnexus, cold and warm: ``pipnexus configure --project-dir <project>`` (config discovery
     on, as the action runs it) pointed at a fresh Nexus double whose remote is "pypi.org";
     its warnings are kept, to compare with what the witnesses saw (a leak it did not warn
     about is a silent one).

It prints the table and writes ``out/results.json``; with matplotlib installed (the ``bench``
extra), ``--svg FILE`` draws NAT bytes per job and the install step's time over the WAN beside
it. Nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bench._common import (
    REPO,
    DeadProxy,
    isolated_env,
    machine,
    pipnexus_configure,
    run,
)
from bench.egress_wan import links
from bench.realprojects_files import (
    MIRRORS_VAR,
    ROOT,
    Project,
    Recorder,
    Unavailable,
    load_manifest,
    project_files,
)
from bench.realprojects_jobs import Job, job_env, report, run_jobs, run_steps, svg
from testbed import actionlint, netns
from testbed.nexus_double import NexusDouble

PYPI_FILES = ROOT / "pypi"
OUT = ROOT / "out"


def record(p: Project, src: Path, work: Path, proxy: DeadProxy) -> tuple[bool, str]:
    """The one online job: through a Nexus double whose remote is the ``Recorder``."""
    with Recorder(PYPI_FILES) as rec, NexusDouble(rec.base_url) as nexus:
        rec.canary()
        base = isolated_env(work / "home-record")
        configured = pipnexus_configure(nexus.index_url(), rec.index_url, base,
                                        project_dir=work / "project")
        env = job_env(work / "home-record", work / "caches-record", configured.env, proxy)
        # the extra index stands for a mirror of PyPI: the recorder serves its files too
        ok, failure, *_ = run_steps(p, src, work / "project", env, None, rec.index_url)
        if ok and (p.pipnexus_steps or p.lock_urls or p.extra_index):
            # the direct jobs' files too (the locked URLs, or other steps)
            direct = pipnexus_configure(rec.index_url, rec.index_url, base,
                                        project_dir=work / "project")
            env = job_env(work / "home-record", work / "caches-record-2", direct.env, proxy)
            ok, failure, *_ = run_steps(p, src, work / "project", env, rec.base_url,
                                        rec.index_url)
        print(f"  recorded {len(rec.downloaded)} new files from pypi.org "
              f"({'ok' if ok else 'FAILED'})", flush=True)
        return ok, failure


# --------------------------------------------------------------------------------------------
# migrate


def migrate(p: Project, src: Path, out: Path) -> str:
    """``pipnexus migrate --all-jobs`` over a copy of the project's workflows (as if its jobs
    moved to the self-hosted runners pipnexus serves); the diff kept in ``out/migrate.diff``,
    the rewritten files checked with actionlint (new findings only)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "pipnexus", "migrate", "--all-jobs"]
    diff = run([*cmd, "--diff", ".github"], env, cwd=src, timeout=120)
    (out / "migrate.diff").write_text(diff.output, encoding="utf-8")
    copy = out / "migrated"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(src / ".github", copy / ".github")
    done = run([*cmd, ".github"], env, cwd=copy, timeout=120)
    changed = [w for w in p.workflows
               if (copy / w).read_bytes() != (src / w).read_bytes()]
    result = f"rc {done.rc}, {len(changed)} of {len(p.workflows)} workflows changed"
    reason = actionlint.skip_reason()
    if reason:
        return f"{result}; actionlint not run ({reason})"
    before = actionlint.lint({w: (src / w).read_text(encoding="utf-8") for w in changed})
    after = actionlint.lint({w: (copy / w).read_text(encoding="utf-8") for w in changed})
    new = [f"{w}: {e}" for w in changed for e in actionlint.new_errors(before[w], after[w])]
    (out / "actionlint.txt").write_text("".join(f"{n}\n" for n in new), encoding="utf-8")
    return f"{result}; actionlint: {len(new)} new findings" + (f" ({new[0]})" if new else "")


def indexes(p: Project) -> dict[str, Path]:
    """The index hosts of the project's jobs (host -> folder of its files): "pypi.org", and its
    extra index's host, a mirror of PyPI, served from the same recorded files."""
    found = {"pypi.org": PYPI_FILES}
    if p.extra_index:
        found[urlsplit(p.extra_index["url"]).hostname or p.extra_index["url"]] = PYPI_FILES
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realprojects", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", action="append", default=None,
                        help="a project of the manifest (repeatable; default: all)")
    parser.add_argument("--mirrors", type=Path, default=os.environ.get(MIRRORS_VAR) or None,
                        help="a folder of bare git mirrors, owner+name/repo (default: "
                             f"${MIRRORS_VAR}; else raw.githubusercontent.com)")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="where the artifacts and results.json go (default: "
                             "bench/.cache/realprojects/out)")
    parser.add_argument("--svg", type=Path, default=None, help="draw the picture here")
    parser.add_argument("--offline", action="store_true",
                        help="never download from pypi.org (the cache must be filled)")
    args = parser.parse_args(argv)
    projects = load_manifest()
    known = {p.name for p in projects}
    for name in args.project or ():
        if name not in known:
            parser.error(f"unknown project {name!r} (known: {', '.join(sorted(known))})")
    chosen = [p for p in projects if not args.project or p.name in args.project]
    print("# pipnexus on real projects\n")
    print(f"machine: {machine()}")
    print(links())
    unavailable = netns.why_unavailable()
    audit = ("every job in a network namespace of its own: strace, DNS stub, packet counter "
             "and the dead proxy" if unavailable is None else
             f"no network namespace here ({unavailable}): the dead proxy is the only witness")
    print(f"witnesses: {audit}\n", flush=True)
    jobs: list[Job] = []
    migrated: dict[str, str] = {}
    with DeadProxy() as proxy:
        for p in chosen:
            print(f"## {p.name} ({p.repository}@{p.commit[:12]})", flush=True)
            try:
                src = project_files(p, args.mirrors)
            except Unavailable as e:
                print(f"unavailable: {e}", file=sys.stderr)
                return 2
            out = args.out / p.name
            out.mkdir(parents=True, exist_ok=True)
            migrated[p.name] = migrate(p, src, out)
            print(f"  migrate: {migrated[p.name]}", flush=True)
            work = args.out / "work" / p.name
            if not args.offline:
                ok, failure = record(p, src, work, proxy)
                if not ok:
                    print("    " + failure.replace("\n", "\n    "), flush=True)
            jobs += run_jobs(p, src, work, indexes(p), unavailable is None)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "links": links(), "witnesses": audit,
               "jobs": [j._asdict() for j in jobs]}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print()
    print(report(chosen, jobs, migrated))
    if args.svg:
        print(svg(jobs, args.svg.resolve()))
    return 0 if all(j.ok for j in jobs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
