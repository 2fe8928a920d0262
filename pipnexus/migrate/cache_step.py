"""Rule 2: actions/cache (and /restore, /save) of Python package caches.

A step whose every `path` entry is a Python package cache is removed, together with a step that
only fed it (`pip cache dir` into an output) when nothing else uses that step. With mixed paths
in a `|` block, only the Python lines are removed. Virtual environments (`.venv`,
`~/.local/share/virtualenvs`, `${{ env.pythonLocation }}`) are not package caches: they are kept
and reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from ruamel.yaml.nodes import ScalarNode

from pipnexus.migrate import conditional
from pipnexus.migrate.model import Change, DataOp, Edit, Finding, Options
from pipnexus.migrate.spans import remove_item
from pipnexus.migrate.tree import Doc, Step, StepList, get, scalar

RULE = "actions-cache"
ACTIONS = ("actions/cache", "actions/cache/restore", "actions/cache/save")
VENV = "venv"

_CACHE_DIRS = {
    "pip": (
        "~/.cache/pip",
        "~/library/caches/pip",
        "~/appdata/local/pip/cache",
    ),
    "pipenv": ("~/.cache/pipenv", "~/library/caches/pipenv", "~/appdata/local/pipenv/cache"),
    "poetry": (
        "~/.cache/pypoetry",
        "~/library/caches/pypoetry",
        "~/appdata/local/pypoetry/cache",
    ),
    "uv": ("~/.cache/uv", "~/library/caches/uv", "~/appdata/local/uv/cache"),
}
_VENVS = (
    ".venv",
    "venv",
    "~/.local/share/virtualenvs",
    "~/.virtualenvs",
    "~/.cache/pypoetry/virtualenvs",
    "~/library/caches/pypoetry/virtualenvs",
    "~/appdata/local/pypoetry/cache/virtualenvs",
)
_HOME = re.compile(
    r"(?i)^(?:\$home|\$\{home\}|%userprofile%|\$env:userprofile|\$\{\{\s*env\.home\s*\}\})"
)
_LOCALAPPDATA = re.compile(r"(?i)^(?:%localappdata%|\$env:localappdata)")
_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_STEP_OUTPUT = re.compile(r"^\s*steps\.([A-Za-z_][\w-]*)\.outputs\.([\w-]+)\s*$")
_ENV = re.compile(r"^\s*env\.(\w+)\s*$")
_OS_NAMES = {"linux", "macos", "windows", ""}
# `pip cache dir` (and friends) captured into a step output
_DIR_COMMANDS = (
    (re.compile(r"\bpip[\d.]*\s+cache\s+dir\b"), "pip"),
    (re.compile(r"\bpoetry\s+config\s+cache-dir\b"), "poetry"),
    (re.compile(r"\buv\s+cache\s+dir\b"), "uv"),
    (re.compile(r"\bpipenv\s+--venv\b"), VENV),
)
_OUTPUT_NAMES = (
    re.compile(r"::set-output\s+name=([\w-]+)::"),
    re.compile(r"""["']?([\w-]+)=["']?\$\("""),
)
_WRITES_OUTPUT = re.compile(r"GITHUB_OUTPUT|::set-output")


class PathEntry(NamedTuple):
    line: int  # index in value.split("\n")
    text: str
    tool: str | None  # pip/pipenv/poetry/uv, "venv", or None (not Python)


def _normalise(path: str) -> str:
    p = path.strip().strip("'\"")
    p = _HOME.sub("~", p)
    p = _LOCALAPPDATA.sub("~/AppData/Local", p)
    p = p.replace("\\", "/").rstrip("/").lower()
    if p.startswith("./"):
        p = p[2:]
    return p


def classify_path(path: str) -> str | None:
    p = _normalise(path)
    if p.startswith("!"):
        p = p[1:]
    for venv in _VENVS:
        if p == venv or p.startswith(venv + "/"):
            return VENV
    for tool, dirs in _CACHE_DIRS.items():
        for d in dirs:
            if p == d or p.startswith(d + "/"):
                return tool
    if p in ("$uv_cache_dir", "${uv_cache_dir}"):
        return "uv"
    return None


