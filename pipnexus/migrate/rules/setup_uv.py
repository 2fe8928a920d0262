"""astral-sh/setup-uv: drop `enable-cache: true`, `cache-python: true` and the inputs that only
matter while the GitHub cache is on.

`enable-cache` is deleted, not set to false: setup-uv's default (`auto`) is off on self-hosted
runners, where the cache download crosses the NAT gateway, and on for GitHub-hosted ones
(astral-sh/setup-uv: src/utils/inputs.ts, `getEnableCache`). `cache-python: true` uploads the
uv-managed Pythons to the same cache. Once the cache is off (`enable-cache` absent, `false` or
`auto` after the rewrite) the inputs only the cache reads do nothing, and `remove` takes them out
too: setup-uv reads them only when the cache is on (src/setup-uv.ts calls `restoreCache` and
src/save-cache.ts saves only `if (enableCache)`). `cache-local-path` is not one of them: setup-uv
exports it as UV_CACHE_DIR whether the cache is on or not (src/setup-uv.ts, `setCacheDir`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipnexus.migrate import conditional
from pipnexus.migrate.plugin import Context, Item, register
from pipnexus.migrate.setup_input import SetupInput, fix_inputs
from pipnexus.migrate.tree import StepList

# setup-uv's inputs (action.yml) that are read only while the GitHub cache is on
CACHE_ONLY = (
    "cache-dependency-glob", "restore-cache", "save-cache", "cache-suffix", "prune-cache",
    "cache-python", "ignore-nothing-to-cache",
)


def _off(value: str | None) -> bool:
    """`enable-cache` absent (`auto`), `auto` or `false`: off on self-hosted runners."""
    return value is None or value.strip().lower() in ("false", "auto")


SPEC = SetupInput(
    rule="setup-uv-cache",
    action="astral-sh/setup-uv",
    key="enable-cache",
    companions=("cache-dependency-glob",),
    tools=("uv",),
    tool=lambda value: "uv" if value.strip().lower() == "true" else None,
    gated_tool=lambda value: "uv" if conditional.is_gated(value) else None,
    gate=lambda _tool, gate: conditional.enable_cache_expression(gate),
    also=("cache-python",),
    unused=CACHE_ONLY,
    off=_off,
)


@register(SPEC.rule, ("cache-expression", "unsupported-shape"))
def fix(ctx: Context, steps: StepList) -> Iterator[Item]:
    yield from fix_inputs(ctx, steps, SPEC)
