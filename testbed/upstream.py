"""A PEP 503 simple index over a directory of files: the bed's stand-in for pypi.org.

``Upstream(files_dir)`` serves, on ``http://127.0.0.1:<free port>``:

* ``/simple/`` root page (links ``/simple/<project>/``, like PyPI); ``/simple`` -> 301.
* ``/simple/<project>/`` project pages with ``#sha256=`` fragments, ``data-requires-python``
  and (``metadata=True``, default) PEP 658/714 ``data-dist-info-metadata`` /
  ``data-core-metadata`` attributes. Non-normalized names and a missing trailing slash get a
  301 to the normalized URL (as PyPI does); unknown projects 404.
* ``/files/<filename>`` downloads and ``/files/<filename>.metadata`` (PEP 658) for wheels.

GET and HEAD only (others 405). ``requests`` logs ``(method, path, status)``;
``bytes_served`` counts body bytes; ``count(path_prefix, method)`` filters the log.
Faults: ``fail_status`` (answer every request with that status), ``delay`` (seconds before
answering). ``refresh()`` re-scans the directory after files were added.
Links are relative (``../../files/<f>``) unless ``absolute_links=True``.
"""

from __future__ import annotations

import email.parser
import email.utils
import hashlib
import html
import tarfile
import time
import zipfile
from pathlib import Path
from typing import NamedTuple

from testbed.httpbase import LoopbackServer, QuietHandler, Response
from testbed.wheels import normalize


class IndexFile(NamedTuple):
    project: str  # PEP 503 normalized
    filename: str
    path: Path
    sha256: str
    requires_python: str | None
    metadata: bytes | None  # core metadata of wheels (PEP 658)


def project_of(filename: str) -> str:
    """Normalized project name from a wheel or sdist file name."""
    if filename.endswith(".whl"):
        return normalize(filename.split("-")[0])
    for ext in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        if filename.endswith(ext):
            return normalize(filename[: -len(ext)].rsplit("-", 1)[0])
    raise ValueError(f"not a distribution file name: {filename}")


def _read_metadata(path: Path) -> bytes | None:
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as zf:
                for n in zf.namelist():
                    if n.endswith(".dist-info/METADATA") and n.count("/") == 1:
                        return zf.read(n)
        elif path.name.endswith(".tar.gz"):
            with tarfile.open(path) as tf:
                for m in tf.getmembers():
                    if m.name.endswith("/PKG-INFO") and m.name.count("/") == 1:
                        f = tf.extractfile(m)
                        return f.read() if f else None
    except (OSError, zipfile.BadZipFile, tarfile.TarError):
        return None
    return None


def scan(files_dir: Path) -> dict[str, list[IndexFile]]:
    projects: dict[str, list[IndexFile]] = {}
    for path in sorted(files_dir.iterdir()):
        if not path.is_file() or path.name.endswith(".metadata"):
            continue
        try:
            project = project_of(path.name)
        except ValueError:
            continue
        data = path.read_bytes()
        meta = _read_metadata(path)
        rp = None
        if meta is not None:
            rp = email.parser.BytesParser().parsebytes(meta).get("Requires-Python")
        projects.setdefault(project, []).append(
            IndexFile(
                project,
                path.name,
                path,
                hashlib.sha256(data).hexdigest(),
                rp,
                meta if path.name.endswith(".whl") else None,
            )
        )
    return projects


