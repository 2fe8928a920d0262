"""`pipnexus migrate`: byte-preserving rewrite of workflows off GitHub's Python caches.

Importing this package uses the standard library only; ruamel.yaml loads on first use.
"""

from __future__ import annotations

from pipnexus.migrate.model import (
    ALL_CACHES,
    DEFAULT_ACTION_REF,
    Change,
    DataOp,
    Edit,
    MigrateResult,
    Options,
)

__all__ = [
    "ALL_CACHES",
    "DEFAULT_ACTION_REF",
    "Change",
    "DataOp",
    "Edit",
    "MigrateResult",
    "Options",
    "migrate_text",
]


def migrate_text(
    text: str, path: str = "<string>", options: Options | None = None
) -> MigrateResult:
    """Migrate one file's text without touching disk (used by `pipnexus demo` and the tests)."""
    from pipnexus.migrate.driver import migrate_text as run

    return run(text, path, options)
