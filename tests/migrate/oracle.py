"""An independent data-level model of `pipnexus migrate`, for the PyYAML oracle.

It works on what PyYAML loads (plain dicts and lists), never on text, and says what the migrated
workflow's *data* must be. It shares no code with pipnexus.migrate; the one thing data cannot
tell — whether a `path:` was written as a `|` block — comes from PyYAML's own composer.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from pipnexus.migrate.model import DEFAULT_ACTION_REF  # a constant, not logic

STEP = {"name": "Use the in-cluster PyPI proxy", "id": "pipnexus"}
GATE = "steps.pipnexus.outputs.source != 'nexus'"
SETUP_PYTHON_TOOLS = {"pip", "pipenv", "poetry"}

CACHE_DIRS = {
    "~/.cache/pip": "pip",
    "~/library/caches/pip": "pip",
    "~/appdata/local/pip/cache": "pip",
    "~/.cache/pipenv": "pipenv",
    "~/library/caches/pipenv": "pipenv",
    "~/appdata/local/pipenv/cache": "pipenv",
    "~/.cache/pypoetry": "poetry",
    "~/.cache/pypoetry/cache": "poetry",
    "~/.cache/pypoetry/artifacts": "poetry",
    "~/library/caches/pypoetry": "poetry",
    "~/appdata/local/pypoetry/cache": "poetry",
    "~/.cache/uv": "uv",
    "~/library/caches/uv": "uv",
    "~/appdata/local/uv/cache": "uv",
}
INSTALLS = re.compile(
    r"pip[0-9.]* +(install|download|wheel)|-m +pip +(install|download|wheel)"
    r"|\buv +(pip|sync|add|lock|run|build|export|tool)\b|\buvx\b|\bpipenv +(install|sync|run|lock)"
    r"|\bpdm +(install|sync|add|lock|run)|\bpoetry +(install|add|update|lock|sync|run|build)"
    r"|\btox\b|\bnox\b|\bhatch\b|\bpipx +(install|run)|\bpip-sync\b"
)


def action(step: Any) -> str:
    uses = step.get("uses") if isinstance(step, dict) else None
    if not isinstance(uses, str) or "@" not in uses:
        return ""
    return uses.split("@", 1)[0].strip().lower()


def literal_block_paths(text: str) -> set[str]:
    """Values of `path:` keys written as `|` blocks (via PyYAML's composer)."""
    out: set[str] = set()

    def walk(node: Any, seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if (isinstance(k, yaml.ScalarNode) and k.value == "path"
                        and isinstance(v, yaml.ScalarNode) and v.style == "|"):
                    out.add(v.value)
                walk(v, seen)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                walk(v, seen)

    walk(yaml.compose(text.lstrip("\ufeff")), set())
    return out


DIR_COMMANDS = {"pip cache dir": "pip", "poetry config cache-dir": "poetry", "uv cache dir": "uv"}


def _dir_of(steps: list[Any], step_id: str, output: str) -> str | None:
    for s in steps:
        if isinstance(s, dict) and s.get("id") == step_id and isinstance(s.get("run"), str):
            for line in s["run"].splitlines():
                if f"{output}=$(" in line or f"name={output}::" in line:
                    for command, tool in DIR_COMMANDS.items():
                        if command in line:
                            return tool
    return None


def tool_of(entry: str, steps: list[Any]) -> str | None:
    e = entry.strip()
    m = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}", e)
    if m:
        return _dir_of(steps, m.group(1), m.group(2))
    if re.fullmatch(r"\$\{\{\s*env\.UV_CACHE_DIR\s*\}\}", e, re.I):
        return "uv"
    if "${{" in e:
        quoted = [q for q in re.findall(r"'([^']*)'", e)
                  if q.lower() not in ("linux", "macos", "windows", "")]
        tools = {tool_of(q, steps) for q in quoted}
        return tools.pop() if len(tools) == 1 else None
    p = e.replace("\\", "/").rstrip("/").lower()
    p = re.sub(r"^(\$home|\$\{home\})", "~", p)
    return CACHE_DIRS.get(p)


def path_entries(value: str) -> list[str]:
    entries: list[str] = []
    for line in value.split("\n"):
        if entries and entries[-1].count("${{") > entries[-1].count("}}"):
            entries[-1] += "\n" + line
        else:
            entries.append(line)
    return entries


def expected(data: Any, text: str, caches: set[str], strategy: str = "remove",
             action_ref: str = DEFAULT_ACTION_REF, repin: bool = False) -> Any:
    """`data` (loaded from `text`) as the migration must leave it. Mutates and returns data.

    With `repin` (--action-ref given), the pipnexus steps already there use `action_ref`.
    """
    literal = literal_block_paths(text)
    counts: dict[int, int] = {}

    def count(x: Any) -> None:
        counts[id(x)] = counts.get(id(x), 0) + 1
        if counts[id(x)] > 1:
            return
        for v in x.values() if isinstance(x, dict) else x if isinstance(x, list) else []:
            count(v)

    count(data)
    lists: list[list[Any]] = []
    if isinstance(data.get("jobs"), dict):
        for job in data["jobs"].values():
            if isinstance(job, dict) and "uses" not in job and isinstance(job.get("steps"), list):
                lists.append(job["steps"])
    runs = data.get("runs")
    composite = isinstance(runs, dict) and str(runs.get("using")).lower() == "composite"
    if composite and isinstance(runs.get("steps"), list):
        lists.append(runs["steps"])
    done: set[int] = set()
    for steps in lists:
        if id(steps) not in done:
            done.add(id(steps))
            if repin:
                _repin(steps, action_ref)
            _steps(steps, caches, strategy, action_ref, literal, counts)
    return data


def _repin(steps: list[Any], action_ref: str) -> None:
    names = {"pipnexus/pipnexus", action_ref.split("@", 1)[0].lower()}
    for s in steps:
        if action(s) and (action(s) in names or s.get("id") == "pipnexus"):
            s["uses"] = action_ref


def _drop_with_keys(step: dict[str, Any], keys: tuple[str, ...], counts: dict[int, int]) -> None:
    w = step["with"]
    if all(k in keys for k in w):
        if counts.get(id(w), 1) == 1:
            del step["with"]
        return
    for k in keys:
        w.pop(k, None)


# setup-uv's inputs (its action.yml) that it reads only while the GitHub cache is on
UV_CACHE_ONLY = ("cache-dependency-glob", "restore-cache", "save-cache", "cache-suffix",
                 "prune-cache", "cache-python", "ignore-nothing-to-cache")


def _setup_uv(step: dict[str, Any], w: dict[str, Any], conditional: bool,
              counts: dict[int, int]) -> None:
    """setup-uv: `enable-cache: true` and `cache-python: true` are gated (conditional) or
    removed, and with `remove` the cache-only inputs go once the cache is off (the key absent,
    `false` or `auto`)."""
    def state(key: str) -> str:  # on, gated, expression, absent, or the value
        if key not in w:
            return "absent"
        v = w[key]
        if isinstance(v, (dict, list)):
            return "expression"
        text = str(v).lower()
        if "steps.pipnexus" in text:
            return "gated"
        return "expression" if "${{" in text else "on" if text == "true" else text

    enable, python = state("enable-cache"), state("cache-python")
    if conditional:
        for key, s in (("enable-cache", enable), ("cache-python", python)):
            if s == "on":
                w[key] = "${{ " + GATE + " }}"
        return
    drop = [k for k, s in (("enable-cache", enable), ("cache-python", python))
            if s in ("on", "gated")]
    if enable in ("on", "gated", "absent", "false", "auto"):
        drop += [k for k in UV_CACHE_ONLY if k in w and not (
            k == "cache-python" and python == "expression")]
    if drop:
        _drop_with_keys(step, tuple(dict.fromkeys(drop)), counts)


def _steps(steps: list[Any], caches: set[str], strategy: str, action_ref: str,
           literal: set[str], counts: dict[int, int]) -> None:
    conditional = strategy == "conditional"
    original = [json.dumps(s, default=str) for s in steps]
    removed: set[int] = set()
    gated: list[int] = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        w = step.get("with")
        name = action(step)
        if name == "actions/setup-python" and isinstance(w, dict):
            cache = w.get("cache")
            if isinstance(cache, str) and "steps.pipnexus.outputs.source" in cache:
                # written by the conditional strategy: `remove` takes it out
                cache = None if conditional else re.findall(r"'(\w+)'", cache)[-1]
            if isinstance(cache, str) and "${{" not in cache:
                tool = cache.strip().lower()
                if tool in SETUP_PYTHON_TOOLS and tool in caches:
                    if conditional:
                        w["cache"] = "${{ " + GATE + f" && '{tool}' || '' " + "}}"
                    else:
                        _drop_with_keys(step, ("cache", "cache-dependency-path"), counts)
        elif name == "astral-sh/setup-uv" and isinstance(w, dict) and "uv" in caches:
            _setup_uv(step, w, conditional, counts)
        elif name in ("actions/cache", "actions/cache/restore", "actions/cache/save"):
            path = w.get("path") if isinstance(w, dict) else None
            if not isinstance(path, str):
                continue
            entries = path_entries(path)
            python = [e for e in entries if e.strip() and tool_of(e, steps) in caches]
            others = [e for e in entries if e.strip() and e not in python]
            if not python:
                continue
            if conditional:
                if others:
                    continue
                gated.append(i)
                cond = step.get("if")
                if cond is None:
                    step["if"] = GATE
                elif isinstance(cond, str) and "steps.pipnexus.outputs.source" not in cond:
                    inner = cond.strip()
                    if inner.startswith("${{") and inner.endswith("}}"):
                        inner = inner[3:-2].strip()
                    step["if"] = f"({inner}) && {GATE}"
            elif not others:
                if counts.get(id(step), 1) == 1:
                    removed.add(i)
            elif path in literal and isinstance(w, dict):
                w["path"] = "\n".join(e for e in entries if e not in python)
    # helper steps (`pip cache dir` into an output) that fed only removed or trimmed caches
    helpers: set[int] = set()
    if not conditional:
        for i, step in enumerate(steps):
            if i in removed or not isinstance(step, dict) or "uses" in step:
                continue
            run, sid = step.get("run"), step.get("id")
            lines = [x for x in str(run).splitlines() if x.strip()]
            if not sid or not lines or not all(any(c in x for c in DIR_COMMANDS) for x in lines):
                continue
            ref = f"steps.{sid}."
            rest = [s for j, s in enumerate(steps) if j not in removed and j != i]
            fed = any(ref in text for j, text in enumerate(original) if j != i)
            if fed and ref not in json.dumps(rest, default=str):
                removed.add(i)
                helpers.add(i)
    # a job keeps at least one step: a (harmless) helper rather than a cache, else the last
    if removed and len(removed) >= len(steps):
        removed.discard(max(helpers) if helpers else max(removed))
    # the pipnexus step
    ref_names = {"pipnexus/pipnexus", action_ref.split("@", 1)[0].lower()}
    has = any(isinstance(s, dict) and (s.get("id") == "pipnexus" or action(s) in ref_names)
              for s in steps)
    setups = [i for i, s in enumerate(steps) if action(s) in
              ("actions/setup-python", "astral-sh/setup-uv", "pdm-project/setup-pdm")]
    install = next((i for i, s in enumerate(steps) if isinstance(s, dict) and "uses" not in s
                    and isinstance(s.get("run"), str) and INSTALLS.search(s["run"])), None)
    at = None
    if not has and (setups or install is not None):
        if conditional:
            at = min(setups + gated + ([install] if install is not None else []))
        else:
            before_install = [i for i in setups if install is None or i < install]
            at = before_install[-1] + 1 if before_install else install
    new: list[Any] = []
    for i, s in enumerate(steps):
        if i == at:
            new.append({**STEP, "uses": action_ref})
        if i not in removed:
            new.append(s)
    if at == len(steps):
        new.append({**STEP, "uses": action_ref})
    steps[:] = new
