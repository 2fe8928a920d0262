"""The `--strategy` choices as objects: what a rule does with a cache it found.

A rule finds a cache (a setup action's input, an actions/cache step) and hands it to the
strategy in its context; it never tests the strategy's name. `remove` deletes the caches;
`conditional` keeps them but gates them on the pipnexus step's output, so they are only used
when the job fell back to pypi.org (which is why its step goes before them). `hook`, for
runners that carry the pipnexus job-started hook, deletes them like `remove` and inserts no
step: what it keeps, it gates on the hook's marker in the `env` context, which needs no step.
A job whose runner is unknown gets the conditional form of the strategy asked for
(UNKNOWN_RUNNER).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pipnexus.migrate import conditional
from pipnexus.migrate.conditional import HOOK_GATE, STEP_GATE, Gate
from pipnexus.migrate.context import Context, Item, StepInputs, Strategy
from pipnexus.migrate.model import Change, DataOp
from pipnexus.migrate.spans import remove_item, remove_keys, trim_block
from pipnexus.migrate.tree import StepList
from pipnexus.migrate.workflow import (
    SETUP_ACTIONS,
    CacheStep,
    cache_steps,
    first_possible_install,
    read_by_another_step,
)


def _setups(steps: StepList) -> list[int]:
    return [s.position for s in steps.steps if s.uses in SETUP_ACTIONS]


class Remove:
    """Delete the caches: the inputs, the steps, and the steps that only fed them. A cache step
    whose outputs another step reads is gated instead, so that `steps.<id>` still names a step."""

    name = "remove"
    gate = STEP_GATE

    def fix_inputs(self, ctx: Context, inputs: StepInputs) -> Iterator[Item]:
        # a gate (of either form) is removed too: `remove` undoes `conditional` and `hook`; one
        # change per step, so that `with:` goes when nothing else is left in it
        keys = [k for site in inputs.sites for k in site.keys]
        unused = [f"`{k}`" for k in inputs.unused if k not in keys]
        if inputs.sites:
            settings = ", ".join([site.setting for site in inputs.sites] + unused)
            message, line = f"{inputs.action}: removed {settings}", inputs.sites[0].line
        else:
            message = (f"{inputs.action}: removed {', '.join(unused)} "
                       "(only used while the GitHub cache is on, and it is off)")
            line = inputs.line
        keys += [k for k in inputs.unused if k not in keys]
        item = remove_keys(ctx.doc, inputs.step, keys, inputs.rule, message, line)
        if item is not None:
            yield item

    def fix_cache_steps(
        self, ctx: Context, steps: StepList, targets: Sequence[CacheStep], rule: str
    ) -> Iterator[Item]:
        left = len(steps.steps)  # a job must keep one step
        for target in targets:
            caches = ctx.options.caches
            if target.kept(caches):
                yield trim_block(ctx.doc, target, caches, rule)
                continue
            if read_by_another_step(steps, target.step):
                # kept, so that `steps.<id>` still names a step, but skipped when using Nexus
                step = target.step
                gated = conditional.gate_step(
                    ctx.doc, step, rule,
                    f"{step.uses}: restore {target.names(caches)} only when not using Nexus "
                    "(kept: another step reads its outputs)", self.gate,
                )
                if gated:
                    yield gated
                continue
            item = _remove_step(ctx, steps, target, rule, last=left <= 1)
            if isinstance(item, Change):
                left -= 1
            yield item

    def insert_position(
        self, steps: StepList, caches: frozenset[str], action_ref: str
    ) -> tuple[int, bool] | None:
        # after the last setup step that comes before the first step that may install (an
        # install command, or another action), else before that step
        first = first_possible_install(steps, action_ref)
        before = [i for i in _setups(steps) if first is None or i < first]
        at = (before[-1], True) if before else None if first is None else (first, False)
        # and before the cache steps it gates rather than removes (their ids are read)
        gated = [c.step.position for c in cache_steps(steps, caches)
                 if not c.kept(caches) and read_by_another_step(steps, c.step)]
        if gated and (at is None or min(gated) < at[0] + at[1]):
            return min(gated), False
        return at


def _remove_step(
    ctx: Context, steps: StepList, target: CacheStep, rule: str, last: bool
) -> Item:
    step = target.step
    at = ctx.doc.item_start(steps.seq, step.position)
    if ctx.doc.aliased(step.node):
        return ctx.warning_at(at, "anchor-kept",
                              "actions/cache step is anchored and reused by an alias: left as is")
    if last:
        return ctx.warning_at(at, "unsupported-shape",
                              "actions/cache step is the only step: left as is")
    edit = remove_item(ctx.doc, steps.seq, step.position)
    if edit is None:
        return ctx.warning_at(at, "unsupported-shape",
                              "actions/cache step layout not supported: left as is")
    names = target.names(ctx.options.caches)
    return Change(rule, ctx.doc.text.line_of(at) + 1,
                  f"{step.uses}: removed the step caching {names}", (edit,),
                  (DataOp("delete", step.path),))


class Hook(Remove):
    """`remove` for jobs whose runner carries the job-started hook: the hook configures the
    installers, so no pipnexus step is inserted (one already there is left as it is: it defers
    to the hook), and a cache step kept for its outputs is gated on the hook's marker."""

    name = "hook"
    gate = HOOK_GATE

    def insert_position(
        self, steps: StepList, caches: frozenset[str], action_ref: str
    ) -> tuple[int, bool] | None:
        return None


