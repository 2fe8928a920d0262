"""What a rule sees (:class:`Context`) and yields (``Item``), and what it hands the strategy:
the cache inputs it found (:class:`InputSite`, :class:`StepInputs`) and the
:class:`Strategy` protocol that answers them. One module, because a context carries a strategy
and a strategy takes the context.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple, Protocol, Union

from ruamel.yaml.nodes import MappingNode, Node

from pipnexus.diagnostics import Diagnostic
from pipnexus.migrate.conditional import Gate
from pipnexus.migrate.model import Change, Options, PathKey
from pipnexus.migrate.tree import Doc, Step, StepList
from pipnexus.migrate.workflow import CacheStep

Item = Union[Change, Diagnostic]


class Context(NamedTuple):
    """What a rule sees: the document, its step lists, the options and the strategy.

    `lists` are the step lists to migrate (the jobs `migrate` leaves alone are not there);
    `strategies`, when given, is the strategy of each of them (a job whose runner is unknown
    gets the conditional form of --strategy, strategy.UNKNOWN_RUNNER), and a steps rule sees
    its list's strategy as `strategy`.
    """

    doc: Doc
    lists: tuple[StepList, ...]
    options: Options
    strategy: Strategy
    path: str
    strategies: tuple[Strategy, ...] = ()
    every: tuple[StepList, ...] = ()  # every step list of the file, migrated or not

    def warning(self, line: int, col: int, code: str, message: str) -> Diagnostic:
        """A warning about this file at 1-based `line`, `col`."""
        return Diagnostic("warning", message, code, self.path, line, col)

    def warning_at(self, index: int, code: str, message: str) -> Diagnostic:
        """A warning at character `index` of the text."""
        line, col = self.doc.text.position(index)
        return self.warning(line, col, code, message)


class InputSite(NamedTuple):
    """A setup action's cache input (setup-python `cache:`, setup-uv `enable-cache:`)."""

    rule: str
    step: Step
    with_map: MappingNode
    value: Node
    keys: tuple[str, ...]  # the input and the inputs that only matter with it
    action: str  # "setup-python", for messages
    setting: str  # "`cache: pip`", for messages
    gate: str  # the value that enables the cache only when the job is not using Nexus
    gated: bool  # the value is already a gate (of either form: conditional.GATES)
    line: int

    @property
    def path(self) -> tuple[PathKey, ...]:
        return (*self.step.path, "with", self.keys[0])


class StepInputs(NamedTuple):
    """The cache inputs of one setup step: those that turn a cache on, and the unused ones."""

    rule: str
    step: Step
    action: str  # "setup-uv", for messages
    sites: tuple[InputSite, ...]  # inputs that turn a selected cache on (`enable-cache: true`)
    # inputs present that only matter while the cache is on (`cache-suffix`): dead once a
    # strategy turns the cache off, so `remove` takes them out too
    unused: tuple[str, ...]
    line: int  # where the change is reported when there is no site


class Strategy(Protocol):
    name: str
    gate: Gate  # what the caches it keeps are gated on

    def fix_inputs(self, ctx: Context, inputs: StepInputs) -> Iterator[Item]:
        """The changes (or why not) for a setup step's cache inputs."""

    def fix_cache_steps(
        self, ctx: Context, steps: StepList, targets: Sequence[CacheStep], rule: str
    ) -> Iterator[Item]:
        """The changes (named `rule`) for the actions/cache steps of Python package caches."""

    def insert_position(
        self, steps: StepList, caches: frozenset[str], action_ref: str
    ) -> tuple[int, bool] | None:
        """(step index, after it?) for the pipnexus step; None when the job installs nothing."""
