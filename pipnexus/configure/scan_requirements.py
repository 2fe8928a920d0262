"""Requirements and constraints files, wherever they are, and PEP 508 direct references.

pip reads the options of a requirements file as if given on the command line
(https://pip.pypa.io/en/stable/reference/requirements-file-format/): ``--index-url`` replaces
``PIP_INDEX_URL``, ``--extra-index-url`` and ``--find-links`` add sources, in the file and in
every file it includes with ``-r``/``-c``. A direct reference (``name @ https://…``, a bare
``git+https://…`` or archive URL) is fetched from that URL whatever the index is
(https://packaging.python.org/en/latest/specifications/dependency-specifiers/), in a
requirements file as in ``pyproject.toml``'s dependencies.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from pipnexus import urls
from pipnexus.configure.scan_toml import read_text
from pipnexus.diagnostics import Diagnostic

# patterns stay strings, compiled (and cached by re) on first use: only projects with
# requirements files need them (start-up, bench/configure_bench.py)
NAME = r"(?i)(.*requirements.*|constraints.*)\.(txt|in)\Z"
_OPTION = (
    r"\s*(?P<opt>-i|--index-url|--extra-index-url|-f|--find-links)(?=[\s=]|\Z)"
    r"|\s*(?P<short>-i)\S"
)
_INCLUDE = (
    r"\s*(?:-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+|(?=[^\s-]))(?P<path>\S+)"
)
# name[extras] @ URL, or a URL alone (pip's requirement line may be one)
_DIRECT = (
    r"\s*(?:(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*@\s*)?"
    r"(?P<url>(?:git\+|hg\+|svn\+|bzr\+)?(?:https?|ssh|git|ftp)://\S+)"
)
MAX_INCLUDES = 200


def _strip_comment(line: str) -> str:
    # pip: a comment starts at a '#' at the line start or after whitespace
    return re.split(r"(?:\A|\s)#", line, maxsplit=1)[0]


def direct_reference(text: str) -> str | None:
    """The URL of a PEP 508 direct reference or URL requirement (redacted), else None."""
    m = re.match(_DIRECT, text)
    if not m or (m.group("name") is None and text.strip() != m.group("url")):
        return None
    return urls.redact(m.group("url"))


def _direct(url: str) -> str:
    return (f"the requirement {url} is a direct reference: pip and uv fetch it from that URL, "
            "not through the proxy")


def file_warnings(path: str) -> tuple[list[Diagnostic], list[str]]:
    """Findings in one requirements file, and the files it includes (resolved)."""
    found: list[Diagnostic] = []
    includes: list[str] = []
    for number, raw in enumerate(read_text(path).splitlines(), 1):
        line = _strip_comment(raw)
        option = re.match(_OPTION, line)
        if option:
            opt = option.group("opt") or option.group("short")
            found.append(Diagnostic(
                "warning",
                f"{opt} in a requirements file overrides PIP_INDEX_URL: pip will fetch from "
                "the URL given there, not through the Nexus proxy",
                "requirements-index", path, number,
            ))
            continue
        include = re.match(_INCLUDE, line)
        if include:
            target = include.group("path")
            if "://" not in target:
                includes.append(os.path.normpath(os.path.join(os.path.dirname(path), target)))
            continue
        url = direct_reference(line.strip())
        if url is not None:
            found.append(Diagnostic("warning", _direct(url), "direct-reference", path, number))
    return found, includes


def requirements_warnings(paths: list[str]) -> list[Diagnostic]:
    """Findings in ``paths`` and every file they include, each file once."""
    found: list[Diagnostic] = []
    seen: set[str] = set()
    queue = list(paths)
    while queue and len(seen) < MAX_INCLUDES:
        path = queue.pop(0)
        real = os.path.realpath(path)
        if real in seen or not os.path.isfile(path):
            continue
        seen.add(real)
        more, includes = file_warnings(path)
        found += more
        queue += includes
    return found


_QUOTED = r"\"((?:[^\"\\]|\\.)*)\"|'([^']*)'"


def pyproject_warnings(path: str, lines: list[str]) -> Iterator[Diagnostic]:
    """Direct references in a pyproject.toml's strings (dependencies, optional dependencies,
    dependency groups, build requirements, tool tables)."""
    for number, line in enumerate(lines, 1):
        if "://" not in line or line.lstrip().startswith("#"):
            continue
        for m in re.finditer(_QUOTED, line):
            text = m.group(1) if m.group(1) is not None else m.group(2)
            direct = re.match(_DIRECT, text)
            if direct and direct.group("name"):  # a name @ URL, not a bare URL string
                url = urls.redact(direct.group("url"))
                yield Diagnostic("warning", _direct(url), "direct-reference", path, number)
