"""The one skeleton of the setup-action rules: find the cache input, hand it to the strategy.

setup-python's `cache:` and setup-uv's `enable-cache:` differ only in what their values mean,
which each rule describes with a `SetupInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from pipnexus.migrate import conditional
from pipnexus.migrate.strategy import InputSite
from pipnexus.migrate.tree import StepList, editable_with, get_pair, scalar

if TYPE_CHECKING:
    from pipnexus.migrate.plugin import Context, Item


class SetupInput(NamedTuple):
    rule: str
    action: str  # e.g. "actions/setup-python"
    key: str  # the input that enables the cache
    companions: tuple[str, ...]  # inputs that only matter with it, removed together
    tools: tuple[str, ...]  # the caches it can enable (the rule is off when none is selected)
    tool: Callable[[str], str | None]  # the cache a plain value enables
    gated_tool: Callable[[str], str | None]  # the cache of a gate written by `conditional`
    gate: Callable[[str], str]  # the gate expression for a cache


def fix_inputs(ctx: Context, steps: StepList, spec: SetupInput) -> Iterator[Item]:
    caches = ctx.options.caches
    if not caches.intersection(spec.tools):
        return
    label = spec.action.split("/")[-1]
    for step, with_map in editable_with(ctx.doc, steps, spec.action):
        pair = get_pair(with_map, spec.key)
        value = scalar(pair[2]) if pair else None
        if pair is None or value is None:
            continue
        start = ctx.doc.start(pair[2])
        expression = "${{" in value
        tool = spec.gated_tool(value) if expression else spec.tool(value)
        if expression and tool is None:
            if not conditional.is_gated(value):  # (a gate whose cache is unreadable: quietly)
                yield ctx.warning_at(
                    start, "cache-expression",
                    f"{label} `{spec.key}: {value.strip()}` is an expression: left as is; "
                    "remove it by hand if it enables a Python cache",
                )
            continue
        if tool is None or tool not in caches:
            continue
        site = InputSite(
            spec.rule, step, with_map, pair[2], (spec.key, *spec.companions), label,
            f"`{spec.key}`" if expression else f"`{spec.key}: {value.strip()}`", spec.gate(tool),
            expression, ctx.doc.text.line_of(start) + 1,
        )
        item = ctx.strategy.fix_input(ctx, site)
        if item is not None:
            yield item
