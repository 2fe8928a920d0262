"""Which step lists `migrate` changes, and how: the runner rule, and the gates' step.

A job on GitHub-hosted runners is left exactly as it is: its cache costs no NAT gateway and it
cannot reach an in-cluster Nexus, so there is nothing to win there (runners.py says how a
`runs-on` is read). A job whose runner is unknown (an expression, a runner group, or a
composite action, which runs wherever its callers run) gets the conditional form of
--strategy (strategy.UNKNOWN_RUNNER): its caches stay, used only when the job is not using
Nexus. `--all-jobs` migrates every list with --strategy, as before.

A step gate (`steps.pipnexus.outputs.source != 'nexus'`) must read a step that exists in the
same job or composite action: a change that would write one where there is no such step (none
was inserted, or the pipnexus step there has no `id: pipnexus`) is dropped and reported. A hook
gate (`env.PIPNEXUS_HOOK_SOURCE != 'nexus'`) reads no step: it is never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from pipnexus.diagnostics import Diagnostic
from pipnexus.migrate.conditional import STEP_GATE
from pipnexus.migrate.context import Strategy
from pipnexus.migrate.model import STEP_ID, Change, Options
from pipnexus.migrate.runners import HOSTED, NOT_LISTED, SELF_HOSTED, classify
from pipnexus.migrate.strategy import STRATEGIES, UNKNOWN_RUNNER
from pipnexus.migrate.tree import Doc, StepList, get, get_pair, scalar
from pipnexus.migrate.workflow import is_pipnexus_step

CODES = ("hosted-job-skipped", "runner-not-listed", "runner-unknown", "gate-without-step")
INSERT_RULE = "insert-step"


class Scope(NamedTuple):
    lists: tuple[StepList, ...]  # the lists to migrate
    strategies: tuple[Strategy, ...]  # the strategy of each
    # lists left alone, each with the note given when a migration would have changed it
    skipped: tuple[tuple[StepList, Diagnostic], ...]
    # lists of an unknown runner, with the note given when they change
    unknown: tuple[tuple[StepList, Diagnostic], ...]


def _job_data(data: Any, name: str) -> dict[str, Any]:
    jobs = data.get("jobs") if isinstance(data, dict) else None
    job = jobs.get(name) if isinstance(jobs, dict) else None
    return job if isinstance(job, dict) else {}


def _where(doc: Doc, steps: StepList) -> tuple[int, int]:
    """(line, col) a note about the list points at: its `runs-on:`, else its `steps:`."""
    if steps.kind == "job":
        job = get(get(doc.root, "jobs"), steps.name)
        pair = get_pair(job, "runs-on")
        if pair is not None:
            return doc.text.position(doc.start(pair[1]))
    return doc.text.position(doc.start(steps.seq))


def plan(doc: Doc, data: Any, lists: Sequence[StepList], options: Options, path: str) -> Scope:
    requested = STRATEGIES[options.strategy]
    if options.all_jobs:
        return Scope(tuple(lists), (requested,) * len(lists), (), ())
    conditional = UNKNOWN_RUNNER[options.strategy]
    keep: list[StepList] = []
    strategies: list[Strategy] = []
    skipped: list[tuple[StepList, Diagnostic]] = []
    unknown: list[tuple[StepList, Diagnostic]] = []
    for steps in lists:
        line, col = _where(doc, steps)
        if steps.kind == "composite":
            kind, shown = "composite", ""
        else:
            kind, shown = classify(_job_data(data, steps.name), options.runners)
        if kind == SELF_HOSTED:
            keep.append(steps)
            strategies.append(requested)
            continue
        job = f"job `{steps.name}`"
        if kind == HOSTED:
            skipped.append((steps, Diagnostic(
                "note", f"{job} runs on GitHub-hosted runners ({shown}): left as is (its "
                "cache costs no NAT and it cannot reach an in-cluster Nexus); --all-jobs "
                "migrates it", "hosted-job-skipped", path, line, col)))
            continue
        if kind == NOT_LISTED:
            skipped.append((steps, Diagnostic(
                "note", f"{job} runs on {shown}, which --runners does not name: left as is",
                "runner-not-listed", path, line, col)))
            continue
        keep.append(steps)
        strategies.append(conditional)
        what = ("composite action: it runs on its callers' runners" if kind == "composite"
                else f"{job} runs on {shown}, which may be GitHub-hosted")
        fix = ("--all-jobs removes them" if kind == "composite"
               else "--runners LABEL,... or --all-jobs removes them")
        unknown.append((steps, Diagnostic(
            "note", f"{what}: its caches are kept and {conditional.kept}; {fix}",
            "runner-unknown", path, line, col)))
    if conditional is requested:
        unknown = []  # what was asked for anyway
    return Scope(tuple(keep), tuple(strategies), tuple(skipped), tuple(unknown))


def _mine(steps: StepList, changes: Iterable[Change]) -> list[Change]:
    n = len(steps.path)
    return [c for c in changes if any(op.path[:n] == steps.path for op in c.ops)]


def _gates(change: Change) -> bool:
    return any(isinstance(op.value, str) and STEP_GATE.source in op.value for op in change.ops)


def drop_ungated(
    lists: Sequence[StepList], changes: list[Change], findings: list[Diagnostic],
    options: Options, path: str,
) -> list[Change]:
    """`changes` without those that would gate on a pipnexus step the list does not have."""
    dropped: set[int] = set()
    for steps in lists:
        mine = _mine(steps, changes)
        if any(c.rule == INSERT_RULE for c in mine):
            continue
        if any(scalar(get(s.node, "id")) == STEP_ID for s in steps.steps):
            continue
        unnamed = any(is_pipnexus_step(s, options.action_ref) for s in steps.steps)
        why = ("its pipnexus step has no `id: pipnexus` for the gate to read: add it and run "
               "again" if unnamed else
               "no pipnexus step was inserted for the gate to read (see the other findings)")
        for change in mine:
            if _gates(change):
                dropped.add(id(change))
                findings.append(Diagnostic(
                    "warning", f"{change.message}: not done, {why}", "gate-without-step",
                    path, change.line, 1))
    return [c for c in changes if id(c) not in dropped]


def drop_shared(
    doc: Doc, scope: Scope, changes: list[Change], findings: list[Diagnostic], path: str
) -> list[Change]:
    """`changes` without those that edit an anchored node which a job left alone also uses
    through an alias: that job must stay as it was, in its data too."""
    inside = [(sl.owner_start, sl.owner_end) for sl, _note in scope.skipped]
    names = {use.anchor for use in doc.aliases.values()
             if any(a <= use.start < b for a, b in inside)}
    spans = [(int(node.start_mark.index), doc.end(node))
             for name in names for node in doc.anchors.get(name, [])]
    if not spans:
        return changes
    kept = []
    for change in changes:
        if any(a < e.end and e.start < b if e.end > e.start else a < e.start < b
               for e in change.edits for a, b in spans):
            findings.append(Diagnostic(
                "warning", f"{change.message}: skipped (the anchored text is also used by a job "
                "that is left as it is)", "anchor-kept", path, change.line, 1))
            continue
        kept.append(change)
    return kept


def notes(
    scope: Scope, changes: Sequence[Change], would_change: Callable[[StepList], bool]
) -> list[Diagnostic]:
    """The notes of the lists left alone that a migration would change (`would_change(list)`)
    and of the unknown-runner lists that changed."""
    out = [note for steps, note in scope.unknown if _mine(steps, changes)]
    out += [note for steps, note in scope.skipped if would_change(steps)]
    return out
