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
   ``CountingIndex`` over those files, and every byte it serves counts as NAT traffic.
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
import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from bench._common import (
    CACHE,
    REPO,
    DeadProxy,
    isolated_env,
    machine,
    pipnexus_configure,
    run,
)
from bench.egress_wan import links
from bench.realprojects_jobs import PYPI, Job, job_env, report, run_jobs, run_steps, svg
from testbed import actionlint, netns
from testbed.httpbase import LoopbackServer, QuietHandler, Response
from testbed.nexus_double import NexusDouble
from testbed.upstream import project_of

MANIFEST = REPO / "bench" / "realprojects.json"
ROOT = CACHE / "realprojects"
PYPI_FILES = ROOT / "pypi"
SOURCES = ROOT / "src"
OUT = ROOT / "out"
MIRRORS_VAR = "PIPNEXUS_REALPROJECTS_MIRRORS"
RAW = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"


class Project(NamedTuple):
    name: str
    repository: str
    commit: str
    licence: str
    kind: str
    ci: str
    files: dict[str, str]  # path -> sha256
    workflows: list[str]
    stubs: dict[str, str]  # path -> text written in place of the project's code
    steps: list[list[str]]  # argv; "{python}" is this interpreter
    env: dict[str, str]
    # the steps of the pipnexus jobs when the CI's own fail behind any index but the lock's
    # (documented, with the diagnostic users see): the workaround docs give
    pipnexus_steps: list[list[str]] | None
    lock_urls: list[str]  # lock files whose pypi.org URLs the direct jobs point at "pypi.org"


def load_manifest(path: Path = MANIFEST) -> list[Project]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Project(p["name"], p["repository"], p["commit"], p["licence"], p["kind"], p["ci"],
                    p["files"], p["workflows"], p["stubs"], p["steps"], p.get("env", {}),
                    p.get("pipnexus_steps"), p.get("lock_urls", []))
            for p in data["projects"]]


# --------------------------------------------------------------------------------------------
# the project's files, checked against the manifest


# the files of the project CI runs (workflows, project and requirements files, its licence),
# kept in the repository so that CI needs no host but PyPI; checked like any other source
KEPT = Path(__file__).resolve().parent / "realprojects-files"


def _kept(p: Project, path: str) -> bytes | None:
    try:
        return (KEPT / p.repository.replace("/", "+") / path).read_bytes()
    except OSError:
        return None


def _from_mirror(mirrors: Path | None, p: Project, path: str) -> bytes | None:
    if mirrors is None:
        return None
    git_dir = mirrors / p.repository.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        return None
    proc = subprocess.run(["git", "-C", str(git_dir), "show", f"{p.commit}:{path}"],
                          capture_output=True, stdin=subprocess.DEVNULL)
    return proc.stdout if proc.returncode == 0 else None


def _from_github(p: Project, path: str) -> bytes | None:
    url = RAW.format(repository=p.repository, commit=p.commit, path=path)
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            data: bytes = resp.read()
            return data
    except OSError:
        return None


class Unavailable(Exception):
    """A project's files cannot be had here."""


