"""Rule 1: actions/setup-python — drop `cache:` (pip, pipenv, poetry), `cache-dependency-path:`."""

from __future__ import annotations

from collections.abc import Iterator

from pipnexus.migrate import conditional
from pipnexus.migrate.model import Change, Finding, Options
from pipnexus.migrate.spans import remove_keys
from pipnexus.migrate.tree import Doc, StepList, editable_with, get_pair, scalar

RULE = "setup-python-cache"
ACTION = "actions/setup-python"
TOOLS = ("pip", "pipenv", "poetry")  # what setup-python can cache


def fix(doc: Doc, steps: StepList, options: Options) -> Iterator[Change | Finding]:
    for step, with_map in editable_with(doc, steps, ACTION):
        cache = get_pair(with_map, "cache")
        value = scalar(cache[2]) if cache else None
        if cache is None or value is None:
            continue
        line, col = doc.text.position(doc.start(cache[2]))
        tool = value.strip().lower()
        if "${{" in value:
            gated = conditional.gated_tool(value)
            if gated is None or options.strategy == "conditional":
                if not conditional.is_gated(value):
                    yield Finding(
                        line, col, "cache-expression",
                        f"setup-python `cache: {value.strip()}` is an expression: left as is; "
                        "remove it by hand if it selects a Python cache",
                    )
                continue
            tool = gated  # written by --strategy conditional: `remove` drops it
        if tool not in TOOLS or tool not in options.caches:
            continue
        if options.strategy == "conditional":
            yield conditional.replace_value(
                doc, with_map, cache[2], conditional.cache_expression(tool),
                (*step.path, "with", "cache"), RULE,
                f"setup-python: `cache: {tool}` only when the job is not using Nexus",
            )
            continue
        result = remove_keys(
            doc, step, ("cache", "cache-dependency-path"), RULE,
            f"setup-python: removed `cache: {tool}`", line,
        )
        if result is not None:
            yield result