def _captured(line: str) -> tuple[str, str] | None:
    """(output name, tool) when this script line writes a cache dir to a step output."""
    tool = next((t for rx, t in _DIR_COMMANDS if rx.search(line)), None)
    name = next((m.group(1) for rx in _OUTPUT_NAMES for m in [rx.search(line)] if m), None)
    if tool is None or name is None or not _WRITES_OUTPUT.search(line):
        return None
    return name, tool


def output_tool(step: Step, name: str) -> str | None:
    """The cache whose directory the step writes to its output `name`, if any."""
    if step.uses:
        return None
    for line in step.run.splitlines():
        found = _captured(line)
        if found and found[0] == name:
            return found[1]
    return None


def helper_output(step: Step) -> tuple[str, str] | None:
    """(output name, tool) when the step does nothing but capture a cache dir into an output."""
    if step.uses or not step.run:
        return None
    found: tuple[str, str] | None = None
    for raw in step.run.splitlines():
        line = re.sub(r"\s+#.*$", "", raw).strip()
        if not line or line.startswith("#"):
            continue
        captured = _captured(line)
        if captured is None or (found and found != captured):
            return None
        found = captured
    return found


def classify_entry(entry: str, steps: StepList) -> str | None:
    e = entry.strip()
    exprs = _EXPR.findall(e)
    if not exprs:
        return classify_path(e)
    rest = _EXPR.sub("", e).strip()
    if len(exprs) == 1 and not rest:
        inner = exprs[0]
        m = _STEP_OUTPUT.match(inner)
        if m:
            for step in steps.steps:
                if scalar(get(step.node, "id")) == m.group(1):
                    return output_tool(step, m.group(2))
            return None
        m = _ENV.match(inner)
        if m:
            name = m.group(1).lower()
            return "uv" if name == "uv_cache_dir" else VENV if name == "pythonlocation" else None
    if rest and not rest.startswith("/"):
        return None
    # an expression choosing the directory per OS: every path literal must be the same cache
    literals = [lit for x in exprs for lit in re.findall(r"'([^']*)'", x)]
    tools = {classify_path(lit + rest) for lit in literals if lit.strip().lower() not in _OS_NAMES}
    return tools.pop() if len(tools) == 1 else None


def entries(value: str, steps: StepList) -> list[PathEntry]:
    """One entry per line, except that an expression `${{ ... }}` may span lines."""
    out = []
    pending: list[str] = []
    first = 0
    for i, line in enumerate(value.split("\n")):
        if not pending:
            first = i
        pending.append(line)
        joined = "\n".join(pending)
        if joined.count("${{") > joined.count("}}"):
            continue
        if joined.strip():
            out.append(PathEntry(first, joined, classify_entry(joined, steps)))
        pending = []
    if pending and "\n".join(pending).strip():
        out.append(PathEntry(first, "\n".join(pending), None))
    return out


class CacheStep(NamedTuple):
    step: Step
    path_node: ScalarNode
    entries: list[PathEntry]


def python_cache_steps(
    steps: StepList, options: Options, venv: bool = False
) -> Iterator[CacheStep]:
    """actions/cache steps with a Python package cache path chosen by --caches (or a venv)."""
    for step in steps.steps:
        if step.uses not in ACTIONS:
            continue
        path_node = get(get(step.node, "with"), "path")
        if not isinstance(path_node, ScalarNode):
            continue
        es = entries(path_node.value, steps)
        if any(e.tool in options.caches or (venv and e.tool == VENV) for e in es):
            yield CacheStep(step, path_node, es)


def _refs(doc: Doc, steps: StepList, step_id: str, removed: list[Edit]) -> list[int]:
    rx = re.compile(rf"\bsteps\.{re.escape(step_id)}\.")
    text = doc.text.text
    return [
        m.start()
        for m in rx.finditer(text, steps.owner_start, steps.owner_end)
        if not any(e.start <= m.start() < e.end for e in removed)
    ]


