"""actions/setup-python: drop `cache:` (pip, pipenv, poetry) and `cache-dependency-path:`.

`cache-dependency-path` without a `cache:` (absent or empty) does nothing: setup-python reads
it only in `cacheDependencies`, which it calls only when `cache` is set (actions/setup-python:
src/setup-python.ts), so `remove` takes it out too.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipnexus.migrate import conditional
from pipnexus.migrate.plugin import Context, Item, register
from pipnexus.migrate.setup_input import SetupInput, fix_inputs
from pipnexus.migrate.tree import StepList

TOOLS = ("pip", "pipenv", "poetry")  # what setup-python can cache
COMPANIONS = ("cache-dependency-path",)


def _tool(value: str) -> str | None:
    tool = value.strip().lower()
    return tool if tool in TOOLS else None


SPEC = SetupInput(
    rule="setup-python-cache",
    action="actions/setup-python",
    key="cache",
    companions=COMPANIONS,
    tools=TOOLS,
    tool=_tool,
    gated_tool=conditional.gated_tool,
    gate=conditional.cache_expression,
    unused=COMPANIONS,
    off=lambda value: value is None or value.strip().lower() in ("", "null", "~"),
)


@register(SPEC.rule, ("cache-expression", "unsupported-shape"))
def fix(ctx: Context, steps: StepList) -> Iterator[Item]:
    yield from fix_inputs(ctx, steps, SPEC)