def project_files(p: Project, mirrors: Path | None) -> Path:
    """The project's files at its commit (checked) plus its stubs, in a folder of the cache."""
    dest = SOURCES / p.name
    for path, sha in p.files.items():
        target = dest / path
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
            continue
        data = _kept(p, path) or _from_mirror(mirrors, p, path) or _from_github(p, path)
        if data is None:
            raise Unavailable(f"{p.name}: {path} at {p.commit[:12]} is neither in a mirror "
                              f"(--mirrors, {MIRRORS_VAR}) nor reachable on "
                              "raw.githubusercontent.com")
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            raise SystemExit(f"{p.name}: {path} has SHA-256 {got}, the manifest says {sha}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for path, text in p.stubs.items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_text(text, encoding="utf-8")
    return dest


# --------------------------------------------------------------------------------------------
# the one-time download from pypi.org


class Recorder(LoopbackServer):
    """A PEP 503 index on 127.0.0.1 in front of pypi.org: pages from pypi.org's JSON simple API
    (PEP 691) re-rendered with links to itself; every file downloaded once into ``dest``, kept
    only when its SHA-256 is the one pypi.org lists for it."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.links: dict[str, tuple[str, str]] = {}  # filename -> (url, sha256)
        self.downloaded: list[str] = []
        self._file_lock = threading.Lock()
        dest.mkdir(parents=True, exist_ok=True)
        super().__init__()
        self.index_url = f"{self.base_url}/simple/"

    def handle(self, handler: QuietHandler) -> Response | None:
        path = handler.path.split("?", 1)[0]
        try:
            if path.startswith("/simple/") and path.strip("/") != "simple":
                return self._page(path[len("/simple/"):].strip("/"))
            if path.startswith("/files/") and not path.endswith(".metadata"):
                return self._file(path[len("/files/"):])
        except OSError as e:
            return Response(502, [("Content-Type", "text/plain")], f"pypi.org: {e}\n".encode())
        return Response(404, [("Content-Type", "text/plain")], b"Not Found\n")

    def _page(self, project: str) -> Response:
        req = urllib.request.Request(PYPI + project + "/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                data: dict[str, Any] = json.load(resp)
        except urllib.error.HTTPError as e:
            return Response(e.code, [("Content-Type", "text/plain")], b"Not Found\n")
        rows = []
        for f in data.get("files", []):
            sha = f.get("hashes", {}).get("sha256")
            if not sha or f.get("yanked"):
                continue
            name = f["filename"]
            with self.lock:
                self.links[name] = (f["url"], sha)
            attrs = f'href="../../files/{html.escape(name)}#sha256={sha}"'
            if f.get("requires-python"):
                attrs += f' data-requires-python="{html.escape(f["requires-python"])}"'
            rows.append(f"<a {attrs}>{html.escape(name)}</a><br />")
        body = ("<!DOCTYPE html><html><body>\n" + "\n".join(rows) + "\n</body></html>\n").encode()
        return Response(200, [("Content-Type", "text/html; charset=utf-8")], body)

    def canary(self, project: str = "pip") -> None:
        """Keep the newest wheel of pipnexus's canary project: the probe asks for its page."""
        self._page(project)
        with self.lock:
            wheels = [n for n in self.links if n.startswith(f"{project}-")
                      and n.endswith("-py3-none-any.whl")]
        if wheels:
            self._file(wheels[-1])

    def _file(self, name: str) -> Response:
        with self.lock:
            link = self.links.get(name)
        if link is None and "/" not in name:
            # a lock file's URL, asked for without its page
            self._page(project_of(name))
            with self.lock:
                link = self.links.get(name)
        if link is None or "/" in name:
            return Response(404, [("Content-Type", "text/plain")], b"Not Found\n")
        url, sha = link
        target = self.dest / name
        with self._file_lock:
            if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != sha:
                with urllib.request.urlopen(url, timeout=300) as resp:
                    data = resp.read()
                if hashlib.sha256(data).hexdigest() != sha:
                    return Response(502, [("Content-Type", "text/plain")],
                                    f"{name}: SHA-256 differs from pypi.org's\n".encode())
                target.write_bytes(data)
                self.downloaded.append(name)
        return Response(200, [("Content-Type", "application/octet-stream")], target.read_bytes())


def record(p: Project, src: Path, work: Path, proxy: DeadProxy) -> tuple[bool, str]:
    """The one online job: through a Nexus double whose remote is the ``Recorder``."""
    with Recorder(PYPI_FILES) as rec, NexusDouble(rec.base_url) as nexus:
        rec.canary()
        base = isolated_env(work / "home-record")
        configured = pipnexus_configure(nexus.index_url(), rec.index_url, base,
                                        project_dir=work / "project")
        env = job_env(work / "home-record", work / "caches-record", configured.env, proxy)
        ok, failure, *_ = run_steps(p, src, work / "project", env, None)
        if ok and (p.pipnexus_steps or p.lock_urls):
            # the direct jobs' files too (the locked URLs, or other steps)
            direct = pipnexus_configure(rec.index_url, rec.index_url, base,
                                        project_dir=work / "project")
            env = job_env(work / "home-record", work / "caches-record-2", direct.env, proxy)
            ok, failure, *_ = run_steps(p, src, work / "project", env, rec.base_url)
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
            jobs += run_jobs(p, src, work, {"pypi.org": PYPI_FILES}, unavailable is None)
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