class Upstream(LoopbackServer):
    def __init__(
        self,
        files_dir: str | Path,
        *,
        metadata: bool = True,
        absolute_links: bool = False,
    ) -> None:
        self.files_dir = Path(files_dir)
        self.metadata = metadata
        self.absolute_links = absolute_links
        self.fail_status: int | None = None
        self.delay = 0.0
        self.projects: dict[str, list[IndexFile]] = scan(self.files_dir)
        super().__init__()
        self.index_url = f"{self.base_url}/simple/"

    def refresh(self) -> None:
        projects = scan(self.files_dir)
        with self.lock:
            self.projects = projects

    def file_url(self, filename: str) -> str:
        return f"{self.base_url}/files/{filename}"

    # -- pages -------------------------------------------------------------------------------

    def _root_page(self) -> bytes:
        links = "\n".join(
            f'    <a href="/simple/{p}/">{p}</a>' for p in sorted(self.projects)
        )
        return (
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            '    <meta name="pypi:repository-version" content="1.1">\n'
            "    <title>Simple index</title>\n  </head>\n  <body>\n"
            f"{links}\n  </body>\n</html>\n"
        ).encode()

    def _project_page(self, project: str, files: list[IndexFile]) -> bytes:
        rows = []
        for f in files:
            href = (
                self.file_url(f.filename) if self.absolute_links else f"../../files/{f.filename}"
            )
            attrs = f'href="{href}#sha256={f.sha256}"'
            if f.requires_python:
                attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
            if self.metadata and f.metadata is not None:
                msha = hashlib.sha256(f.metadata).hexdigest()
                attrs += f' data-dist-info-metadata="sha256={msha}"'
                attrs += f' data-core-metadata="sha256={msha}"'
            rows.append(f"    <a {attrs}>{f.filename}</a><br />")
        return (
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            '    <meta name="pypi:repository-version" content="1.1">\n'
            f"    <title>Links for {project}</title>\n  </head>\n  <body>\n"
            f"    <h1>Links for {project}</h1>\n" + "\n".join(rows) + "\n  </body>\n</html>\n"
        ).encode()

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, handler: QuietHandler) -> Response | None:
        if self.delay:
            time.sleep(self.delay)
        if self.fail_status is not None:
            return _text(self.fail_status, f"upstream fault {self.fail_status}\n")
        if handler.command not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed\n")
        path = handler.path.split("?", 1)[0].split("#", 1)[0]
        with self.lock:
            projects = self.projects
        if path == "/simple":
            return _redirect("/simple/")
        if path == "/simple/":
            return _html(self._root_page())
        if path.startswith("/simple/"):
            name = path[len("/simple/") :]
            bare = name.rstrip("/")
            if not bare or "/" in bare:
                return _text(404, "Not Found\n")
            norm = normalize(bare)
            if norm not in projects:
                return _text(404, "Not Found\n")
            if bare != norm or not name.endswith("/"):
                return _redirect(f"/simple/{norm}/")
            return _html(self._project_page(norm, projects[norm]))
        if path.startswith("/files/"):
            filename = path[len("/files/") :]
            want_meta = filename.endswith(".metadata")
            if want_meta:
                filename = filename[: -len(".metadata")]
            for files in projects.values():
                for f in files:
                    if f.filename != filename:
                        continue
                    if want_meta:
                        if not self.metadata or f.metadata is None:
                            return _text(404, "Not Found\n")
                        return _bytes(f.metadata, "text/plain", f.sha256 + "-meta")
                    return _bytes(f.path.read_bytes(), "application/octet-stream", f.sha256)
            return _text(404, "Not Found\n")
        return _text(404, "Not Found\n")


def _text(status: int, text: str) -> Response:
    return Response(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode())


def _html(body: bytes) -> Response:
    return Response(
        200,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("ETag", '"' + hashlib.sha256(body).hexdigest()[:32] + '"'),
        ],
        body,
    )


def _bytes(data: bytes, ctype: str, etag: str) -> Response:
    return Response(200, [("Content-Type", ctype), ("ETag", f'"{etag[:32]}"')], data)


def _redirect(location: str) -> Response:
    return Response(301, [("Location", location), ("Content-Type", "text/plain")], b"")


