"""Plain data types shared by the migrate rules, the driver and the CLI (standard library only)."""

from __future__ import annotations

from typing import Any, NamedTuple, Union

from pipnexus import ACTION_REPOSITORY, __version__
from pipnexus.diagnostics import Diagnostic


def major_tag(version: str) -> str:
    """The moving major tag of a release, `v1` for 1.4.2: the action's releases keep it pointing
    at the newest 1.x, as GitHub recommends for actions
    (https://docs.github.com/en/actions/sharing-automations/creating-actions/about-custom-actions#using-tags-for-release-management).
    """
    return "v" + version.split(".", 1)[0]


# The step `migrate` inserts uses this unless --action-ref says otherwise: this version's major tag.
DEFAULT_ACTION_REF = f"{ACTION_REPOSITORY}@{major_tag(__version__)}"
STEP_NAME = "Use the in-cluster PyPI proxy"
STEP_ID = "pipnexus"
ALL_CACHES = ("pip", "pipenv", "poetry", "uv")
STRATEGIES = ("remove", "conditional", "hook")

PathKey = Union[str, int]


class Options(NamedTuple):
    caches: frozenset[str] = frozenset(ALL_CACHES)
    action_ref: str = DEFAULT_ACTION_REF
    strategy: str = "remove"  # a key of STRATEGIES
    # True when the repository has a uv.lock (enables the `uv sync --frozen` report).
    uv_lock: bool = False
    # Written after the ref on the `uses:` line, e.g. "v1.0.0" for a ref pinned to a SHA.
    action_comment: str = ""
    # --action-ref was given: existing pipnexus steps are re-pinned to it (rule `repin`).
    repin: bool = False
    # --runners: the (lower-cased) labels of the self-hosted runners; None: any label GitHub
    # does not host (see runners.py)
    runners: frozenset[str] | None = None
    # --all-jobs: migrate every job, GitHub-hosted and unknown runners included
    all_jobs: bool = False
    # `with:` inputs of the inserted step (--index-url, --nexus-url, --repository), in order
    step_inputs: tuple[tuple[str, str], ...] = ()
    # parse the file even without a trigger word (a file named on the command line)
    parse_all: bool = False

    @property
    def uses(self) -> str:
        """The `uses:` value as written, with its comment."""
        if self.action_comment:
            return f"{self.action_ref} # {self.action_comment}"
        return self.action_ref


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


class MigrateResult(NamedTuple):
    new_text: str  # equal to the input when nothing changed or on error
    changes: tuple[Change, ...]
    findings: tuple[Diagnostic, ...]
    error: Diagnostic | None  # set when the file is invalid; new_text is then the input

    @property
    def changed(self) -> bool:
        return self.error is None and bool(self.changes)

    @property
    def edits(self) -> tuple[Edit, ...]:
        return tuple(e for c in self.changes for e in c.edits)
