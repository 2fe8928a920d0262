"""What Nexus's answers say: the version in the ``Server`` header, the problems in an error
body, an answer's status and reason for one line. Pure functions of an answer, no requests."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from pipnexus.nexus import schema


class ServerVersion(NamedTuple):
    """What the ``Server`` header says: ``Nexus/3.95.1-01 (OSS)``."""

    version: schema.Version
    text: str  # the header's version and edition, e.g. "3.95.1-01 (OSS)"


_SERVER = re.compile(r"Nexus/(\d{1,4}\.\d{1,4}(?:\.\d{1,4})?(?:-\d{1,4})?)(?: \((\w{1,16})\))?")


def server_version(header: str | None) -> ServerVersion | None:
    """The Nexus version in a ``Server`` header, or None when it names none. Only the version
    and an edition word are kept: the rest of a header is the server's text, not shown."""
    m = _SERVER.match(header or "")
    if not m:
        return None
    text = m.group(1) + (f" ({m.group(2)})" if m.group(2) else "")
    return ServerVersion(schema.parse_version(m.group(1)), text)


def _strip_quotes(message: str) -> str:
    # 3.49+ wraps WebApplicationMessageException text in literal quotes: "\"Repository not found\""
    if len(message) >= 2 and message[0] == message[-1] == '"':
        return message[1:-1]
    return message


def error_lines(status: int, text: str, repository: bool = False) -> list[str]:
    """One line per problem from a Nexus error body, whichever of its shapes it has.

    Shapes: a JSON array of ``{"id": "PARAMETER <leaf>", "message": ...}`` (validation),
    ``{"id": "*", "message": "\\"...\\""}`` (3.49+), a bare JSON string (up to 3.48), or
    anything else (HTML error page, empty body). For ``repository`` bodies, leaf ids are
    turned into full paths where the leaf is unambiguous (``storage.blobStoreName``).
    """
    try:
        data: Any = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    if isinstance(data, str):
        return [data] if data else [f"HTTP {status}"]
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    lines: list[str] = []
    for item in items:
        if isinstance(item, str):
            lines.append(item)
            continue
        if not isinstance(item, dict):
            continue
        ident = str(item.get("id") or "")
        message = _strip_quotes(str(item.get("message") or "").strip())
        if ident.startswith("PARAMETER "):
            leaf = ident[len("PARAMETER ") :]
            paths = schema.paths_for_leaf(leaf) if repository else []
            where = paths[0] if len(paths) == 1 else leaf
            lines.append(f"{where}: {message}")
        elif ident in ("", "*"):
            lines.append(message or f"HTTP {status}")
        else:
            lines.append(f"{ident}: {message}")
    if lines:
        return lines
    snippet = " ".join(text.split())[:200]
    if snippet and not snippet.lower().startswith(("<!doctype", "<html")):
        return [f"HTTP {status}: {snippet}"]
    return [f"HTTP {status}"]


def answer_text(resp: Any) -> str:
    """``status reason`` of an answer, the reason stripped of markup and cut short."""
    reason = " ".join(re.sub(r"<[^>]+>", " ", resp.reason or "").split())
    return f"{resp.status_code} {printable(reason)}".strip()


def printable(text: str) -> str:
    """A server's words, printable ASCII only and at most 60 characters."""
    return "".join(ch for ch in text if " " <= ch <= "~").strip()[:60]
