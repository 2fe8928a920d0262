"""The real projects of ``python -m bench.realprojects`` (see its docstring): the manifest
(``bench/realprojects.json``, also the provenance record), each project's files at its pinned
commit checked against the manifest, the one-time download of the PyPI files its install
commands need (``Recorder``), and its extra index pointed at the offline index that stands for
that host (``point_extra_index``)."""

from __future__ import annotations

import hashlib
import html
import json
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

from bench._common import CACHE, REPO
from testbed.httpbase import LoopbackServer, QuietHandler, Response
from testbed.upstream import project_of

MANIFEST = REPO / "bench" / "realprojects.json"
ROOT = CACHE / "realprojects"
SOURCES = ROOT / "src"
PYPI = "https://pypi.org/simple/"
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
    # an index its settings name besides PyPI: {"url": as written, "files": [where]}; every job
    # points it at a second offline index (its bytes are NAT: the host is outside the cluster)
    extra_index: dict[str, Any] | None


def load_manifest(path: Path = MANIFEST) -> list[Project]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Project(p["name"], p["repository"], p["commit"], p["licence"], p["kind"], p["ci"],
                    p["files"], p["workflows"], p["stubs"], p["steps"], p.get("env", {}),
                    p.get("pipnexus_steps"), p.get("lock_urls", []), p.get("extra_index"))
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



def point_extra_index(p: Project, work: Path, index_url: str) -> None:
    """The extra index's URL, exactly as the project's files write it, replaced by the offline
    index standing for that host (``index_url``), in the files the manifest names."""
    if p.extra_index is None:
        return
    for name in p.extra_index["files"]:
        text = (work / name).read_text(encoding="utf-8")
        (work / name).write_text(text.replace(p.extra_index["url"], index_url), encoding="utf-8")


