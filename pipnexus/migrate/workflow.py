"""What a step means for Python packaging: install commands, setup actions, cache paths.

Shared by the rules and the strategies (no rule module imports another). Virtual environments
(`.venv`, `~/.local/share/virtualenvs`, `${{ env.pythonLocation }}`) are not package caches:
they are classified as VENV so the rules can keep and report them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pipnexus import ACTION_REPOSITORY
from pipnexus.migrate.model import STEP_ID
from pipnexus.migrate.tree import Step, StepList, action_name, get, scalar

CACHE_ACTIONS = ("actions/cache", "actions/cache/restore", "actions/cache/save")
SETUP_ACTIONS = ("actions/setup-python", "astral-sh/setup-uv", "pdm-project/setup-pdm")
# actions that install no Python package; any other action may (it may run pip or poetry
# itself, as networktocode/gh-action-setup-poetry-environment runs `poetry install`)
QUIET_ACTIONS = (
    "actions/checkout", *CACHE_ACTIONS, "actions/upload-artifact", "actions/download-artifact",
    "actions/setup-node", "actions/setup-go", "actions/setup-java", "actions/setup-dotnet",
)
VENV = "venv"
INSTALL = re.compile(
    r"""(?x)
    \bpip[\d.]*\s+(?:install|download|wheel)\b
    | -m\s+pip\s+(?:install|download|wheel)\b
    | \buv\s+(?:pip|sync|add|lock|run|build|export|tool\s+(?:install|run))\b
    | \buvx\b
    | \bpipenv\s+(?:install|sync|run|lock)\b
    | \bpdm\s+(?:install|sync|add|lock|run)\b
    | \bpoetry\s+(?:install|add|update|lock|sync|run|build)\b
    | \b(?:tox|nox|hatch)\b
    | \bpipx\s+(?:install|run)\b
    | \bpip-sync\b
    """
)

_CACHE_DIRS = {
    "pip": ("~/.cache/pip", "~/library/caches/pip", "~/appdata/local/pip/cache"),
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
    # printf 'cache-dir=%s\n' "$(poetry config cache-dir)" (python-poetry/poetry-core), and
    # echo/printf forms whose value is not right after the `=`
    re.compile(r"""\b(?:echo|printf)(?:\s+-[A-Za-z]+)*\s+["']?([\w-]+)="""),
)
_WRITES_OUTPUT = re.compile(r"GITHUB_OUTPUT|::set-output")


def is_pipnexus_step(step: Step, action_ref: str) -> bool:
    """`id: pipnexus`, or a `uses:` of the action (pipnexus/pipnexus or the action of
    `action_ref`, such as a fork; any ref)."""
    names = {ACTION_REPOSITORY, action_name(action_ref)} - {""}
    return scalar(get(step.node, "id")) == STEP_ID or step.uses in names


def installs(step: Step) -> bool:
    """Whether the step is a script that installs Python packages."""
    return bool(step.run) and not step.uses and bool(INSTALL.search(step.run))


def _scalars(node: Node, seen: set[int]) -> Iterator[str]:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, ScalarNode):
        yield str(node.value)
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            yield from _scalars(key, seen)
            yield from _scalars(value, seen)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _scalars(item, seen)


def read_by_another_step(steps: StepList, step: Step) -> bool:
    """Whether another step of the list reads `steps.<id>.` of this one (its `if:`, `run:`,
    `with:`, `env:`): removing the step would leave that a reference to no step, which GitHub
    reads as '' but actionlint reports (`property "<id>" is not defined`)."""
    step_id = scalar(get(step.node, "id"))
    if not step_id:
        return False
    rx = re.compile(rf"\bsteps\.{re.escape(step_id)}\.")
    return any(
        rx.search(text)
        for other in steps.steps if other.position != step.position
        for text in _scalars(other.node, set())
    )


def other_action(step: Step, action_ref: str) -> bool:
    """Whether the step uses an action that may install Python packages: any action but the
    setup actions, the pipnexus step and QUIET_ACTIONS (a local `./` or `docker://` one too)."""
    uses = scalar(get(step.node, "uses"))
    if not uses or not uses.strip():
        return False
    if step.uses in SETUP_ACTIONS or step.uses in QUIET_ACTIONS:
        return False
    return not is_pipnexus_step(step, action_ref)


def first_possible_install(steps: StepList, action_ref: str) -> int | None:
    """Where the pipnexus step must come before: the first install command, or an action that
    may install (after the first setup step, or anywhere before the first install command when
    there is no setup step). None when the list shows no sign of Python at all."""
    setups = [s.position for s in steps.steps if s.uses in SETUP_ACTIONS]
    first = next((s.position for s in steps.steps if installs(s)), None)
    if not setups and first is None:
        return None
    after = setups[0] if setups else -1
    actions = [s.position for s in steps.steps
               if s.position > after and other_action(s, action_ref)]
    found = [p for p in (first, *actions) if p is not None]
    return min(found) if found else None


class PathEntry(NamedTuple):
    line: int  # index in value.split("\n")
    text: str
    tool: str | None  # pip/pipenv/poetry/uv, VENV, or None (not Python)


class CacheStep(NamedTuple):
    """An actions/cache step and its `path:` entries, classified."""

    step: Step
    path_node: ScalarNode
    entries: list[PathEntry]

    def python(self, caches: frozenset[str]) -> list[PathEntry]:
        """The entries that are package caches chosen by --caches."""
        return [e for e in self.entries if e.tool in caches]

    def kept(self, caches: frozenset[str]) -> list[PathEntry]:
        return [e for e in self.entries if e.tool not in caches]

    def names(self, caches: frozenset[str]) -> str:
        return ", ".join(e.text.strip() for e in self.python(caches))


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


def _under(tool: str | None, rest: str) -> str | None:
    """The tool of `rest` (empty or `/sub/path`) under the cache directory of `tool`: a
    package cache, or a virtual environment (Poetry keeps them in `<cache-dir>/virtualenvs`)."""
    if not rest or tool is None or tool not in _CACHE_DIRS:
        return tool
    return classify_path(_CACHE_DIRS[tool][0] + rest)


def classify_entry(entry: str, steps: StepList) -> str | None:
    e = entry.strip()
    exprs = _EXPR.findall(e)
    if not exprs:
        return classify_path(e)
    rest = _EXPR.sub("", e).strip()
    # the expression alone, or a path under it (`${{ steps.x.outputs.cache-dir }}/artifacts`)
    under = rest.startswith("/") and e.startswith("${{")
    if len(exprs) == 1 and (not rest or under):
        inner = exprs[0]
        m = _STEP_OUTPUT.match(inner)
        if m:
            for step in steps.steps:
                if scalar(get(step.node, "id")) == m.group(1):
                    return _under(output_tool(step, m.group(2)), rest)
            return None
        m = _ENV.match(inner)
        if m:
            name = m.group(1).lower()
            tool = "uv" if name == "uv_cache_dir" else VENV if name == "pythonlocation" else None
            return _under(tool, rest)
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


def cache_steps(steps: StepList, caches: frozenset[str], venv: bool = False) -> Iterator[CacheStep]:
    """actions/cache steps with a Python package cache path chosen by --caches (or a venv)."""
    for step in steps.steps:
        if step.uses not in CACHE_ACTIONS:
            continue
        path_node = get(get(step.node, "with"), "path")
        if not isinstance(path_node, ScalarNode):
            continue
        es = entries(path_node.value, steps)
        if any(e.tool in caches or (venv and e.tool == VENV) for e in es):
            yield CacheStep(step, path_node, es)
