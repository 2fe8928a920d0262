"""Plain data types shared by the migrate rules, the driver and the CLI (standard library only)."""

from __future__ import annotations

from typing import Any, NamedTuple, Union

# The step `migrate` inserts uses this unless --action-ref says otherwise. One place to change it.
DEFAULT_ACTION_REF = "pipnexus/pipnexus@v1"
STEP_NAME = "Use the in-cluster PyPI proxy"
STEP_ID = "pipnexus"
ALL_CACHES = ("pip", "pipenv", "poetry", "uv")
STRATEGIES = ("remove", "conditional")
# Expression the conditional strategy gates caches on: true unless the job is using Nexus.
NOT_NEXUS = f"steps.{STEP_ID}.outputs.source != 'nexus'"

PathKey = Union[str, int]


class Options(NamedTuple):
    caches: frozenset[str] = frozenset(ALL_CACHES)
    action_ref: str = DEFAULT_ACTION_REF
    strategy: str = "remove"
    # True when the repository has a uv.lock (enables the `uv sync --frozen` report).
    uv_lock: bool = False


class DataOp(NamedTuple):
    """The data-level meaning of a change, checked against a re-parse of the output.

    kind: "delete" (path names a mapping key or a sequence index), "set" (mapping key or
    sequence index gets `value`), "insert" (`value` goes before original sequence index
    path[-1]; len(list) appends).
    """

    kind: str
    path: tuple[PathKey, ...]
    value: Any = None


class Edit(NamedTuple):
    """Replace original text[start:end] (character offsets, BOM excluded) by `replacement`."""

    start: int
    end: int
    replacement: str


class Change(NamedTuple):
    """One logical change made by a rule: its text edits and their data meaning."""

    rule: str
    line: int  # 1-based line in the original text
    message: str
    edits: tuple[Edit, ...]
    ops: tuple[DataOp, ...]


class Finding(NamedTuple):
    """A warning or note about the file; never changes it. line/col are 1-based."""

    line: int
    col: int
    code: str
    message: str


class MigrateResult(NamedTuple):
    new_text: str  # equal to the input when nothing changed or on error
    changes: tuple[Change, ...]
    findings: tuple[Finding, ...]
    error: Finding | None  # set when the file is invalid; new_text is then the input

    @property
    def changed(self) -> bool:
        return self.error is None and bool(self.changes)

    @property
    def edits(self) -> tuple[Edit, ...]:
        return tuple(e for c in self.changes for e in c.edits)
