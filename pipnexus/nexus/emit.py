"""The small YAML emitter of ``nexus values``: block mappings and lists, plain scalars where
YAML reads them back as the same string, a comment above each key that has one (by dotted
path; list items are named by their ``format``). Standard library only."""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*\Z")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _RESERVED and not re.match(r"[0-9.+-]+\Z", s):
        return s
    if s.startswith("http") and not any(c.isspace() for c in s):
        return s
    return json.dumps(s)


def _emit_comment(lines: list[str], indent: str, text: str | None) -> None:
    if text:
        lines.extend(f"{indent}# {t}".rstrip() for t in text.split("\n"))


def emit(
    obj: dict[str, Any],
    indent: str,
    path: str,
    comments: dict[str, str],
    lines: list[str],
    first_prefix: str = "",
) -> None:
    for i, (key, value) in enumerate(obj.items()):
        p = f"{path}.{key}" if path else key
        lead = first_prefix if i == 0 and first_prefix else indent
        if not (i == 0 and first_prefix):
            _emit_comment(lines, indent, comments.get(p))
        if isinstance(value, dict) and value:
            lines.append(f"{lead}{key}:")
            emit(value, indent + "  ", p, comments, lines)
        elif isinstance(value, list) and value:
            lines.append(f"{lead}{key}:")
            for item in value:
                if isinstance(item, dict):
                    ip = f"{p}.{item.get('format', '')}" if "format" in item else p
                    _emit_comment(lines, indent + "  ", comments.get(f"{ip}.name"))
                    emit(item, indent + "    ", ip, comments, lines, first_prefix=indent + "  - ")
                else:
                    lines.append(f"{indent}  - {_scalar(item)}")
        elif isinstance(value, dict):
            lines.append(f"{lead}{key}: {{}}")
        elif isinstance(value, list):
            lines.append(f"{lead}{key}: []")
        else:
            lines.append(f"{lead}{key}: {_scalar(value)}")
        if not indent:
            lines.append("")
