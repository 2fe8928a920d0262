"""Rule 3: astral-sh/setup-uv — drop `enable-cache: true` and `cache-dependency-glob:`.

The key is deleted, not set to false: setup-uv's default (`auto`) is off on self-hosted runners,
where the cache download crosses the NAT gateway, and on for GitHub-hosted ones.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipnexus.migrate import conditional
from pipnexus.migrate.model import Change, Finding, Options
from pipnexus.migrate.spans import remove_keys
from pipnexus.migrate.tree import Doc, StepList, editable_with, get_pair, scalar

RULE = "setup-uv-cache"
ACTION = "astral-sh/setup-uv"


def fix(doc: Doc, steps: StepList, options: Options) -> Iterator[Change | Finding]:
    if "uv" not in options.caches:
        return
    for step, with_map in editable_with(doc, steps, ACTION):
        enable = get_pair(with_map, "enable-cache")
        value = scalar(enable[2]) if enable else None
        if enable is None or value is None:
            continue
        line, col = doc.text.position(doc.start(enable[2]))
        gated = conditional.is_gated(value)
        if "${{" in value and not (gated and options.strategy == "remove"):
            if not gated:
                yield Finding(
                    line, col, "cache-expression",
                    f"setup-uv `enable-cache: {value.strip()}` is an expression: left as is",
                )
            continue
        if value.strip().lower() != "true" and not gated:
            continue
        if options.strategy == "conditional":
            yield conditional.replace_value(
                doc, with_map, enable[2], conditional.enable_cache_expression(),
                (*step.path, "with", "enable-cache"), RULE,
                "setup-uv: `enable-cache` only when the job is not using Nexus",
            )
            continue
        result = remove_keys(
            doc, step, ("enable-cache", "cache-dependency-glob"), RULE,
            "setup-uv: removed `enable-cache: true`", line,
        )
        if result is not None:
            yield result
