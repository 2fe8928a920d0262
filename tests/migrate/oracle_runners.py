"""The oracle's own reading of `runs-on` (independent of pipnexus.migrate.runners): which jobs
the migration changes, and how."""

from __future__ import annotations

import itertools
import re
from typing import Any

HOSTED = re.compile(r"ubuntu-(latest|slim|[0-9]+\.[0-9]+)(-arm)?"
                    r"|windows-(latest|[0-9]{4}|11)(-arm)?"
                    r"|macos-(latest|[0-9]+)(-intel|-large|-xlarge)?", re.I)


def _matrix(job: dict[str, Any], key: str) -> list[Any] | None:
    matrix = (job.get("strategy") or {}).get("matrix") if isinstance(
        job.get("strategy"), dict) else None
    if not isinstance(matrix, dict):
        return None
    values = list(matrix[key]) if isinstance(matrix.get(key), list) else []
    if key in matrix and not isinstance(matrix[key], list):
        return None
    include = matrix.get("include") or []
    if not isinstance(include, list) or not all(isinstance(x, dict) for x in include):
        return None
    values += [x[key] for x in include if key in x]
    return values or None


def _kind(labels: list[str], runners: set[str] | None) -> str:
    low = {x.strip().lower() for x in labels}
    if "self-hosted" in low or (runners is not None and low & runners):
        return "self"
    if low and all(HOSTED.fullmatch(x) for x in low):
        return "hosted"
    return "self" if runners is None and low else "skip"


def runner_kind(job: Any, runners: set[str] | None) -> str:
    """self (migrate), hosted or skip (leave alone), unknown (the conditional form)."""
    r = job.get("runs-on") if isinstance(job, dict) else None
    if isinstance(r, dict):
        labels = r.get("labels", [])
        labels = [labels] if isinstance(labels, str) else labels
        literal = isinstance(labels, list) and all(
            isinstance(x, str) and "${{" not in x for x in labels)
        if literal and labels and _kind(labels, runners) == "self":
            return "self"
        group = r.get("group")
        if runners is not None and isinstance(group, str) and group.lower() in runners:
            return "self"
        return "unknown"
    given = r if isinstance(r, list) else [r]
    values: list[str] = [v for v in given if isinstance(v, str)]
    if not values or len(values) != len(given):
        return "unknown"
    plain = [v for v in values if "${{" not in v]
    if any(v.lower() == "self-hosted" for v in plain) or (
            runners is not None and {v.lower() for v in plain} & runners):
        return "self"
    options: list[list[list[str]]] = []
    for v in values:
        if "${{" not in v:
            options.append([[v]])
            continue
        m = re.fullmatch(r"\$\{\{ *matrix\.([\w-]+) *\}\}", v.strip())
        found = _matrix(job, m.group(1)) if m else None
        if found is None:
            return "unknown"
        choice = []
        for x in found:
            labels = [x] if isinstance(x, str) else x
            if not isinstance(labels, list) or not all(
                    isinstance(y, str) and "${{" not in y for y in labels):
                return "unknown"
            choice.append(labels)
        options.append(choice)
    kinds = {_kind([y for part in combo for y in part], runners)
             for combo in itertools.product(*options)}
    return kinds.pop() if len(kinds) == 1 else "unknown"
