"""Insert the pipnexus step once in every job (or composite action) that installs packages.

The strategy chooses the place: with `remove`, right after the last setup-python/setup-uv/
setup-pdm step that comes before the first step that may install (an install command, or an
action that may run one itself, workflow.first_possible_install), else before that step; with
`conditional`, before the first of those steps and of the gated actions/cache steps, so the
gates can read its output; with `hook`, nowhere (the runner hook does the step's work).
`--nexus-url`/`--repository`/`--index-url` become its `with:`.
"""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode

from pipnexus.migrate.model import STEP_ID, STEP_NAME, Change, DataOp, Options
from pipnexus.migrate.plugin import Context, Item, register
from pipnexus.migrate.spans import comments_above, extend_comments_below, item_lines
from pipnexus.migrate.text import yaml_scalar
from pipnexus.migrate.tree import Doc, StepList
from pipnexus.migrate.workflow import is_pipnexus_step

RULE = "insert-step"


def _style(doc: Doc, steps: StepList, near: int) -> tuple[int, int, bool, bool] | None:
    """(dash column, key column, flow?, padded flow?) copied from the nearest sibling step."""
    seq = steps.seq
    order = sorted(range(len(seq.value)), key=lambda i: abs(i - near))
    fallback = None
    for i in order:
        dash = doc.dash_col(seq, i)
        if dash is None:
            continue
        node = seq.value[i]
        if doc.item_alias(seq, i) or not isinstance(node, MappingNode) or not node.value:
            fallback = fallback or (dash, dash + 2, False, False)
            continue
        if node.flow_style:
            start = int(node.start_mark.index)
            padded = doc.text.text.startswith("{ ", start)
            fallback = fallback or (dash, dash + 2, True, padded)
            continue
        return dash, doc.text.col_of(doc.start(node.value[0][0])), False, False
    return fallback


def _flow_value(value: str) -> str:
    """A value inside `{...}`: double-quoted when it has a `:` (a URL), which some YAML 1.1
    parsers read as a mapping indicator in flow context."""
    if ":" in value:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return yaml_scalar(value, flow=True)


def step_lines(options: Options, dash: int, col: int, flow: bool, padded: bool) -> list[str]:
    inputs = options.step_inputs
    if flow:  # a comment cannot go inside the braces: it follows them
        inner = f"name: {STEP_NAME}, id: {STEP_ID}, uses: {options.action_ref}"
        if inputs:
            inner += ", with: {" + ", ".join(f"{k}: {_flow_value(v)}" for k, v in inputs) + "}"
        body = "{ " + inner + " }" if padded else "{" + inner + "}"
        comment = options.uses[len(options.action_ref) :]
        return [" " * dash + "- " + body + comment]
    gap = max(col - dash - 1, 1)
    lines = [
        " " * dash + "-" + " " * gap + f"name: {STEP_NAME}",
        " " * col + f"id: {STEP_ID}",
        " " * col + f"uses: {options.uses}",
    ]
    if inputs:
        lines.append(" " * col + "with:")
        lines += [" " * (col + 2) + f"{k}: {yaml_scalar(v)}" for k, v in inputs]
    return lines


@register(RULE, ("unsupported-shape",))
def fix(ctx: Context, steps: StepList) -> Iterator[Item]:
    doc, options = ctx.doc, ctx.options
    if not steps.steps or any(is_pipnexus_step(s, options.action_ref) for s in steps.steps):
        return
    pos = ctx.strategy.insert_position(steps, options.caches, options.action_ref)
    if pos is None:
        return
    index, after = pos
    style = _style(doc, steps, index)
    found = item_lines(doc, steps.seq, index)
    if style is None or found is None:
        line = doc.text.line_of(doc.item_start(steps.seq, index)) + 1
        yield ctx.warning(line, 1, "unsupported-shape",
                          "steps layout not supported: step not inserted")
        return
    dash, col, flow, padded = style
    lines = step_lines(options, dash, col, flow, padded)
    text = doc.text
    item_col, first, last = found
    if after:
        last = extend_comments_below(doc, last, item_col)
        at = last + 1
        if text.is_blank(at):
            lines = ["", *lines]
        data_index = index + 1
    else:
        above = comments_above(doc, first, item_col)
        at = above[0] if above else first
        if at > 0 and text.is_blank(at - 1):
            lines = [*lines, ""]
        data_index = index
    edit = text.insert_lines(at, lines)
    value: dict[str, object] = {"name": STEP_NAME, "id": STEP_ID, "uses": options.action_ref}
    if options.step_inputs:
        value["with"] = dict(options.step_inputs)
    where = "job" if steps.kind == "job" else "composite action"
    label = f"`{steps.name}`" if steps.kind == "job" else ""
    yield Change(
        RULE, at + 1, f"inserted the pipnexus step in {where} {label}".rstrip(), (edit,),
        (DataOp("insert", (*steps.path, data_index), value),),
    )
