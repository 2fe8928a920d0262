"""actions/cache (and /restore, /save) of Python package caches.

In four steps: classify the cache steps' paths; report the virtual environments, which are kept
(an installed environment, not a download cache); let the strategy change the steps (`remove`
deletes a step whose every path is a package cache and trims a `|` block of mixed paths;
`conditional` gates the step); then clean up after deleted caches: warn about later reads of a
removed step's `cache-hit`, and remove a step that only fed a removed cache its directory
(`pip cache dir` into an output) when nothing else reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pipnexus.migrate.model import Change, DataOp, Edit
from pipnexus.migrate.plugin import Context, Item, register
from pipnexus.migrate.spans import remove_item
from pipnexus.migrate.tree import Step, StepList, get, scalar
from pipnexus.migrate.workflow import VENV, CacheStep, cache_steps, helper_output

RULE = "actions-cache"
CODES = ("venv-cache-kept", "mixed-cache-kept", "anchor-kept", "unsupported-shape",
         "cache-hit-reference")


@register(RULE, CODES)
def fix(ctx: Context, steps: StepList) -> Iterator[Item]:
    caches = ctx.options.caches
    found = [c for c in cache_steps(steps, caches, venv=True) if not c.step.alias]
    yield from _venvs_kept(ctx, steps, found)
    targets = [c for c in found if c.python(caches)]
    items = list(ctx.strategy.fix_cache_steps(ctx, steps, targets, RULE))
    yield from items
    changes = [c for c in items if isinstance(c, Change)]
    deleted = [e for c in changes for e in c.edits if e.end > e.start and not e.replacement]
    if not deleted:
        return  # no cache went away: nothing to clean up
    removed = [s for s in steps.steps if any(_deletes(c, s) for c in changes)]
    yield from _cache_hit_references(ctx, steps, removed, deleted)
    yield from _remove_helpers(ctx, steps, len(steps.steps) - len(removed), deleted)


def _deletes(change: Change, step: Step) -> bool:
    return DataOp("delete", step.path) in change.ops


def _venvs_kept(ctx: Context, steps: StepList, found: Sequence[CacheStep]) -> Iterator[Item]:
    for cache in found:
        at = ctx.doc.item_start(steps.seq, cache.step.position)
        for entry in cache.entries:
            if entry.tool == VENV:
                yield ctx.warning_at(
                    at, "venv-cache-kept",
                    f"cache of a virtual environment ({entry.text.strip()}) kept: it is an "
                    "installed environment, not a package download cache",
                )


def _refs(ctx: Context, steps: StepList, step_id: str, deleted: Sequence[Edit]) -> list[int]:
    """Offsets of `steps.<id>.` in the job (or action) outside the deleted text."""
    rx = re.compile(rf"\bsteps\.{re.escape(step_id)}\.")
    return [
        m.start()
        for m in rx.finditer(ctx.doc.text.text, steps.owner_start, steps.owner_end)
        if not any(e.start <= m.start() < e.end for e in deleted)
    ]


def _cache_hit_references(
    ctx: Context, steps: StepList, removed: Sequence[Step], deleted: Sequence[Edit]
) -> Iterator[Item]:
    for step in removed:
        step_id = scalar(get(step.node, "id"))
        for at in _refs(ctx, steps, step_id, deleted) if step_id else ():
            yield ctx.warning_at(
                at, "cache-hit-reference",
                f"steps.{step_id} was a removed cache step: its outputs are now empty, so "
                f"`steps.{step_id}.outputs.cache-hit` is '' (false): a condition "
                f"`!= 'true'` is now always true and `== 'true'` always false",
            )


def _feeds_only_deleted(ctx: Context, steps: StepList, step: Step, deleted: Sequence[Edit]) -> bool:
    """The step only writes a cache dir to an output, read only by text that was deleted."""
    if step.alias or helper_output(step) is None:
        return False
    step_id = scalar(get(step.node, "id"))
    if not step_id or not _refs(ctx, steps, step_id, []):
        return False  # it fed nothing we changed
    return not _refs(ctx, steps, step_id, deleted)


def _remove_helpers(
    ctx: Context, steps: StepList, left: int, deleted: Sequence[Edit]
) -> Iterator[Change]:
    for step in steps.steps:
        if left <= 1 or not _feeds_only_deleted(ctx, steps, step, deleted):
            continue
        edit = remove_item(ctx.doc, steps.seq, step.position)
        if edit is None:
            continue
        left -= 1
        line = ctx.doc.text.line_of(ctx.doc.item_start(steps.seq, step.position)) + 1
        step_id = scalar(get(step.node, "id"))
        yield Change(
            RULE, line, f"removed step `{step_id}` that only fed the removed cache",
            (edit,), (DataOp("delete", step.path),),
        )
