"""`--strategy conditional`: keep the caches but only use them when the job is not on Nexus."""

from __future__ import annotations

import re

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from pipnexus.migrate.model import NOT_NEXUS, STEP_ID, Change, DataOp, Edit, PathKey
from pipnexus.migrate.text import yaml_scalar
from pipnexus.migrate.tree import Doc, Step, get_pair, is_flow, scalar

_WRAPPED = re.compile(r"^\s*\$\{\{(.*)\}\}\s*$", re.S)
GATED = f"steps.{STEP_ID}.outputs.source"


def is_gated(value: str) -> bool:
    return GATED in value


def gated_tool(value: str) -> str | None:
    """The tool of a `cache:` value this strategy wrote (so `remove` can undo it), else None."""
    m = re.search(r"&&\s*'(\w+)'\s*\|\|", value)
    return m.group(1).lower() if m and is_gated(value) else None


def cache_expression(tool: str) -> str:
    """setup-python `cache:` value that caches only when the job is not using Nexus."""
    return "${{ " + NOT_NEXUS + f" && '{tool}' || '' " + "}}"


def enable_cache_expression() -> str:
    return "${{ " + NOT_NEXUS + " }}"


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


def gate_step(doc: Doc, step: Step, rule: str, message: str) -> Change | None:
    """Add (or combine with) `if: steps.pipnexus.outputs.source != 'nexus'` on a step."""
    node = step.node
    existing = get_pair(node, "if")
    if existing:
        value = existing[2]
        text = scalar(value)
        if not isinstance(value, ScalarNode) or text is None or is_gated(text):
            return None
        m = _WRAPPED.match(text)
        inner = (m.group(1) if m else text).strip()
        new = f"({inner}) && {NOT_NEXUS}"
        return replace_value(doc, node, value, new, (*step.path, "if"), rule, message)
    uses = get_pair(node, "uses")
    if not uses:
        return None
    end = doc.end(uses[2])
    line = doc.text.line_of(end - 1)
    if is_flow(node):
        edit = Edit(end, end, ", if: " + yaml_scalar(NOT_NEXUS, flow=True))
    else:
        col = doc.text.col_of(doc.start(node.value[0][0]))
        edit = doc.text.insert_lines(line + 1, [" " * col + "if: " + yaml_scalar(NOT_NEXUS)])
    op = DataOp("set", (*step.path, "if"), NOT_NEXUS)
    return Change(rule, line + 1, message, (edit,), (op,))
