"""PEP 503 project pages: count the links to distributions of one project.

https://peps.python.org/pep-0503/ : a project page links each file by an ``<a href>`` whose
last path segment is the file name; wheel names follow
https://packaging.python.org/en/latest/specifications/binary-distribution-format/ .
"""

from __future__ import annotations

from pipnexus.options import normalize_project

_DIST_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar", ".egg")


def is_dist_of(filename: str, project: str) -> bool:
    """Whether ``filename`` is a distribution of the (normalized) ``project``."""
    lower = filename.lower()
    if not lower.endswith(_DIST_SUFFIXES):
        return False
    if lower.endswith(".whl"):
        return normalize_project(lower.split("-", 1)[0]) == project
    normalized = normalize_project(lower)
    rest = normalized[len(project) + 1 :]
    return normalized.startswith(project + "-") and rest[:1].isdigit()


def count_project_files(html: bytes, project: str) -> int:
    """Links in a PEP 503 project page whose file names are distributions of ``project``."""
    from html.parser import HTMLParser
    from urllib.parse import unquote

    hrefs: list[str] = []

    class _Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                hrefs.extend(value for name, value in attrs if name == "href" and value)

    parser = _Links()
    parser.feed(html.decode("utf-8", "replace"))
    parser.close()
    count = 0
    for href in hrefs:
        path = href.split("#", 1)[0].split("?", 1)[0]
        if is_dist_of(unquote(path.rsplit("/", 1)[-1]), project):
            count += 1
    return count
