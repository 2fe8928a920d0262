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
   job: that host is outside the cluster, Nexus or not.
4. Four jobs, each on a fresh runner (fresh HOME, empty installer caches, the host's installer
   configuration removed), every proxy variable pointing at a dead proxy that records and
   refuses every connection that does not go to 127.0.0.1 (``DeadProxy``: a tool that honours
   the proxy variables cannot leave the machine unseen):
   * GitHub cache, cold: the index variables ``pipnexus configure`` sets, pointed at
     "pypi.org" itself (a runner without pipnexus), then the installer caches packed as
     GitHub's cache action does (upload counted);
   * GitHub cache, warm: the archive restored (download counted), the same install;
   * pipnexus, cold and warm: ``pipnexus configure --project-dir <project>`` (config discovery
     on, as the action runs it) pointed at a fresh Nexus double whose remote is "pypi.org";
     its warnings are kept, to compare with what left the namespace.

It prints the table and writes ``out/results.json``; with matplotlib installed (the ``bench``
extra), ``--svg FILE`` draws NAT bytes per job and install time beside it. Nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from bench._common import (
    REPO,
    CountingIndex,
    DeadProxy,
    human,
    isolated_env,
    machine,
    pipnexus_configure,
    proxy_env,
    run,
    table,
)
from bench.realprojects_files import (
    MIRRORS_VAR,
    PYPI,
    ROOT,
    Project,
    Recorder,
    Unavailable,
    load_manifest,
    point_extra_index,
    project_files,
)
from testbed import actionlint
from testbed.interpreters import pack, unpack
from testbed.nexus_double import NexusDouble

PYPI_FILES = ROOT / "pypi"
OUT = ROOT / "out"
FILE_URL = re.compile(r"https://files\.pythonhosted\.org/packages/[^\"']*/([^/\"']+)")
TOOLS = Path(sys.executable).parent
CODE = re.compile(r"\[([a-z0-9-]+)\]$")  # a diagnostic's code
SETUPS = ("GitHub cache, cold", "GitHub cache, warm", "pipnexus, cold", "pipnexus, warm")
# the installers' cache directories: what GitHub's cache action would save for each
# pipenv: its virtualenvs, what setup-python's `cache: pipenv` saves (actions/setup-python:
# src/cache-distributions/pipenv-cache.ts, ~/.local/share/virtualenvs)
CACHE_VARS = {"PIP_CACHE_DIR": "pip", "UV_CACHE_DIR": "uv", "POETRY_CACHE_DIR": "poetry",
              "PDM_CACHE_DIR": "pdm", "WORKON_HOME": "virtualenvs"}


# --------------------------------------------------------------------------------------------
# one job


class Job(NamedTuple):
    project: str
    setup: str
    ok: bool
    failure: str  # the last lines of the failing step's output
    seconds: float  # the install steps
    upstream: int  # bytes "pypi.org" served (NAT)
    upstream_files: int  # of which files
    archive_down: int
    archive_up: int
    left: list[str]  # connections to the dead proxy (would have left the namespace)
    warnings: list[str]  # what pipnexus configure said beforehand
    extra_index: int = 0  # bytes the project's extra index served (NAT)

    @property
    def nat(self) -> int:
        return self.upstream + self.archive_down + self.archive_up + self.extra_index


# the projects' interpreter: the one this virtual environment was made from, never the
# environment itself (pdm, given a virtual environment's interpreter, installs into it)
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


def _argv(step: Sequence[str]) -> list[str]:
    out = [a.replace("{python}", BASE_PYTHON) for a in step]
    tool = TOOLS / out[0]
    if "/" not in out[0] and tool.exists():
        out[0] = str(tool)
    return out


