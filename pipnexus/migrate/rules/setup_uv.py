"""astral-sh/setup-uv: drop `enable-cache: true` and `cache-dependency-glob:`.

The key is deleted, not set to false: setup-uv's default (`auto`) is off on self-hosted runners,
where the cache download crosses the NAT gateway, and on for GitHub-hosted ones.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipnexus.migrate import conditional
from pipnexus.migrate.plugin import Context, Item, register
from pipnexus.migrate.setup_input import SetupInput, fix_inputs
from pipnexus.migrate.tree import StepList

SPEC = SetupInput(
    rule="setup-uv-cache",
    action="astral-sh/setup-uv",
    key="enable-cache",
    companions=("cache-dependency-glob",),
    tools=("uv",),
    tool=lambda value: "uv" if value.strip().lower() == "true" else None,
    gated_tool=lambda value: "uv" if conditional.is_gated(value) else None,
    gate=lambda _tool: conditional.enable_cache_expression(),
)


@register(SPEC.rule, ("cache-expression", "unsupported-shape"))
def fix(ctx: Context, steps: StepList) -> Iterator[Item]:
    yield from fix_inputs(ctx, steps, SPEC)
