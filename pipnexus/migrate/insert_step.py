"""Rule 4: insert the pipnexus step once in every job (or composite action) that installs packages.

Placement: right after the last setup-python/setup-uv/setup-pdm step that comes before the first
install command, else before the first install command. With `--strategy conditional` it goes
before the first of those steps and of the gated actions/cache steps, so the gates can read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode

from pipnexus.migrate import cache_step
from pipnexus.migrate.model import STEP_ID, STEP_NAME, Change, DataOp, Finding, Options
from pipnexus.migrate.spans import comments_above, extend_comments_below, item_lines
from pipnexus.migrate.tree import Doc, Step, StepList, action_name, get, scalar

RULE = "insert-step"
SETUP_ACTIONS = ("actions/setup-python", "astral-sh/setup-uv", "pdm-project/setup-pdm")
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


def has_pipnexus(steps: StepList, options: Options) -> bool:
    ref_name = action_name(options.action_ref) or options.action_ref.lower()
    return any(
        scalar(get(s.node, "id")) == STEP_ID or (s.uses and s.uses == ref_name)
        for s in steps.steps
    )


def installs(step: Step) -> bool:
    return bool(step.run) and not step.uses and bool(INSTALL.search(step.run))


def _position(steps: StepList, options: Options) -> tuple[int, bool] | None:
    """(step index, after?) where the pipnexus step goes, or None when the job installs nothing."""
    first_install = next((s.position for s in steps.steps if installs(s)), None)
    setups = [s.position for s in steps.steps if s.uses in SETUP_ACTIONS]
    if options.strategy == "conditional":
        gated = [
            c.step.position
            for c in cache_step.python_cache_steps(steps, options)
            if all(e.tool in options.caches for e in c.entries)
        ]
        candidates = setups + gated + ([first_install] if first_install is not None else [])
        if not (setups or first_install is not None):
            return None
        return min(candidates), False
    before = [i for i in setups if first_install is None or i < first_install]
    if before:
        return before[-1], True
    if first_install is not None:
        return first_install, False
    return None


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


def step_lines(ref: str, dash: int, col: int, flow: bool, padded: bool) -> list[str]:
    if flow:
        inner = f"name: {STEP_NAME}, id: {STEP_ID}, uses: {ref}"
        body = "{ " + inner + " }" if padded else "{" + inner + "}"
        return [" " * dash + "- " + body]
    gap = max(col - dash - 1, 1)
    return [
        " " * dash + "-" + " " * gap + f"name: {STEP_NAME}",
        " " * col + f"id: {STEP_ID}",
        " " * col + f"uses: {ref}",
    ]


def fix(doc: Doc, steps: StepList, options: Options) -> Iterator[Change | Finding]:
    if not steps.steps or has_pipnexus(steps, options):
        return
    pos = _position(steps, options)
    if pos is None:
        return
    index, after = pos
    style = _style(doc, steps, index)
    found = item_lines(doc, steps.seq, index)
    if style is None or found is None:
        line = doc.text.line_of(doc.item_start(steps.seq, index)) + 1
        yield Finding(line, 1, "unsupported-shape", "steps layout not supported: step not inserted")
        return
    dash, col, flow, padded = style
    lines = step_lines(options.action_ref, dash, col, flow, padded)
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
    value = {"name": STEP_NAME, "id": STEP_ID, "uses": options.action_ref}
    where = "job" if steps.kind == "job" else "composite action"
    label = f"`{steps.name}`" if steps.kind == "job" else ""
    yield Change(
        RULE, at + 1, f"inserted the pipnexus step in {where} {label}".rstrip(), (edit,),
        (DataOp("insert", (*steps.path, data_index), value),),
    )