class PypiHeaders(Upstream):
    """An ``Upstream`` with pypi.org's caching headers: a ``Date``; files and ``.metadata``
    immutable (cacheable for a year), so a restored pip/uv cache really does save their
    download; pages short-lived (``max-age=page_max_age``, pypi.org sends 600); and ``304 Not
    Modified`` for a request whose ``If-None-Match`` names the current ``ETag``."""

    page_max_age = 600

    def handle(self, handler: QuietHandler) -> Response | None:
        resp = super().handle(handler)
        if resp is None:
            return None
        headers = [*resp.headers, ("Date", email.utils.formatdate(usegmt=True))]
        if resp.status == 200:
            immutable = handler.path.startswith("/files/")
            cc = "max-age=365000000, immutable, public" if immutable \
                else f"max-age={self.page_max_age}, public"
            headers.append(("Cache-Control", cc))
            etag = resp.header("ETag")
            if etag and handler.headers.get("If-None-Match") == etag:
                return Response(304, headers)
        return resp._replace(headers=headers)


class PaddedUpstream(Upstream):
    """An ``Upstream`` whose pages look like PyPI's and change over time.

    Every project page lists, before its real files, fake older releases (``0.0.0.devN``
    wheels, yanked (PEP 592): pre-releases lower than any real version that pip and uv skip)
    until it is about ``page_bytes(project)`` bytes long; ``publish()`` adds one more fake
    release to every page (a new upload on PyPI), so a cached page is stale and its ETag
    changes. The fake files are not served (404): only the page bytes matter.

    The root page (``/simple/``, the project list) names one more new fake project every time
    it is served: PyPI registers new projects all day, so the list a cache revalidates once its
    metadata lifetime has passed has always changed, and never answers ``304``. A root page
    that never changed would meet a devpi-server behaviour real PyPI never triggers: on a
    ``304`` for the project list, devpi answers "not found" for every project it has not cached
    yet (devpi-server 6.20 ``devpi_server/mirror.py``: ``_update_projects`` returns
    ``_stale_list_projects_perstage()``, the locally cached names only, on
    ``UpstreamNotModified``).
    """

    def __init__(self, files_dir: str | Path, *, page_bytes: dict[str, int] | None = None,
                 default_page_bytes: int = 0, **kwargs: bool) -> None:
        self.page_bytes = dict(page_bytes or {})
        self.default_page_bytes = default_page_bytes
        self.generation = 0
        self.new_projects = 0
        super().__init__(files_dir, **kwargs)

    def _root_page(self) -> bytes:
        with self.lock:
            self.new_projects += 1
            count = self.new_projects
        page = super()._root_page()
        rows = "".join(f'    <a href="/simple/new-project-{n}/">new-project-{n}</a>\n'
                       for n in range(count))
        return page.replace(b"  </body>", rows.encode() + b"  </body>", 1)

    def publish(self) -> None:
        with self.lock:
            self.generation += 1

    def _fake_row(self, project: str, n: int) -> str:
        name = f"{project.replace('-', '_')}-0.0.0.dev{n}-py3-none-any.whl"
        sha = hashlib.sha256(name.encode()).hexdigest()
        href = self.file_url(name) if self.absolute_links else f"../../files/{name}"
        return (f'    <a href="{href}#sha256={sha}" data-requires-python="&gt;=3.8" '
                f'data-dist-info-metadata="sha256={sha}" data-core-metadata="sha256={sha}" '
                'data-yanked="">'
                f"{name}</a><br />")

    def _project_page(self, project: str, files: list[IndexFile]) -> bytes:
        page = super()._project_page(project, files)
        target = self.page_bytes.get(project, self.default_page_bytes)
        row = len(self._fake_row(project, 0)) + 2
        count = max(0, (target - len(page)) // row)
        with self.lock:
            count += self.generation
        rows = "\n".join(self._fake_row(project, n) for n in range(count))
        marker = f"    <h1>Links for {project}</h1>\n".encode()
        return page.replace(marker, marker + rows.encode() + b"\n", 1) if rows else page
