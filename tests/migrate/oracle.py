"""An independent data-level model of `pipnexus migrate`, for the PyYAML oracle.

It works on what PyYAML loads (plain dicts and lists), never on text, and says what the migrated
workflow's *data* must be. It shares no code with pipnexus.migrate; the one thing data cannot
tell — whether a `path:` was written as a `|` block — comes from PyYAML's own composer.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import yaml

from pipnexus.migrate.model import DEFAULT_ACTION_REF  # a constant, not logic
from tests.migrate.oracle_runners import runner_kind

# libyaml's safe loader where PyYAML has it: the same YAML 1.1 parser and resolver as the
# pure-Python one, several times faster (PyYAML's parse was half of the corpus and shape tests)
PYYAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STEP = {"name": "Use the in-cluster PyPI proxy", "id": "pipnexus"}
GATE = "steps.pipnexus.outputs.source != 'nexus'"
# the gate of `--strategy hook`: the job-started hook's marker, read from the env context
HOOK_GATE = "env.PIPNEXUS_HOOK_SOURCE != 'nexus'"
SOURCES = ("steps.pipnexus.outputs.source", "env.PIPNEXUS_HOOK_SOURCE")


def is_gate(text: str) -> bool:
    """A value that is already a gate, of either form."""
    return any(source in text for source in SOURCES)
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

    walk(yaml.compose(text.lstrip("\ufeff"), Loader=PYYAML_LOADER), set())
    return out


DIR_COMMANDS = {"pip cache dir": "pip", "poetry config cache-dir": "poetry", "uv cache dir": "uv"}
HOME_DIRS = {"pip": "~/.cache/pip", "poetry": "~/.cache/pypoetry", "uv": "~/.cache/uv"}


def _names_output(line: str, output: str) -> bool:
    """`echo "dir=$(...)"`, `printf 'dir=%s\\n' "$(...)"`, `::set-output name=dir::`"""
    if f"{output}=$(" in line or f"name={output}::" in line:
        return True
    return bool(re.search(rf"(echo|printf)( +-[a-zA-Z]+)* +[\"']?{re.escape(output)}=", line))


def _dir_of(steps: list[Any], step_id: str, output: str) -> str | None:
    for s in steps:
        if isinstance(s, dict) and s.get("id") == step_id and isinstance(s.get("run"), str):
            for line in s["run"].splitlines():
                writes = "GITHUB_OUTPUT" in line or "set-output" in line
                if writes and _names_output(line, output):
                    for command, tool in DIR_COMMANDS.items():
                        if command in line:
                            return tool
    return None


def _below(tool: str | None, sub: str | None) -> str | None:
    """A path `sub` (`/artifacts`) under the cache directory of `tool`."""
    if not sub or tool not in HOME_DIRS:
        return tool
    return tool_of(HOME_DIRS[tool] + sub, [])


def tool_of(entry: str, steps: list[Any]) -> str | None:
    e = entry.strip()
    m = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}(/.*)?", e)
    if m:
        return _below(_dir_of(steps, m.group(1), m.group(2)), m.group(3))
    m = re.fullmatch(r"\$\{\{\s*env\.UV_CACHE_DIR\s*\}\}(/.*)?", e, re.I)
    if m:
        return _below("uv", m.group(1))
    if "${{" in e:
        quoted = [q for q in re.findall(r"'([^']*)'", e)
                  if q.lower() not in ("linux", "macos", "windows", "")]
        tools = {tool_of(q, steps) for q in quoted}
        return tools.pop() if len(tools) == 1 else None
    p = e.replace("\\", "/").rstrip("/").lower()
    p = re.sub(r"^(\$home|\$\{home\})", "~", p)
    if "/virtualenvs" in p:
        return None  # poetry's environments, under its cache directory
    return next((t for d, t in CACHE_DIRS.items() if p == d or p.startswith(d + "/")), None)


def path_entries(value: str) -> list[str]:
    entries: list[str] = []
    for line in value.split("\n"):
        if entries and entries[-1].count("${{") > entries[-1].count("}}"):
            entries[-1] += "\n" + line
        else:
            entries.append(line)
    return entries


def expected(data: Any, text: str, caches: set[str], strategy: str = "remove",
             action_ref: str = DEFAULT_ACTION_REF, repin: bool = False,
             all_jobs: bool = False, runners: set[str] | None = None,
             step_inputs: dict[str, str] | None = None) -> Any:
    """`data` (loaded from `text`) as the migration must leave it. Mutates and returns data.

    With `repin` (--action-ref given), the pipnexus steps already there use `action_ref`.
    Without `all_jobs`, jobs on GitHub-hosted runners (or, with `runners`, on runners it does
    not name) are left alone, and jobs on unknown runners and composite actions get the
    conditional form (gated on the hook's marker, and no step, with `hook`).
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
    lists: list[tuple[list[Any], str]] = []
    if isinstance(data.get("jobs"), dict):
        for job in data["jobs"].values():
            if isinstance(job, dict) and "uses" not in job and isinstance(job.get("steps"), list):
                lists.append((job["steps"], "self" if all_jobs else runner_kind(job, runners)))
    runs = data.get("runs")
    composite = isinstance(runs, dict) and str(runs.get("using")).lower() == "composite"
    if composite and isinstance(runs.get("steps"), list):
        lists.append((runs["steps"], "self" if all_jobs else "unknown"))
    # what a job left alone reaches (through aliases too) is not edited for another job
    frozen: set[int] = set()

    def freeze(x: Any) -> None:
        if id(x) not in frozen and isinstance(x, (dict, list)):
            frozen.add(id(x))
            for v in x.values() if isinstance(x, dict) else x:
                freeze(v)

    for steps, kind in lists:
        if kind not in ("self", "unknown"):
            for step in steps:
                freeze(step)
    # a step (or a `with:`) reused through an alias is edited where it is written first, with
    # that list's strategy
    owners: dict[int, int] = {}
    for index, (steps, _kind) in enumerate(lists):
        for step in steps:
            owners.setdefault(id(step), index)
            if isinstance(step, dict) and isinstance(step.get("with"), dict):
                owners.setdefault(id(step["with"]), index)
    done: set[int] = set()
    for index, (steps, kind) in enumerate(lists):
        if id(steps) not in done:
            done.add(id(steps))
            if repin:
                _repin(steps, action_ref)
            if kind in ("self", "unknown"):
                unknown = "hook-conditional" if strategy == "hook" else "conditional"
                chosen = strategy if kind == "self" else unknown
                mine = {i for i, step in enumerate(steps) if owners.get(id(step)) == index}
                shared = {id(step["with"]) for step in steps if isinstance(step, dict)
                          and isinstance(step.get("with"), dict)
                          and owners.get(id(step["with"])) != index}
                _steps(steps, caches, chosen, action_ref, literal, counts, step_inputs or {},
                       frozen, mine, shared)
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
              counts: dict[int, int], gate: str) -> None:
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
        if is_gate(str(v)):
            return "gated"
        return "expression" if "${{" in text else "on" if text == "true" else text

    enable, python = state("enable-cache"), state("cache-python")
    if conditional:
        for key, s in (("enable-cache", enable), ("cache-python", python)):
            if s == "on":
                w[key] = "${{ " + gate + " }}"
        return
    drop = [k for k, s in (("enable-cache", enable), ("cache-python", python))
            if s in ("on", "gated")]
    if enable in ("on", "gated", "absent", "false", "auto"):
        drop += [k for k in UV_CACHE_ONLY if k in w and not (
            k == "cache-python" and python == "expression")]
    if drop:
        _drop_with_keys(step, tuple(dict.fromkeys(drop)), counts)


