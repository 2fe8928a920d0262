"""Line bookkeeping over the original text: offsets, line ranges, newline style, YAML quoting."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from pipnexus.migrate.model import Edit

_NEWLINE = re.compile(r"\r\n|\r|\n")
# Plain scalars must not start with an indicator, contain ": " or " #", or end with ":".
_PLAIN_BAD_START = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_CHARS = set(",[]{}")
_PLAIN_NONSTR = re.compile(
    r"(?i)^(?:~|null|true|false|yes|no|on|off|y|n|[-+]?(?:\.inf|\.nan)|"
    r"[-+]?(?:0|[1-9][0-9_]*|0[oxb][0-9a-f_]+|[0-9_]*\.[0-9_]*(?:e[-+]?[0-9]+)?))$"
)


class Text:
    """The original text (BOM removed) with line starts computed from YAML line breaks."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        first = _NEWLINE.search(text)
        self.newline = first.group() if first else "\n"
        self.ends_with_newline = text.endswith(("\n", "\r"))

    @property
    def nlines(self) -> int:
        """Number of lines (a final newline does not start a new line)."""
        n = len(self.starts)
        return n - 1 if self.ends_with_newline else n

    def line_of(self, index: int) -> int:
        """0-based line containing character `index`."""
        return bisect_right(self.starts, index) - 1

    def col_of(self, index: int) -> int:
        return index - self.starts[self.line_of(index)]

    def position(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of `index`."""
        line = self.line_of(index)
        return line + 1, index - self.starts[line] + 1

    def line_end(self, line: int) -> int:
        """Offset just after line `line`, its line break included."""
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)

    def content(self, line: int) -> str:
        """Line `line` without its line break."""
        return self.text[self.starts[line] : self.line_end(line)].rstrip("\r\n")

    def indent(self, line: int) -> int:
        s = self.content(line)
        return len(s) - len(s.lstrip(" "))

    def is_blank(self, line: int) -> bool:
        return 0 <= line < self.nlines and not self.content(line).strip()

    def is_comment(self, line: int) -> bool:
        return 0 <= line < self.nlines and self.content(line).lstrip().startswith("#")

    def delete_lines(self, first: int, last: int) -> Edit:
        """Delete whole lines first..last (see `keep_final_newline` for the end of the file)."""
        return Edit(self.starts[first], self.line_end(last), "")

    def keep_final_newline(self, new: str) -> str:
        """`new` ending with a line break exactly when the original text did."""
        if not self.ends_with_newline and new.endswith(("\n", "\r")):
            return new[:-2] if new.endswith("\r\n") else new[:-1]
        return new

    def insert_lines(self, before: int, lines: Sequence[str]) -> Edit:
        """Insert `lines` (no line breaks) before line `before` (nlines = at the end)."""
        nl = self.newline
        if before >= self.nlines:
            if self.ends_with_newline or not self.text:
                return Edit(len(self.text), len(self.text), "".join(s + nl for s in lines))
            return Edit(len(self.text), len(self.text), "".join(nl + s for s in lines))
        at = self.starts[before]
        return Edit(at, at, "".join(s + nl for s in lines))


def yaml_scalar(value: str, flow: bool = False) -> str:
    """`value` as a plain scalar when that reads back as the same string, else double-quoted."""
    plain_ok = (
        value != ""
        and value == value.strip()
        and value[0] not in _PLAIN_BAD_START
        and ": " not in value
        and " #" not in value
        and not value.endswith(":")
        and "\n" not in value
        and "\t" not in value
        and not _PLAIN_NONSTR.match(value)
        and not (flow and (_FLOW_CHARS & set(value)))
    )
    if plain_ok:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
