"""The rule registry: each rule module registers its fix with a decorator; the driver runs them.

The shape is pyupgrade's (asottile/pyupgrade: pyupgrade/_data.py): a module in
`pipnexus/migrate/rules/` decorates a function with ``@register(name, codes)``, the function
yields the rule's `Change`s and `Diagnostic`s, and one driver applies the changes to the original
text. Rules never edit text themselves and never import each other.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple, Union

from pipnexus.diagnostics import Diagnostic
from pipnexus.migrate.model import Change, Options

if TYPE_CHECKING:
    from pipnexus.migrate.strategy import Strategy
    from pipnexus.migrate.tree import Doc, StepList

Item = Union[Change, Diagnostic]
StepsFix = Callable[["Context", "StepList"], Iterable[Item]]
DocumentFix = Callable[["Context"], Iterable[Item]]

# The order the rules run in: when two changes overlap the first one wins, so the order is part
# of the behaviour (the cache inputs go before the step that is inserted next to them).
RULE_MODULES = ("setup_python", "setup_uv", "actions_cache", "insert_step", "repin", "report")


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


class Rule(NamedTuple):
    name: str  # the rule's code in a Change, e.g. "setup-python-cache"
    codes: tuple[str, ...]  # the diagnostic codes it may emit
    fix: DocumentFix
    module: str  # the module that registered it (sets the order)
    per_list: bool = True  # registered with `register` (runs on each steps list)

    @property
    def order(self) -> int:
        short = self.module.rsplit(".", 1)[-1]
        return RULE_MODULES.index(short) if short in RULE_MODULES else len(RULE_MODULES)


RULES: list[Rule] = []


def register_document(
    name: str, codes: tuple[str, ...] = ()
) -> Callable[[DocumentFix], DocumentFix]:
    """Register a rule that looks at the whole document once."""

    def decorator(func: DocumentFix) -> DocumentFix:
        RULES.append(Rule(name, codes, func, func.__module__, per_list=False))
        return func

    return decorator


def register(name: str, codes: tuple[str, ...] = ()) -> Callable[[StepsFix], StepsFix]:
    """Register a rule that runs on every steps list (a job's, a composite action's)."""

    def decorator(func: StepsFix) -> StepsFix:
        def each_list(ctx: Context) -> Iterator[Item]:
            strategies = ctx.strategies or (ctx.strategy,) * len(ctx.lists)
            for steps, strategy in zip(ctx.lists, strategies):
                yield from func(ctx._replace(strategy=strategy), steps)

        RULES.append(Rule(name, codes, each_list, func.__module__))
        return func

    return decorator


def registered() -> tuple[Rule, ...]:
    """Every rule, in RULE_MODULES order (importing a module registers its rules)."""
    for module in RULE_MODULES:
        importlib.import_module(f"pipnexus.migrate.rules.{module}")
    return tuple(sorted(RULES, key=lambda rule: rule.order))