class Conditional:
    """Keep the caches, used only when the job is not using Nexus: gated on the pipnexus step's
    output (inserted before them), or, as the unknown-runner form of `hook`, on the hook's
    marker (no step)."""

    def __init__(self, name: str, gate: Gate, kept: str, insert: bool) -> None:
        self.name, self.gate, self.insert = name, gate, insert
        self.kept = kept  # how the kept caches are used, for the `runner-unknown` note

    def fix_inputs(self, ctx: Context, inputs: StepInputs) -> Iterator[Item]:
        # the caches stay (gated), so the inputs that go with them still matter: all kept
        for site in inputs.sites:
            if not site.gated:
                yield conditional.replace_value(
                    ctx.doc, site.with_map, site.value, site.gate, site.path, site.rule,
                    f"{site.action}: {site.setting} only when the job is not using Nexus",
                )

    def fix_cache_steps(
        self, ctx: Context, steps: StepList, targets: Sequence[CacheStep], rule: str
    ) -> Iterator[Item]:
        for target in targets:
            step = target.step
            if target.kept(ctx.options.caches):
                yield ctx.warning_at(
                    ctx.doc.item_start(steps.seq, step.position), "mixed-cache-kept",
                    "actions/cache mixes Python and other paths: left unconditional",
                )
                continue
            names = target.names(ctx.options.caches)
            gated = conditional.gate_step(
                ctx.doc, step, rule, f"{step.uses}: restore {names} only when not using Nexus",
                self.gate,
            )
            if gated:
                yield gated

    def insert_position(
        self, steps: StepList, caches: frozenset[str], action_ref: str
    ) -> tuple[int, bool] | None:
        if not self.insert:
            return None
        # before every step that reads its output (the setup steps and the gated caches) and
        # every step that may install; a list that only restores a cache gets it too, or the
        # gates would read a step that does not exist
        first = first_possible_install(steps, action_ref)
        gated = [c.step.position for c in cache_steps(steps, caches) if not c.kept(caches)]
        found = [*_setups(steps), *gated, *([] if first is None else [first])]
        return (min(found), False) if found else None


_CONDITIONAL = Conditional(
    "conditional", STEP_GATE, "used only when the pipnexus step did not pick Nexus (the "
    "--strategy conditional form)", insert=True)
STRATEGIES: dict[str, Strategy] = {s.name: s for s in (Remove(), _CONDITIONAL, Hook())}
# what a job whose runner is unknown gets, for each --strategy: the caches kept, gated (on a
# GitHub-hosted runner they are still used; there is no hook there, and its marker is empty)
UNKNOWN_RUNNER: dict[str, Conditional] = {
    "remove": _CONDITIONAL,
    "conditional": _CONDITIONAL,
    "hook": Conditional(
        "hook-conditional", HOOK_GATE, "used only when the runner hook did not pick Nexus, as "
        "on a runner without the hook (the conditional form of --strategy hook: no step)",
        insert=False),
}

