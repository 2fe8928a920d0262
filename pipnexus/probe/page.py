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


# <a ... href=VALUE ...>: the value double-quoted, single-quoted or unquoted (HTML's attribute
# syntax, https://html.spec.whatwg.org/multipage/syntax.html#attributes-2). A regex instead of
# html.parser: this runs on the action's hot path, where importing html.parser costs more than
# the whole page scan.
_HREF = (
    r"""<a(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*?(?<=[\s/"'])href\s*=\s*"""
    r"""(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))"""
)
_ENTITY = r"&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));?"
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    """``text`` with the character references a file name can carry decoded (``&amp;``
    ``&lt;`` ``&gt;`` ``&quot;`` ``&apos;`` ``&#NN;`` ``&#xNN;``); others are left as they are."""
    if "&" not in text:
        return text
    import re

    def one(match: re.Match[str]) -> str:
        hex_, dec, name = match.groups()
        if name:
            return _NAMED[name]
        code = int(hex_, 16) if hex_ else int(dec)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"

    return re.sub(_ENTITY, one, text)


def hrefs(html: str) -> list[str]:
    """The ``href`` of every ``<a>`` element of ``html``, character references decoded."""
    import re

    found = re.findall(_HREF, html, re.IGNORECASE)
    return [_unescape(a or b or c) for a, b, c in found if a or b or c]


def count_project_files(html: bytes, project: str) -> int:
    """Links in a PEP 503 project page whose file names are distributions of ``project``."""
    from urllib.parse import unquote

    count = 0
    for href in hrefs(html.decode("utf-8", "replace")):
        path = href.split("#", 1)[0].split("?", 1)[0]
        if is_dist_of(unquote(path.rsplit("/", 1)[-1]), project):
            count += 1
    return count
