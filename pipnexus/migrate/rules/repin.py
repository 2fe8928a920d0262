"""Re-pin the pipnexus steps already in a workflow to `--action-ref` (only when it is given).

A step is a pipnexus step when its `uses:` names `pipnexus/pipnexus` (or the action of
`--action-ref`, e.g. a fork) or its `id:` is `pipnexus`. Only its `uses:` value changes, in its
own quotes. The comment after it on the same line follows the ref:

- `--action-ref "pipnexus/pipnexus@<sha> # v1.0.0"` writes `# v1.0.0` after the ref, replacing
  the comment that was there (the convention of pinning to a SHA with the version in a comment);
- a ref without a comment removes a version comment (`# v1.2.3`) that would now be stale and
  keeps any other comment.

A flow step (`- {uses: ...}`) gets the new ref but no comment: the comment would follow the `}`.

It re-pins the steps of every job, those on GitHub-hosted runners too: a pipnexus step already
there was put there on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ruamel.yaml.nodes import ScalarNode

from pipnexus.migrate.model import Change, DataOp, Edit
from pipnexus.migrate.plugin import Context, Item, register_document
from pipnexus.migrate.text import yaml_scalar
from pipnexus.migrate.tree import Step, get_pair, is_flow
from pipnexus.migrate.workflow import is_pipnexus_step

RULE = "repin"
_VERSION_COMMENT = re.compile(r"^#\s*v?\d+(?:\.\d+)*\S*$")


@register_document(RULE)
def fix(ctx: Context) -> Iterator[Item]:
    if not ctx.options.repin:
        return
    for step in (s for steps in ctx.every or ctx.lists for s in steps.steps):
        pair = get_pair(step.node, "uses")
        if step.alias or pair is None or not isinstance(pair[2], ScalarNode):
            continue
        if is_pipnexus_step(step, ctx.options.action_ref):
            change = _repin(ctx, step, pair[2])
            if change is not None:
                yield change


def _repin(ctx: Context, step: Step, node: ScalarNode) -> Change | None:
    text, ref, comment = ctx.doc.text, ctx.options.action_ref, ctx.options.action_comment
    start, end = ctx.doc.start(node), ctx.doc.end(node)
    raw = text.text[start:end]
    quote = raw[0] if raw[:1] in ("'", '"') else ""
    value = quote + ref + quote if quote else yaml_scalar(ref, flow=is_flow(step.node))
    line = text.line_of(start)
    last = text.line_of(end)  # a block scalar (`uses: >-`) ends on a later line
    rest_end = text.starts[last] + len(text.content(last))
    rest = text.text[end:rest_end]
    old = rest.strip()
    if old and not old.startswith("#"):
        # more of a flow mapping follows: the line's comment is not the ref's
        rest_end, old, comment = end, "", ""
    new = f"# {comment}" if comment else old
    if not comment and node.value.strip() != ref and _VERSION_COMMENT.match(old):
        new = ""  # a version comment of the old ref
    if raw == value and new == old:
        return None
    if new == old:
        edit = Edit(start, end, value)
    else:
        gap = rest[: len(rest) - len(rest.lstrip())] if old else " "  # keep the alignment
        edit = Edit(start, rest_end, value + (gap + new if new else ""))
    message = f"re-pinned `{node.value.strip()}` to `{ref}`"
    return Change(RULE, line + 1, message, (edit,), (DataOp("set", (*step.path, "uses"), ref),))
