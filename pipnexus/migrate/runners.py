"""Where a job runs: GitHub-hosted, self-hosted, or unknown, from its `runs-on`.

Only self-hosted runners send GitHub cache downloads through the user's NAT gateway; a
GitHub-hosted runner reads GitHub's cache for free and cannot reach an in-cluster Nexus, so
`migrate` leaves its jobs alone. The labels of GitHub's standard (and larger macOS) runners are
those of GitHub's reference,
https://docs.github.com/en/actions/reference/runners/github-hosted-runners; a job asks for a
self-hosted runner with the `self-hosted` label or with a label of its own (an ARC scale set is
addressed by its installation name alone, and supports no other label:
https://docs.github.com/en/actions/how-tos/manage-runners/self-hosted-runners/use-in-a-workflow).

`runs-on` forms (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idruns-on):
a label, a list of labels (a runner must have all of them), `{group: ..., labels: ...}`, and
expressions in any of them. `${{ matrix.KEY }}` is resolved when the job's matrix lists literal
values for KEY; any other expression makes the job's runner unknown. A runner group alone is
unknown too: a group may hold GitHub's larger runners, which run in GitHub's network.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

HOSTED, SELF_HOSTED, UNKNOWN, NOT_LISTED = "hosted", "self-hosted", "unknown", "not-listed"

# GitHub's standard runner labels (ubuntu-24.04-arm, windows-11-arm, macos-15-intel, ...) and
# the larger macOS runners' (macos-latest-large, macos-15-xlarge), which are GitHub-hosted too
_HOSTED_LABEL = re.compile(
    r"""(?ix)
    ubuntu-(?:latest|slim|\d+\.\d+)(?:-arm)?
    | windows-(?:latest|\d{4}|11)(?:-arm)?
    | macos-(?:latest|\d+)(?:-intel|-large|-xlarge)?
    """
)
_MATRIX_VALUE = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z_][\w-]*)\s*\}\}$")
_MAX_COMBINATIONS = 256


class Runner(NamedTuple):
    kind: str  # HOSTED, SELF_HOSTED, UNKNOWN, or NOT_LISTED (labels --runners does not name)
    shown: str  # the runs-on value, shortened, for messages


def is_hosted_label(label: str) -> bool:
    return bool(_HOSTED_LABEL.fullmatch(label.strip()))


def _labels_kind(labels: Sequence[str], runners: frozenset[str] | None) -> str:
    """The runner of a set of literal labels (a runner must have all of them)."""
    lowered = {label.strip().lower() for label in labels}
    if "self-hosted" in lowered or (runners is not None and lowered & runners):
        return SELF_HOSTED
    if lowered and all(is_hosted_label(label) for label in lowered):
        return HOSTED
    # a label of the user's own: a self-hosted runner (or an ARC scale set's name), unless
    # --runners lists the self-hosted labels and this is not one of them
    return SELF_HOSTED if runners is None and lowered else NOT_LISTED


def _matrix_values(job: dict[str, Any], key: str) -> list[Any] | None:
    """Every value `matrix.KEY` can take in the job, or None when they are not all literal."""
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return None
    values: list[Any] = []
    listed = matrix.get(key)
    if listed is not None:
        if not isinstance(listed, list):
            return None
        values.extend(listed)
    include = matrix.get("include", [])
    if not isinstance(include, list):
        return None
    for entry in include:
        if not isinstance(entry, dict):
            return None
        if key in entry:
            values.append(entry[key])
    return values or None


def _literal(value: Any) -> list[str] | None:
    """A runs-on value (or a matrix value put there) as literal labels, else None."""
    if isinstance(value, str):
        return None if "${{" in value else [value]
    if isinstance(value, list) and all(isinstance(v, str) and "${{" not in v for v in value):
        return list(value)
    return None


def _choices(item: Any, job: dict[str, Any]) -> list[list[str]] | None:
    """The label lists one runs-on item can stand for, or None when unknown."""
    labels = _literal(item)
    if labels is not None:
        return [labels]
    if not isinstance(item, str):
        return None
    m = _MATRIX_VALUE.match(item.strip())
    values = _matrix_values(job, m.group(1)) if m else None
    if values is None:
        return None
    out = []
    for value in values:
        literal = _literal(value)
        if literal is None:
            return None
        out.append(literal)
    return out


def _combine(kinds: Iterable[str]) -> str:
    found = set(kinds)
    return found.pop() if len(found) == 1 else UNKNOWN


def _shown(value: Any) -> str:
    if isinstance(value, list):
        text = "[" + ", ".join(str(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def classify(job: dict[str, Any], runners: frozenset[str] | None = None) -> Runner:
    """Where the job (its data, as loaded) runs. `runners`: the lower-cased labels of
    --runners, or None (then any label GitHub does not host is a self-hosted one)."""
    runs_on = job.get("runs-on")
    shown = _shown(runs_on)
    if isinstance(runs_on, dict):
        labels = runs_on.get("labels")
        group = runs_on.get("group")
        names = _literal(labels) if labels is not None else []
        if names is not None and _labels_kind(names, runners) == SELF_HOSTED and names:
            return Runner(SELF_HOSTED, shown)
        if runners is not None and isinstance(group, str) and group.strip().lower() in runners:
            return Runner(SELF_HOSTED, shown)
        return Runner(UNKNOWN, shown)  # a group may hold GitHub's larger runners
    listed = runs_on if isinstance(runs_on, list) else [runs_on]
    if not listed or not all(isinstance(i, str) for i in listed):
        return Runner(UNKNOWN, shown)
    items: list[str] = [i for i in listed if isinstance(i, str)]
    # a literal `self-hosted` (or a --runners label) decides whatever the expressions are
    literal = [i for i in items if "${{" not in i]
    if literal and _labels_kind(literal, runners) == SELF_HOSTED and (
        runners is not None or any(i.strip().lower() == "self-hosted" for i in literal)
    ):
        return Runner(SELF_HOSTED, shown)
    choices = [_choices(i, job) for i in items]
    if any(c is None for c in choices):
        return Runner(UNKNOWN, shown)
    product = 1
    for c in choices:
        product *= len(c or [])
    if product > _MAX_COMBINATIONS:
        return Runner(UNKNOWN, shown)
    kinds = [
        _labels_kind([label for part in combo for label in part], runners)
        for combo in itertools.product(*[c or [] for c in choices])
    ]
    return Runner(_combine(kinds), shown)
