"""Run every rule over one file's text, apply the edits back to front, verify, return the result."""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode

from pipnexus.diagnostics import Diagnostic
from pipnexus.migrate import scope
from pipnexus.migrate.model import Change, DataOp, Edit, MigrateResult, Options
from pipnexus.migrate.plugin import Context, Rule, registered
from pipnexus.migrate.strategy import STRATEGIES
from pipnexus.migrate.text import Text
from pipnexus.migrate.tree import Doc, StepList, compose, get, load, step_lists

# The diagnostics the driver itself emits (the rules' are in their registrations).
CODES = (
    "unreadable-file", "yaml-syntax", "not-a-workflow", "unsafe-rewrite", "conflict",
    "anchor-kept", *scope.CODES,
)
# Files without any of these words cannot need a change: they are not even parsed.
TRIGGER = re.compile(r"setup-python|actions/cache|setup-uv|pip|\buvx?\b|poetry|pdm|tox|nox|hatch")


def _error(
    text: str, path: str, line: int, col: int, message: str, code: str = "yaml-syntax"
) -> MigrateResult:
    return MigrateResult(text, (), (), Diagnostic("error", message, code, path, line, col))


def _yaml_error(text: str, path: str, offset: int, e: YAMLError) -> MigrateResult:
    mark = None
    if isinstance(e, MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    if context:
        problem = f"{context}, {problem}"
    if mark is None:
        return _error(text, path, 1, 1, f"invalid YAML: {problem}")
    line, col = Text(text[offset:]).position(min(mark.index, len(text) - offset))
    return _error(text, path, line, col, f"invalid YAML: {problem}")


def migrate_text(
    text: str,
    path: str = "<string>",
    options: Options | None = None,
    rules: Sequence[Rule] | None = None,
) -> MigrateResult:
    """Pure function: the migrated text of one workflow/action file, with changes and findings.

    `rules` defaults to every registered rule (tests pass their own).
    """
    options = options or Options()
    offset = 1 if text.startswith("\ufeff") else 0
    body = text[offset:]
    if not body.strip():
        return _error(text, path, 1, 1, "empty file", "not-a-workflow")
    if "\0" in body:
        return _error(text, path, 1, 1, "binary file (contains NUL bytes)", "unreadable-file")
    if not options.parse_all and not TRIGGER.search(body):
        return MigrateResult(text, (), (), None)
    try:
        root, aliases, data = compose(body)
    except YAMLError as e:
        return _yaml_error(text, path, offset, e)
    except RecursionError:
        return _error(text, path, 1, 1, "invalid YAML: nested too deeply")
    if root is None:
        return _error(text, path, 1, 1, "empty file (no YAML document)", "not-a-workflow")
    is_workflow = get(root, "jobs") is not None or get(root, "runs") is not None
    if not isinstance(root, MappingNode) or not is_workflow:
        return _error(text, path, 1, 1,
                      "not a GitHub Actions workflow or action (no `jobs:` or `runs:`)",
                      "not-a-workflow")
    doc = Doc(Text(body), root, aliases)
    every = tuple(step_lists(doc))
    plan = scope.plan(doc, data, every, options, path)
    requested = STRATEGIES[options.strategy]
    ctx = Context(doc, plan.lists, options, requested, path, plan.strategies, every)
    chosen = registered() if rules is None else rules
    items = [item for rule in chosen for item in rule.fix(ctx)]
    # a helper may not know the file's path: every diagnostic gets it here
    findings = [
        d if d.path is not None else d._replace(path=path)
        for d in items if isinstance(d, Diagnostic)
    ]
    candidates = [c for c in items if isinstance(c, Change)]
    changes = scope.drop_shared(doc, plan, _select(doc, path, candidates, findings), findings,
                                path)
    if any(r.name == scope.INSERT_RULE for r in chosen):  # (tests may run one rule alone)
        changes = scope.drop_ungated(plan.lists, changes, findings, options, path)

    def would_change(steps: StepList) -> bool:
        alone = ctx._replace(lists=(steps,), strategies=(requested,))
        return any(isinstance(i, Change) for r in chosen if r.per_list for i in r.fix(alone))

    findings += scope.notes(plan, changes, would_change)
    changes.sort(key=lambda c: c.line)
    findings = sorted(set(findings), key=lambda f: (f.line or 0, f.col or 0, f.code, f.message))
    if not changes:
        return MigrateResult(text, (), tuple(findings), None)
    new_body = doc.text.keep_final_newline(apply_edits(body, [e for c in changes for e in c.edits]))
    ops = [op for c in changes for op in c.ops]
    problem = None if verify_fast(body, new_body, ops) else verify(data, new_body, ops)
    if problem:
        return _error(text, path, 1, 1, f"refusing to rewrite: {problem}; file left unchanged",
                      "unsafe-rewrite")
    return MigrateResult(text[:offset] + new_body, tuple(changes), tuple(findings), None)


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end or b.start == b.end:
        # an insertion conflicts only with a deletion strictly around it
        return (a.start < b.start < a.end) or (b.start < a.start < b.end)
    return a.start < b.end and b.start < a.end


def _select(
    doc: Doc, path: str, candidates: list[Change], findings: list[Diagnostic]
) -> list[Change]:
    """Accept changes in order, dropping one that overlaps or would orphan an alias."""
    accepted: list[Change] = []
    # accepted edits sorted by (start, end): they never overlap, so their ends are sorted too
    keys: list[tuple[int, int]] = []
    taken: list[Edit] = []
    alias_uses: dict[str, list[int]] = {}
    for use in doc.aliases.values():
        alias_uses.setdefault(use.anchor, []).append(use.start)
    for change in candidates:
        if any(_conflicts(e, keys, taken) for e in change.edits):
            why = "overlaps another change"
            findings.append(Diagnostic("warning", f"{change.message}: skipped ({why})",
                                       "conflict", path, change.line, 1))
            continue
        if _orphans_alias(doc, change, alias_uses):
            why = "it would delete an anchor that an alias still uses"
            findings.append(Diagnostic("warning", f"{change.message}: skipped ({why})",
                                       "anchor-kept", path, change.line, 1))
            continue
        accepted.append(change)
        for e in change.edits:
            at = bisect.bisect_right(keys, (e.start, e.end))
            keys.insert(at, (e.start, e.end))
            taken.insert(at, e)
    return accepted


def _conflicts(edit: Edit, keys: list[tuple[int, int]], taken: list[Edit]) -> bool:
    """Whether `edit` overlaps an accepted edit; looks only at its neighbours (linear files stay
    linear: a huge workflow has thousands of edits)."""
    i = bisect.bisect_right(keys, (edit.end, edit.end)) - 1
    while i >= 0 and taken[i].end >= edit.start:
        if _overlaps(edit, taken[i]):
            return True
        i -= 1
    return False


def _orphans_alias(doc: Doc, change: Change, alias_uses: dict[str, list[int]]) -> bool:
    deleted = [e for e in change.edits if e.end > e.start]
    for name, nodes in doc.anchors.items():
        for node in nodes:
            at = int(node.start_mark.index)
            if any(e.start <= at < e.end for e in deleted) and any(
                not any(e.start <= use < e.end for e in deleted)
                for use in alias_uses.get(name, [])
            ):
                return True
    return False


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits back to front; equal insertion points keep their order."""
    order = sorted(range(len(edits)), key=lambda i: (edits[i].start, edits[i].end, i))
    parts: list[str] = []
    pos = 0
    for i in order:  # one pass, front to back (not a copy of the text per edit)
        e = edits[i]
        parts.append(text[pos : e.start])
        parts.append(e.replacement)
        pos = max(pos, e.end)
    parts.append(text[pos:])
    return "".join(parts)


def apply_ops(data: Any, ops: list[DataOp]) -> Any:
    """The input data with `ops` applied (mutates and returns `data`)."""
    lists: dict[int, tuple[list[Any], set[int], dict[int, list[Any]], dict[int, Any]]] = {}
    maps: list[tuple[DataOp, dict[Any, Any]]] = []
    for op in ops:
        parent = data
        for key in op.path[:-1]:
            parent = parent[key]
        key = op.path[-1]
        if isinstance(parent, list):
            entry = lists.setdefault(id(parent), (parent, set(), {}, {}))
            assert isinstance(key, int)
            if op.kind == "delete":
                entry[1].add(key)
            elif op.kind == "insert":
                entry[2].setdefault(key, []).append(op.value)
            else:
                entry[3][key] = op.value
        else:
            maps.append((op, parent))
    for op, parent in maps:
        if op.kind == "delete":
            del parent[op.path[-1]]
        else:
            parent[op.path[-1]] = op.value
    for items, deletes, inserts, sets in lists.values():
        new: list[Any] = []
        for i, item in enumerate(items):
            new.extend(inserts.get(i, []))
            if i not in deletes:
                new.append(sets.get(i, item))
        new.extend(inserts.get(len(items), []))
        items[:] = new
    return data


def _fast_load() -> Callable[[str], Any] | None:
    """PyYAML's C loader when it is installed (optional; it parses several times faster than
    ruamel.yaml's pure-Python loader)."""
    if os.environ.get("PIPNEXUS_MIGRATE_PURE"):
        return None
    try:
        import yaml
    except ImportError:
        return None
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return None
    return lambda text: yaml.load(text, Loader=loader)


def verify_fast(old_text: str, new_text: str, ops: list[DataOp]) -> bool:
    """True when PyYAML (if installed) sees exactly the intended change; False means "ask ruamel".

    Only a positive answer is trusted: the text outside the edits is unchanged and the inserted
    scalars read as strings in YAML 1.1 and 1.2 alike, so agreement here implies agreement there.
    """
    fast = _fast_load()
    if fast is None:
        return False
    try:
        expected = apply_ops(fast(old_text), ops)
        return same_data(fast(new_text), expected)
    except Exception:  # any PyYAML disagreement or failure: fall back to the ruamel check
        return False


def verify(data: Any, new_text: str, ops: list[DataOp]) -> str | None:
    """None when `new_text` parses to exactly `data` with `ops` applied, else what went wrong."""
    try:
        actual = load(new_text)
    except YAMLError as e:
        return f"the result would not parse ({str(e).splitlines()[0]})"
    try:
        expected = apply_ops(data, ops)
    except (KeyError, IndexError, TypeError) as e:
        return f"internal error applying the intended change ({e!r})"
    if not same_data(actual, expected):
        return "the result's data differs from the intended change"
    return None


def same_data(a: Any, b: Any, seen: set[tuple[int, int]] | None = None) -> bool:
    """``a == b`` for loaded YAML, in time linear in the distinct nodes rather than exponential
    in the alias depth: aliases share one object, which ``==`` would compare again each time
    ("billion laughs")."""
    both_maps = isinstance(a, dict) and isinstance(b, dict)
    if both_maps or (isinstance(a, list) and isinstance(b, list)):
        if seen is None:
            seen = set()
        pair = (id(a), id(b))
        if pair in seen:
            return True
        seen.add(pair)
        if len(a) != len(b):
            return False
        if isinstance(a, list):
            return all(same_data(x, y, seen) for x, y in zip(a, b))
        return a.keys() == b.keys() and all(same_data(a[k], b[k], seen) for k in a)
    return bool(a == b)
