"""Text spans of YAML items and the edits that remove them, with the comment rule.

Comment rule (documented in the README): a comment on a removed line goes with it; comment lines
right below a removed item and indented deeper than it are part of it and go too; the block of
comment lines directly above a removed item (same column, no blank line between) goes only when
it mentions a cache word (cache, pip, poetry, pipenv, uv, pypi), otherwise it stays.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ruamel.yaml.nodes import MappingNode, Node

from pipnexus.diagnostics import Diagnostic
from pipnexus.migrate.model import Change, DataOp, Edit, PathKey
from pipnexus.migrate.tree import Doc, Step, get_pair, is_flow, key_str
from pipnexus.migrate.workflow import CacheStep

CACHE_WORDS = re.compile(r"(?i)cach|pip|poetry|pipenv|\buv\b|pypi")


def comments_above(doc: Doc, first: int, col: int) -> list[int]:
    """Comment lines at column `col` directly above line `first` (no blank line between)."""
    lines = []
    line = first - 1
    while line >= 0 and doc.text.is_comment(line) and doc.text.indent(line) == col:
        lines.append(line)
        line -= 1
    return lines[::-1]


def extend_comments_below(doc: Doc, last: int, col: int) -> int:
    """`last`, extended over the comment lines right below it that are indented deeper."""
    while doc.text.is_comment(last + 1) and doc.text.indent(last + 1) > col:
        last += 1
    return last


def block_range(doc: Doc, first: int, last: int, col: int) -> tuple[int, int]:
    """Line range of an item at column `col` spanning first..last, with its comments."""
    last = extend_comments_below(doc, last, col)
    above = comments_above(doc, first, col)
    if any(CACHE_WORDS.search(doc.text.content(x)) for x in above):
        first = above[0]
    return first, last


def item_lines(doc: Doc, seq: Node, i: int) -> tuple[int, int, int] | None:
    """(dash column, first line, last line) of block sequence item i, or None."""
    col = doc.dash_col(seq, i)
    if col is None:
        return None
    node = seq.value[i]
    start = doc.item_start(seq, i)
    if node.anchor and not doc.item_alias(seq, i):
        start = int(node.start_mark.index)
    first = doc.text.line_of(start)
    last = doc.text.line_of(max(doc.item_end(seq, i) - 1, start))
    return col, first, last


def remove_item(doc: Doc, seq: Node, i: int) -> Edit | None:
    """Delete block sequence item i (a step) with its comments; None when not possible."""
    found = item_lines(doc, seq, i)
    if found is None:
        return None
    col, first, last = found
    first, last = block_range(doc, first, last, col)
    if i == 0 or first == 0 or doc.text.is_blank(first - 1):
        # steps separated by blank lines: drop the separator after the item too
        while doc.text.is_blank(last + 1):
            last += 1
    return doc.text.delete_lines(first, last)


def remove_pairs(doc: Doc, mapping: Node, keys: Collection[str]) -> list[Edit] | None:
    """Edits deleting the pairs named `keys` from `mapping` (some must stay), or None."""
    idx = [i for i, (k, _v) in enumerate(mapping.value) if key_str(k) in keys]
    n = len(mapping.value)
    if not idx or len(idx) == n:
        return None
    text = doc.text
    edits: list[Edit] = []
    if is_flow(mapping):
        removed = set(idx)
        i = 0
        while i < n:
            if i not in removed:
                i += 1
                continue
            j = i
            while j + 1 < n and j + 1 in removed:
                j += 1
            if j + 1 < n:
                nxt = doc.start(mapping.value[j + 1][0])
                edits.append(Edit(doc.start(mapping.value[i][0]), nxt, ""))
            else:
                edits.append(Edit(doc.pair_end(mapping, i - 1), doc.pair_end(mapping, j), ""))
            i = j + 1
        return edits
    for i in idx:
        key = mapping.value[i][0]
        start = doc.start(key)
        line = text.line_of(start)
        col = start - text.starts[line]
        if text.text[text.starts[line] : start].strip():
            # the key shares its line with a `- `: pull the next key up instead
            if i + 1 >= n or i + 1 in idx:
                return None
            edits.append(Edit(start, doc.start(mapping.value[i + 1][0]), ""))
            continue
        last = text.line_of(max(doc.pair_end(mapping, i) - 1, start))
        first, last = block_range(doc, line, last, col)
        edits.append(text.delete_lines(first, last))
    return edits


def remove_keys(
    doc: Doc,
    step: Step,
    keys: Collection[str],
    rule: str,
    message: str,
    line: int,
) -> Change | Diagnostic | None:
    """Remove `keys` from the step's `with:`, or the whole `with:` when nothing else is left."""
    pair = get_pair(step.node, "with")
    if not pair or not isinstance(pair[2], MappingNode):
        return None
    _i, wkey, wnode = pair
    present = [k for k in (key_str(k) for k, _v in wnode.value) if k is not None and k in keys]
    if not present:
        return None
    path: tuple[PathKey, ...] = step.path
    ops: tuple[DataOp, ...]
    if len(present) == len(wnode.value):
        edits = remove_pairs(doc, step.node, ["with"])
        ops = (DataOp("delete", (*path, "with")),)
    else:
        edits = remove_pairs(doc, wnode, present)
        ops = tuple(DataOp("delete", (*path, "with", k)) for k in present)
    if edits is None:
        col = doc.text.col_of(doc.start(wkey)) + 1
        return Diagnostic(
            "warning", f"{message}: layout not supported, left as is", "unsupported-shape",
            None, line, col,
        )
    return Change(rule, line, message, tuple(edits), ops)


def trim_block(
    doc: Doc, target: CacheStep, caches: frozenset[str], rule: str
) -> Change | Diagnostic:
    """Delete the lines of the `caches` entries from an actions/cache `path: |` block."""
    node = target.path_node
    text = doc.text
    line, col = text.position(doc.start(node))
    if node.style != "|":
        return Diagnostic(
            "warning", "actions/cache path mixes Python and other caches in a scalar that is not "
            "a `|` block: left as is", "mixed-cache-kept", None, line, col,
        )
    header = text.line_of(int(node.start_mark.index))
    python = target.python(caches)
    edits = []
    for e in python:
        tl = header + 1 + e.line
        if text.content(tl).strip() != e.text.strip():
            return Diagnostic("warning", "actions/cache path block: left as is",
                              "unsupported-shape", None, line, col)
        edits.append(text.delete_lines(tl, tl))
    drop = {e.line for e in python}
    new = "\n".join(x for i, x in enumerate(node.value.split("\n")) if i not in drop)
    chomp = text.content(header).strip()  # `|`, `|-` (strip) or `|+` (keep)
    if "-" not in chomp and "+" not in chomp:
        new = new.rstrip("\n") + "\n"
    elif "-" in chomp:
        new = new.rstrip("\n")
    op = DataOp("set", (*target.step.path, "with", "path"), new)
    message = f"{target.step.uses}: removed {target.names(caches)} from path"
    return Change(rule, line, message, tuple(edits), (op,))
