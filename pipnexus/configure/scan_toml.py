"""Just enough TOML for the bypass scan, with the line of every key.

The scan runs on the runner's Python, 3.9 or newer: ``tomllib`` exists only from 3.11, and it
gives no line numbers, which every finding needs. This reads tables, arrays of tables and
``key = value`` with strings, booleans, numbers, arrays and inline tables (a value may span
lines). Anything it cannot read ends that entry, never the scan: a file that is not valid TOML
gives what could be read before the fault.
"""

from __future__ import annotations

import re

from pipnexus._nt import NamedTuple

MAX_BYTES = 1_000_000  # a project file larger than this is read only this far
# patterns stay strings, compiled (and cached by re) on first use: most jobs have no
# TOML file to read, and compiling at import costs every job (bench/configure_bench.py)
_BARE = r"[A-Za-z0-9_-]+"
_TOKEN = r"[^\s,\]}#]+"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "\\": "\\"}


class Entry(NamedTuple):
    """``key = value`` under ``table``; ``item`` counts the elements of an array of tables
    (``[[tool.uv.index]]``: 1, 2, ...), 0 under a plain table."""

    table: tuple[str, ...]
    item: int
    key: tuple[str, ...]
    value: object  # str, bool, list, dict (inline table), or the raw token (numbers, dates)
    line: int
    start: int = 0  # the line of the table's header (0: none)


class _Fault(Exception):
    pass


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            return f.read(MAX_BYTES)
    except OSError:
        return ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def line(self) -> int:
        return self.s.count("\n", 0, self.i) + 1

    def blank(self, newlines: bool = True) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            else:
                return

    def expect(self, char: str) -> None:
        if not self.s.startswith(char, self.i):
            raise _Fault(char)
        self.i += len(char)

    def key(self) -> tuple[str, ...]:
        parts = []
        while True:
            self.blank(newlines=False)
            c = self.s[self.i:self.i + 1]
            if c in ('"', "'"):
                parts.append(self.string())
            else:
                m = re.compile(_BARE).match(self.s, self.i)
                if not m:
                    raise _Fault("key")
                parts.append(m.group(0))
                self.i = m.end()
            self.blank(newlines=False)
            if not self.s.startswith(".", self.i):
                return tuple(parts)
            self.i += 1

    def string(self) -> str:
        s = self.s
        for quote in ('"""', "'''"):
            if s.startswith(quote, self.i):
                end = s.find(quote, self.i + 3)
                if end < 0:
                    raise _Fault("string")
                value = s[self.i + 3:end].lstrip("\n")
                self.i = end + 3
                return value
        quote = s[self.i]
        self.i += 1
        out = []
        while self.i < len(s) and s[self.i] not in (quote, "\n"):
            c = s[self.i]
            if c == "\\" and quote == '"' and self.i + 1 < len(s):
                out.append(_ESCAPES.get(s[self.i + 1], s[self.i + 1]))
                self.i += 2
                continue
            out.append(c)
            self.i += 1
        self.expect(quote)
        return "".join(out)

    def value(self) -> object:
        self.blank(newlines=False)
        c = self.s[self.i:self.i + 1]
        if c in ('"', "'"):
            return self.string()
        if c == "[":
            self.i += 1
            items: list[object] = []
            while True:
                self.blank()
                if self.s.startswith("]", self.i):
                    self.i += 1
                    return items
                items.append(self.value())
                self.blank()
                if self.s.startswith(",", self.i):
                    self.i += 1
                elif not self.s.startswith("]", self.i):
                    raise _Fault("array")
        if c == "{":
            self.i += 1
            table: dict[str, object] = {}
            while True:
                self.blank(newlines=False)
                if self.s.startswith("}", self.i):
                    self.i += 1
                    return table
                key = self.key()
                self.expect("=")
                table[".".join(key)] = self.value()
                self.blank(newlines=False)
                if self.s.startswith(",", self.i):
                    self.i += 1
        m = re.compile(_TOKEN).match(self.s, self.i)
        if not m:
            raise _Fault("value")
        self.i = m.end()
        token = m.group(0)
        return {"true": True, "false": False}.get(token, token)

    def skip_line(self) -> None:
        end = self.s.find("\n", self.i)
        self.i = len(self.s) if end < 0 else end + 1


def entries(text: str) -> list[Entry]:
    """Every ``key = value`` of a TOML document, in order, with its table and line."""
    p = _Parser(text)
    found: list[Entry] = []
    table: tuple[str, ...] = ()
    item = header = 0
    counts: dict[tuple[str, ...], int] = {}
    while True:
        p.blank()
        if p.i >= len(p.s):
            return found
        start = p.i
        try:
            if p.s.startswith("[", p.i):
                header = p.line()
            if p.s.startswith("[[", p.i):
                p.i += 2
                table = p.key()
                p.expect("]]")
                counts[table] = item = counts.get(table, 0) + 1
            elif p.s.startswith("[", p.i):
                p.i += 1
                table, item = p.key(), 0
                p.expect("]")
            else:
                line = p.line()
                key = p.key()
                p.expect("=")
                found.append(Entry(table, item, key, p.value(), line, header))
        except (_Fault, IndexError):
            p.i = start
            p.skip_line()


def under(found: list[Entry], *prefix: str) -> list[Entry]:
    """The entries whose full key (table + key) starts with ``prefix``, with ``table``
    shortened by it (so ``under(e, "tool", "uv")`` reads a pyproject.toml like a uv.toml)."""
    n = len(prefix)
    out = []
    for e in found:
        full = e.table + e.key
        if full[:n] == prefix and len(full) > n:
            cut = e.table[n:] if len(e.table) >= n else ()
            key = e.key if len(e.table) >= n else full[n:]
            out.append(e._replace(table=cut, key=key))
    return out


def array_items(found: list[Entry], name: str) -> list[tuple[int, dict[str, object]]]:
    """The elements of an array of tables ``[[name]]`` (or ``name = [{...}, ...]``): for each,
    the line where it starts and its keys."""
    items: dict[int, tuple[int, dict[str, object]]] = {}
    out: list[tuple[int, dict[str, object]]] = []
    for e in found:
        if e.table == (name,) and e.item:
            if e.item not in items:
                items[e.item] = (e.start or e.line, {})
                out.append(items[e.item])
            items[e.item][1][".".join(e.key)] = e.value
        elif e.table == () and e.key == (name,) and isinstance(e.value, list):
            out += [(e.line, v) for v in e.value if isinstance(v, dict)]
    return out
