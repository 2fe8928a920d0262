"""Gates: a cache kept but only used when the job is not on Nexus (`--strategy conditional`,
and the caches `remove` and `hook` keep).

A gate reads where the job's index came from, in one of two places: the pipnexus step's output
(`steps.pipnexus.outputs.source`), or the marker the runner hook wrote to GITHUB_ENV
(`env.PIPNEXUS_HOOK_SOURCE`), which needs no step. Both are recognised as gates everywhere, so
that one strategy can undo (or leave) the gates another wrote.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from pipnexus.hook.markers import SOURCE as HOOK_SOURCE
from pipnexus.migrate.model import STEP_ID, Change, DataOp, Edit, PathKey
from pipnexus.migrate.text import yaml_scalar
from pipnexus.migrate.tree import Doc, Step, get_pair, is_flow, scalar

_WRAPPED = re.compile(r"^\s*\$\{\{(.*)\}\}\s*$", re.S)


class Gate(NamedTuple):
    source: str  # the expression of where the job's index came from: nexus, fallback, none

    @property
    def not_nexus(self) -> str:
        """True unless the job is using Nexus (also when `source` is empty: no step, no hook)."""
        return f"{self.source} != 'nexus'"


# the pipnexus step's output: the gate needs the step (with `id: pipnexus`) in the same job
STEP_GATE = Gate(f"steps.{STEP_ID}.outputs.source")
# the hook's marker: variables a job-started hook writes to GITHUB_ENV are in the `env` context
# of every later step (actions/runner: src/Runner.Worker/JobHookProvider.cs processes the hook's
# file commands, FileCommandManager.cs adds them to Global.EnvironmentVariables, and
# StepsRunner.cs and Handlers/CompositeActionHandler.cs merge those into each step's `env`
# before its `if:` is evaluated); empty on a runner without the hook
HOOK_GATE = Gate(f"env.{HOOK_SOURCE}")
GATES = (STEP_GATE, HOOK_GATE)


def is_gated(value: str) -> bool:
    return any(gate.source in value for gate in GATES)


def gated_tool(value: str) -> str | None:
    """The tool of a gated `cache:` value (so `remove` can undo it), else None."""
    m = re.search(r"&&\s*'(\w+)'\s*\|\|", value)
    return m.group(1).lower() if m and is_gated(value) else None


def cache_expression(tool: str, gate: Gate) -> str:
    """setup-python `cache:` value that caches only when the job is not using Nexus."""
    return "${{ " + gate.not_nexus + f" && '{tool}' || '' " + "}}"


def enable_cache_expression(gate: Gate) -> str:
    return "${{ " + gate.not_nexus + " }}"


def replace_value(
    doc: Doc,
    mapping: Node,
    value: Node,
    new: str,
    path: tuple[PathKey, ...],
    rule: str,
    message: str,
) -> Change:
    """Replace a scalar value in place by `new` (plain when possible)."""
    start, end = doc.start(value), doc.end(value)
    flow = isinstance(mapping, MappingNode) and bool(mapping.flow_style)
    line = doc.text.line_of(start) + 1
    edit = Edit(start, end, yaml_scalar(new, flow=flow))
    return Change(rule, line, message, (edit,), (DataOp("set", path, new),))


def gate_step(doc: Doc, step: Step, rule: str, message: str, gate: Gate) -> Change | None:
    """Add (or combine with) `if: <gate> != 'nexus'` on a step; None when it has a gate."""
    node = step.node
    existing = get_pair(node, "if")
    if existing:
        value = existing[2]
        text = scalar(value)
        if not isinstance(value, ScalarNode) or text is None or is_gated(text):
            return None
        m = _WRAPPED.match(text)
        inner = (m.group(1) if m else text).strip()
        new = f"({inner}) && {gate.not_nexus}"
        return replace_value(doc, node, value, new, (*step.path, "if"), rule, message)
    uses = get_pair(node, "uses")
    if not uses:
        return None
    end = doc.end(uses[2])
    line = doc.text.line_of(end - 1)
    if is_flow(node):
        edit = Edit(end, end, ", if: " + yaml_scalar(gate.not_nexus, flow=True))
    else:
        col = doc.text.col_of(doc.start(node.value[0][0]))
        edit = doc.text.insert_lines(line + 1, [" " * col + "if: " + yaml_scalar(gate.not_nexus)])
    op = DataOp("set", (*step.path, "if"), gate.not_nexus)
    return Change(rule, line + 1, message, (edit,), (op,))