def run_steps(p: Project, src: Path, work: Path, env: Mapping[str, str],
              upstream: str | None, extra: str | None = None) -> tuple[bool, str, float]:
    """The project's install commands in a fresh copy of its files: through pipnexus
    (``upstream`` None) or straight from "pypi.org" at ``upstream``, its lock files' pypi.org
    URLs pointed there (on a runner they would reach pypi.org itself); its extra index, if
    any, at ``extra`` either way (Nexus does not serve it)."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work)
    if extra is not None:
        point_extra_index(p, work, extra)
    if upstream is not None:
        for lock in p.lock_urls:
            text = (work / lock).read_text(encoding="utf-8")
            text = text.replace(PYPI.rstrip("/"), f"{upstream}/simple/")
            text = FILE_URL.sub(lambda m: f"{upstream}/files/{m.group(1)}", text)
            (work / lock).write_text(text, encoding="utf-8")
    if "SETUPTOOLS_SCM_PRETEND_VERSION" in p.env:
        # hatch-vcs/setuptools-scm read the version from git, and tox does not pass that
        # variable to its package environment: a repository of the copied files, tagged
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "files"],
                    ["tag", p.env["SETUPTOOLS_SCM_PRETEND_VERSION"]]):
            run([*git, *cmd], {"PATH": "/usr/bin:/bin", "HOME": str(work)}, cwd=work)
    steps = p.steps if upstream is not None or not p.pipnexus_steps else p.pipnexus_steps
    seconds = 0.0
    for step in steps:
        r = run(_argv(step), {**env, **p.env}, cwd=work, timeout=900)
        seconds += r.seconds
        if r.rc:
            tail = "\n".join(r.output.strip().splitlines()[-15:])
            return False, f"`{' '.join(step)}` exited {r.rc}:\n{tail}", seconds
    return True, "", seconds


def job_env(home: Path, caches: Path, index_env: Mapping[str, str],
            proxy: DeadProxy) -> dict[str, str]:
    env = isolated_env(home, {"UV_LINK_MODE": "copy", "PATH": f"{TOOLS}:/usr/bin:/bin"})
    env.update({var: str(caches / sub) for var, sub in CACHE_VARS.items()})
    env.update(proxy_env(proxy, ()))
    env.update(index_env)
    return env


def jobs_for(p: Project, src: Path, work: Path, proxy: DeadProxy, files: Path) -> list[Job]:
    """The four jobs of one project against an offline "pypi.org" over ``files``."""
    out: list[Job] = []
    archive = work / "github-cache.tar.gz"
    # one Nexus double: cold for the first pipnexus job, warm for the second
    # the extra index's host, if the project names one: PyPI's files (a mirror's) offline
    with CountingIndex(files) as up, CountingIndex(files) as extra, \
            NexusDouble(up.base_url) as nexus:
        for setup in SETUPS:
            home, caches = work / f"home-{len(out)}", work / f"caches-{len(out)}"
            shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(caches, ignore_errors=True)
            caches.mkdir(parents=True)
            down = up_bytes = 0
            base = isolated_env(home)
            if setup.startswith("pipnexus"):
                configured = pipnexus_configure(nexus.index_url(), up.index_url, base,
                                                project_dir=work / "project")
            else:
                configured = pipnexus_configure(up.index_url, up.index_url, base,
                                                project_dir=work / "project")
                if setup.endswith("warm"):
                    down = unpack(archive, caches)
            if setup.startswith("pipnexus") and configured.source != "nexus":
                print(f"  warning: pipnexus configure chose {configured.source!r}: this job "
                      "does not go through the Nexus double", flush=True)
            env = job_env(home, caches, configured.env, proxy)
            before, mark, extra_before = up.counts(), proxy.count(), extra.counts()
            ok, failure, seconds = run_steps(
                p, src, work / "project", env,
                None if setup.startswith("pipnexus") else up.base_url, extra.index_url)
            if setup == SETUPS[0]:
                up_bytes = pack(caches, archive)
            counts = up.counts() - before
            left = [b.target for b in proxy.since(mark)]
            extra_bytes = (extra.counts() - extra_before).total
            out.append(Job(p.name, setup, ok, failure, seconds, counts.total, counts.files,
                           down, up_bytes, left, configured.warnings, extra_bytes))
            print(f"  {setup:18} {'ok' if ok else 'FAILED'}, NAT {human(out[-1].nat)} "
                  f"(pypi.org {human(counts.total)}, archive {human(down + up_bytes)}"
                  f"{f', extra index {human(extra_bytes)}' if p.extra_index else ''}), "
                  f"{seconds:.1f} s, left the runner: {len(left)}", flush=True)
            if not ok:
                print("    " + failure.replace("\n", "\n    "), flush=True)
    return out


def record(p: Project, src: Path, work: Path, proxy: DeadProxy) -> tuple[bool, str]:
    """The one online job: through a Nexus double whose remote is the ``Recorder``."""
    with Recorder(PYPI_FILES) as rec, NexusDouble(rec.base_url) as nexus:
        rec.canary()
        base = isolated_env(work / "home-record")
        configured = pipnexus_configure(nexus.index_url(), rec.index_url, base,
                                        project_dir=work / "project")
        env = job_env(work / "home-record", work / "caches-record", configured.env, proxy)
        # the extra index stands for a mirror of PyPI: the recorder serves its files too
        ok, failure, _ = run_steps(p, src, work / "project", env, None, rec.index_url)
        if ok and (p.pipnexus_steps or p.lock_urls or p.extra_index):
            # the direct jobs' files too (the locked URLs, or other steps)
            direct = pipnexus_configure(rec.index_url, rec.index_url, base,
                                        project_dir=work / "project")
            env = job_env(work / "home-record", work / "caches-record-2", direct.env, proxy)
            ok, failure, _ = run_steps(p, src, work / "project", env, rec.base_url,
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


# --------------------------------------------------------------------------------------------
# report


def report(projects: Sequence[Project], jobs: Sequence[Job], migrated: Mapping[str, str]) -> str:
    rows = []
    for j in jobs:
        codes = sorted({m.group(1) for w in j.warnings for m in [CODE.search(w)] if m})
        rows.append([j.project, j.setup, "ok" if j.ok else "FAILED", human(j.upstream),
                     human(j.archive_down + j.archive_up), human(j.nat), f"{j.seconds:.1f} s",
                     str(len(j.left)),
                     ", ".join(codes) if j.setup.startswith("pipnexus") else ""])
    out = [table(["project", "job", "result", "pypi.org", "cache archive", "NAT total",
                  "install", "left the runner", "configure warned"], rows)]
    out.append("")
    for p in projects:
        out.append(f"- {p.name} ({p.repository}@{p.commit[:12]}, {p.licence}; {p.kind}): "
                   f"CI: {p.ci}; migrate {migrated.get(p.name, 'not run')}")
        if p.extra_index:
            out[-1] += f"; its extra index ({p.extra_index['url']}) served " + ", ".join(
                f"{j.setup} {human(j.extra_index)}" for j in jobs if j.project == p.name)
    totals: dict[str, int] = {}
    for j in jobs:
        totals[j.setup] = totals.get(j.setup, 0) + j.nat
    out.append("")
    out.append("NAT totals over the projects: " + "; ".join(
        f"{s} {human(totals[s])}" for s in SETUPS if s in totals))
    if SETUPS[1] in totals and SETUPS[3] in totals:
        out.append(f"A warm job, every project once: {human(totals[SETUPS[1]])} with the GitHub "
                   f"cache -> {human(totals[SETUPS[3]])} through pipnexus (the story's one "
                   "build: 3.55 GB -> 329 MB)")
    failures = [j for j in jobs if not j.ok]
    if failures:
        out.append(f"The totals include {len(failures)} failed jobs (below): their bytes are "
                   "what they moved before failing.")
    for j in failures:
        out.append(f"- {j.project}, {j.setup}: {j.failure.splitlines()[0]}")
    return "\n".join(out)


def svg(jobs: Sequence[Job], path: Path) -> str:
    """NAT bytes per job and install time, per project and set-up (matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no picture: matplotlib is not installed (pip install -e '.[bench]')"
    names = sorted({j.project for j in jobs}, key=[j.project for j in jobs].index)
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.6 * len(names) + 2.2))
    height = 0.8 / len(SETUPS)
    for k, setup in enumerate(SETUPS):
        by = {j.project: j for j in jobs if j.setup == setup}
        ys = [i + k * height for i in range(len(names))]
        axes[0].barh(ys, [by[n].nat / 1e6 if n in by else 0 for n in names], height,
                     label=setup)
        axes[1].barh(ys, [by[n].seconds if n in by else 0 for n in names], height)
    for ax, title in zip(axes, ("NAT bytes per job (MB)", "install time (s, loopback)")):
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(names))], names)
        ax.invert_yaxis()
        ax.set_title(title)
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)
    return f"picture: {path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path}"


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
    print(f"machine: {machine()}\n", flush=True)
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
            jobs += jobs_for(p, src, work, proxy, PYPI_FILES)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps([j._asdict() for j in jobs], indent=1))
    print()
    print(report(chosen, jobs, migrated))
    if args.svg:
        print(svg(jobs, args.svg.resolve()))
    return 0 if all(j.ok for j in jobs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