def _read(steps: list[Any], i: int) -> bool:
    """Another step reads `steps.<id>.` of step i."""
    sid = steps[i].get("id") if isinstance(steps[i], dict) else None
    if not isinstance(sid, str) or not sid:
        return False
    rx = re.compile(rf"\bsteps\.{re.escape(sid)}\.")
    return any(rx.search(json.dumps(o, default=str)) for j, o in enumerate(steps) if j != i)


QUIET = {"actions/checkout", "actions/cache", "actions/cache/restore", "actions/cache/save",
         "actions/upload-artifact", "actions/download-artifact", "actions/setup-node",
         "actions/setup-go", "actions/setup-java", "actions/setup-dotnet"}
SETUPS = ("actions/setup-python", "astral-sh/setup-uv", "pdm-project/setup-pdm")


def _steps(steps: list[Any], caches: set[str], strategy: str, action_ref: str,
           literal: set[str], counts: dict[int, int], step_inputs: dict[str, str],
           frozen: set[int], mine: set[int], shared: set[int]) -> None:
    # hook: remove, but no step and hook gates; hook-conditional: its unknown-runner form
    conditional = strategy in ("conditional", "hook-conditional")
    gate = HOOK_GATE if strategy in ("hook", "hook-conditional") else GATE
    insert = strategy in ("remove", "conditional")
    original = [json.dumps(s, default=str) for s in steps]
    snapshot = copy.deepcopy(steps) if conditional else None
    undo: list[tuple[dict[str, Any], Any]] = []
    removed: set[int] = set()
    gated: list[int] = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or id(step) in frozen or i not in mine:
            continue
        w = step.get("with")
        name = action(step)
        # its inputs stay; an actions/cache step may still be gated (the `if:` goes outside)
        w_frozen = isinstance(w, dict) and id(w) in frozen
        w_shared = w_frozen or id(w) in shared
        if name == "actions/setup-python" and isinstance(w, dict) and not w_shared:
            cache = w.get("cache")
            if isinstance(cache, str) and is_gate(cache):
                # written by the conditional strategy: `remove` takes it out
                cache = None if conditional else re.findall(r"'(\w+)'", cache)[-1]
            off = cache is None or (isinstance(cache, str) and not cache.strip())
            if off and not conditional and "cache-dependency-path" in w \
                    and caches & SETUP_PYTHON_TOOLS:
                # setup-python reads it only when `cache` is set
                _drop_with_keys(step, ("cache-dependency-path",), counts)
            elif isinstance(cache, str) and "${{" not in cache:
                tool = cache.strip().lower()
                if tool in SETUP_PYTHON_TOOLS and tool in caches:
                    if conditional:
                        w["cache"] = "${{ " + gate + f" && '{tool}' || '' " + "}}"
                    else:
                        _drop_with_keys(step, ("cache", "cache-dependency-path"), counts)

        elif name == "astral-sh/setup-uv" and isinstance(w, dict) and "uv" in caches \
                and not w_shared:
            _setup_uv(step, w, conditional, counts, gate)
        elif name in ("actions/cache", "actions/cache/restore", "actions/cache/save"):
            path = w.get("path") if isinstance(w, dict) else None
            if not isinstance(path, str):
                continue
            entries = path_entries(path)
            python = [e for e in entries if e.strip() and tool_of(e, steps) in caches]
            others = [e for e in entries if e.strip() and e not in python]
            if not python:
                continue
            # `remove` keeps (gated) a cache step whose outputs another step reads
            if conditional or (not others and _read(steps, i)):
                if others:
                    continue
                gated.append(i)
                undo.append((step, step.get("if")))
                cond = step.get("if")
                if cond is None:
                    step["if"] = gate
                elif isinstance(cond, str) and not is_gate(cond):
                    inner = cond.strip()
                    if inner.startswith("${{") and inner.endswith("}}"):
                        inner = inner[3:-2].strip()
                    step["if"] = f"({inner}) && {gate}"
            elif w_frozen:
                continue
            elif not others:
                if counts.get(id(step), 1) == 1:
                    removed.add(i)
            elif path in literal and isinstance(w, dict):
                w["path"] = "\n".join(e for e in entries if e not in python)
    # the step goes before every gated-looking cache step, aliases of other lists' included
    gated = []
    for i, step in enumerate(steps):
        if not conditional and not _read(steps, i):
            continue
        w = step.get("with") if isinstance(step, dict) else None
        path = w.get("path") if isinstance(w, dict) else None
        if action(step) in ("actions/cache", "actions/cache/restore", "actions/cache/save") \
                and isinstance(path, str):
            entries = [e for e in path_entries(path) if e.strip()]
            python = [e for e in entries if tool_of(e, steps) in caches]
            if python and len(python) == len(entries):
                gated.append(i)
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

    def ours(s: Any) -> bool:
        return isinstance(s, dict) and (s.get("id") == "pipnexus" or action(s) in ref_names)

    def other_action(s: Any) -> bool:  # an action that may install packages itself
        uses = s.get("uses") if isinstance(s, dict) else None
        return (isinstance(uses, str) and bool(uses.strip()) and action(s) not in SETUPS
                and action(s) not in QUIET and not ours(s))

    has = any(ours(s) for s in steps)
    setups = [i for i, s in enumerate(steps) if action(s) in SETUPS]
    install = next((i for i, s in enumerate(steps) if isinstance(s, dict) and "uses" not in s
                    and isinstance(s.get("run"), str) and INSTALLS.search(s["run"])), None)
    limit = None
    if setups or install is not None:
        after = setups[0] if setups else -1
        found = [i for i, s in enumerate(steps) if i > after and other_action(s)]
        found += [install] if install is not None else []
        limit = min(found) if found else None
    at = None
    if not has and insert:
        if conditional:
            points = setups + gated + ([limit] if limit is not None else [])
            at = min(points) if points else None
        elif setups or install is not None or gated:
            before = [i for i in setups if limit is None or i < limit]
            at = before[-1] + 1 if before else limit
            if gated and (at is None or min(gated) < at):
                at = min(gated)
    step_gates = gate == GATE  # a hook gate reads no step: it stays without one
    if at is None and step_gates and not any(
            isinstance(s, dict) and s.get("id") == "pipnexus" for s in steps):
        if conditional:
            assert snapshot is not None
            steps[:] = snapshot  # no step for a gate to read: nothing is gated
            return
        for step, cond in undo:  # the same with `remove`, for the steps it kept gated
            if cond is None:
                step.pop("if", None)
            else:
                step["if"] = cond
    step = {**STEP, "uses": action_ref, **({"with": dict(step_inputs)} if step_inputs else {})}
    new: list[Any] = []
    for i, s in enumerate(steps):
        if i == at:
            new.append(step)
        if i not in removed:
            new.append(s)
    if at == len(steps):
        new.append(step)
    steps[:] = new