def fix(doc: Doc, steps: StepList, options: Options) -> Iterator[Change | Finding]:
    text = doc.text
    removed_steps: list[Step] = []
    deletions: list[Edit] = []
    trimmed_any = False
    changes: list[Change] = []
    out: list[Change | Finding] = []
    n_removable = len(steps.steps)
    for cs in python_cache_steps(steps, options, venv=True):
        step = cs.step
        line, col = text.position(doc.item_start(steps.seq, step.position))
        if step.alias:
            continue
        python = [e for e in cs.entries if e.tool in options.caches]
        kept = [e for e in cs.entries if e.tool not in options.caches]
        names = ", ".join(e.text.strip() for e in python)
        for e in kept:
            if e.tool == VENV:
                out.append(Finding(
                    line, col, "venv-cache-kept",
                    f"cache of a virtual environment ({e.text.strip()}) kept: it is an "
                    "installed environment, not a package download cache",
                ))
        if not python:
            continue
        if options.strategy == "conditional":
            if kept:
                out.append(Finding(
                    line, col, "mixed-cache-kept",
                    "actions/cache mixes Python and other paths: left unconditional",
                ))
                continue
            gated = conditional.gate_step(
                doc, step, RULE, f"{step.uses}: restore {names} only when not using Nexus"
            )
            if gated:
                changes.append(gated)
            continue
        if not kept:
            if doc.aliased(step.node):
                out.append(Finding(line, col, "anchor-kept",
                                   "actions/cache step is anchored and reused by an alias: "
                                   "left as is"))
                continue
            if n_removable - len(removed_steps) <= 1:
                out.append(Finding(line, col, "unsupported-shape",
                                   "actions/cache step is the only step: left as is"))
                continue
            edit = remove_item(doc, steps.seq, step.position)
            if edit is None:
                out.append(Finding(line, col, "unsupported-shape",
                                   "actions/cache step layout not supported: left as is"))
                continue
            removed_steps.append(step)
            deletions.append(edit)
            changes.append(Change(
                RULE, line, f"{step.uses}: removed the step caching {names}", (edit,),
                (DataOp("delete", step.path),),
            ))
            continue
        trim = _trim(doc, cs, python)
        if isinstance(trim, Finding):
            out.append(trim)
            continue
        trimmed_any = True
        deletions.extend(trim.edits)
        changes.append(trim)

    for step in removed_steps:
        step_id = scalar(get(step.node, "id"))
        if not step_id:
            continue
        for at in _refs(doc, steps, step_id, deletions):
            rl, rc = text.position(at)
            out.append(Finding(
                rl, rc, "cache-hit-reference",
                f"steps.{step_id} was a removed cache step: its outputs are now empty, so "
                f"`steps.{step_id}.outputs.cache-hit` is '' (false): a condition "
                f"`!= 'true'` is now always true and `== 'true'` always false",
            ))
    if removed_steps or trimmed_any:
        for step in steps.steps:
            if step.alias or helper_output(step) is None:
                continue
            step_id = scalar(get(step.node, "id"))
            if not step_id or _refs(doc, steps, step_id, []) == []:
                continue  # it fed nothing we changed
            if _refs(doc, steps, step_id, deletions):
                continue
            if n_removable - len(removed_steps) <= 1:
                continue
            edit = remove_item(doc, steps.seq, step.position)
            if edit is None:
                continue
            removed_steps.append(step)
            line = text.line_of(doc.item_start(steps.seq, step.position)) + 1
            changes.append(Change(
                RULE, line, f"removed step `{step_id}` that only fed the removed cache",
                (edit,), (DataOp("delete", step.path),),
            ))
    yield from changes
    yield from out


def _trim(doc: Doc, cs: CacheStep, python: list[PathEntry]) -> Change | Finding:
    node = cs.path_node
    text = doc.text
    line, col = text.position(doc.start(node))
    if node.style != "|":
        return Finding(
            line, col, "mixed-cache-kept",
            "actions/cache path mixes Python and other caches in a scalar that is not a `|` "
            "block: left as is",
        )
    header = text.line_of(int(node.start_mark.index))
    edits = []
    for e in python:
        tl = header + 1 + e.line
        if text.content(tl).strip() != e.text.strip():
            return Finding(line, col, "unsupported-shape", "actions/cache path block: left as is")
        edits.append(text.delete_lines(tl, tl))
    drop = {e.line for e in python}
    lines = [x for i, x in enumerate(node.value.split("\n")) if i not in drop]
    new = "\n".join(lines)
    chomp = text.content(header).strip()
    if "-" not in chomp and "+" not in chomp:
        new = new.rstrip("\n") + "\n"
    elif "-" in chomp:
        new = new.rstrip("\n")
    names = ", ".join(e.text.strip() for e in python)
    op = DataOp("set", (*cs.step.path, "with", "path"), new)
    return Change(RULE, line, f"{cs.step.uses}: removed {names} from path", tuple(edits), (op,))
