"""The one skeleton of the setup-action rules: find the cache inputs, hand them to the strategy.

setup-python's `cache:` and setup-uv's `enable-cache:` / `cache-python:` differ only in what
their values mean, which each rule describes with a `SetupInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from ruamel.yaml.nodes import MappingNode

from pipnexus.migrate import conditional
from pipnexus.migrate.conditional import Gate
from pipnexus.migrate.context import InputSite, StepInputs
from pipnexus.migrate.tree import Step, StepList, editable_with, get_pair, key_str, scalar

if TYPE_CHECKING:
    from pipnexus.diagnostics import Diagnostic
    from pipnexus.migrate.context import Context, Item


def _never(_value: str | None) -> bool:
    return False


class SetupInput(NamedTuple):
    rule: str
    action: str  # e.g. "actions/setup-python"
    key: str  # the input that enables the cache
    companions: tuple[str, ...]  # inputs that only matter with it, removed together
    tools: tuple[str, ...]  # the caches it can enable (the rule is off when none is selected)
    tool: Callable[[str], str | None]  # the cache a plain value enables
    gated_tool: Callable[[str], str | None]  # the cache of a gate (conditional.is_gated)
    gate: Callable[[str, Gate], str]  # the gated value for a cache
    # other inputs whose values turn on a GitHub cache the same way (setup-uv `cache-python`)
    also: tuple[str, ...] = ()
    # inputs that do nothing while the cache `key` enables is off (setup-uv `cache-suffix`)
    unused: tuple[str, ...] = ()
    # whether a value of `key` (None: the key is absent) leaves that cache off
    off: Callable[[str | None], bool] = _never


# what one input of a step turned out to be
ABSENT, SITE, UNKNOWN, OTHER = "absent", "site", "unknown", "other"


def _classify(
    ctx: Context, step: Step, with_map: MappingNode, spec: SetupInput, key: str, label: str
) -> tuple[str, InputSite | Diagnostic | None]:
    pair = get_pair(with_map, key)
    if pair is None:
        return ABSENT, None
    value = scalar(pair[2])
    if value is None:
        return UNKNOWN, None
    start = ctx.doc.start(pair[2])
    expression = "${{" in value
    tool = spec.gated_tool(value) if expression else spec.tool(value)
    if expression and tool is None:
        if conditional.is_gated(value):  # (a gate whose cache is unreadable: quietly)
            return UNKNOWN, None
        return UNKNOWN, ctx.warning_at(
            start, "cache-expression",
            f"{label} `{key}: {value.strip()}` is an expression: left as is; "
            "remove it by hand if it enables a Python cache",
        )
    if tool is None:
        return OTHER, None
    if tool not in ctx.options.caches:
        return UNKNOWN, None  # a cache that stays on
    keys = (key, *spec.companions) if key == spec.key else (key,)
    return SITE, InputSite(
        spec.rule, step, with_map, pair[2], keys, label,
        f"`{key}`" if expression else f"`{key}: {value.strip()}`",
        spec.gate(tool, ctx.strategy.gate), expression, ctx.doc.text.line_of(start) + 1,
    )


def fix_inputs(ctx: Context, steps: StepList, spec: SetupInput) -> Iterator[Item]:
    if not ctx.options.caches.intersection(spec.tools):
        return
    label = spec.action.split("/")[-1]
    for step, with_map in editable_with(ctx.doc, steps, spec.action):
        sites: list[InputSite] = []
        cache_off = False  # the cache `key` enables is off once the sites are gone
        for key in (spec.key, *spec.also):
            state, item = _classify(ctx, step, with_map, spec, key, label)
            if isinstance(item, InputSite):
                sites.append(item)
            elif item is not None:
                yield item
            if key == spec.key:
                pair = get_pair(with_map, key)
                value = scalar(pair[2]) if pair else None
                cache_off = state == SITE or (state in (ABSENT, OTHER) and spec.off(value))
        unused: tuple[str, ...] = ()
        if cache_off:
            present = {key_str(k) for k, _v in with_map.value}
            # an input of `also` that is an expression is reported, never edited
            unused = tuple(k for k in spec.unused
                           if k in present and (k not in spec.also or _plain(with_map, k)))
        if not sites and not unused:
            continue
        keys = [pair[1] for pair in (get_pair(with_map, k) for k in unused) if pair]
        line = min((ctx.doc.text.line_of(ctx.doc.start(k)) + 1 for k in keys), default=0)
        yield from ctx.strategy.fix_inputs(
            ctx, StepInputs(spec.rule, step, label, tuple(sites), unused, line)
        )


def _plain(with_map: MappingNode, key: str) -> bool:
    """The input's value is a plain scalar, not an expression nor a collection."""
    pair = get_pair(with_map, key)
    value = scalar(pair[2]) if pair else None
    return value is not None and "${{" not in value
