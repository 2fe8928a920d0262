"""The real-world corpus of workflows (optional, beside the repository): no crash, idempotent,
oracle, schema; skipped with the reason when the corpus is absent.

Most corpus jobs run on GitHub-hosted runners, which migrate leaves alone by default: the
rules are exercised with --all-jobs, and the default is checked against the oracle too."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipnexus.migrate import Options, migrate_text
from pipnexus.migrate.model import STEP_ID, STEP_NAME
from tests.migrate import oracle
from tests.migrate.helpers import CORPUS, check_jsonschema, foreign_lines, pyyaml_load

FILES = sorted(p for p in CORPUS.glob("*.y*ml")) if CORPUS.is_dir() else []
STRATEGIES = ("remove", "conditional", "hook")

pytestmark = pytest.mark.skipif(
    not FILES, reason=f"corpus folder {CORPUS} is absent: real-world workflow checks skipped"
)


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _cases() -> list[object]:
    """Every file under every strategy, with and without --all-jobs. The quick loop
    (`-m "not slow"`) runs each file once, the six combinations taking turns over the files;
    the full suite runs them all."""
    combos = [(s, all_jobs) for s in STRATEGIES for all_jobs in (True, False)]
    return [
        pytest.param(path, strategy, all_jobs,
                     id=f"{path.name}-{strategy}-{'all-jobs' if all_jobs else 'default'}",
                     marks=() if n == i % len(combos) else pytest.mark.slow)
        for i, path in enumerate(FILES)
        for n, (strategy, all_jobs) in enumerate(combos)
    ]


@pytest.mark.parametrize(("path", "strategy", "all_jobs"), _cases())
def test_corpus_idempotent_and_oracle(path: Path, strategy: str, all_jobs: bool) -> None:
    text = _read(path)
    options = Options(strategy=strategy, all_jobs=all_jobs)
    result = migrate_text(text, path.name, options)
    assert result.error is None
    again = migrate_text(result.new_text, path.name, options)
    assert again.error is None
    assert again.changes == ()
    assert again.new_text == result.new_text
    want = oracle.expected(pyyaml_load(text), text, set(options.caches), strategy,
                           all_jobs=all_jobs)
    assert pyyaml_load(result.new_text) == want
    # every other byte is the original's: new lines are only the inserted step (and, for the
    # conditional strategy, the gated values)
    allowed = {"", f"name: {STEP_NAME}", f"id: {STEP_ID}", f"uses: {options.action_ref}"}
    foreign = foreign_lines(text, result.new_text, allowed)
    if strategy == "conditional" or not all_jobs:
        foreign = [x for x in foreign if "steps.pipnexus.outputs.source" not in x]
    if strategy == "hook":
        foreign = [x for x in foreign if "env.PIPNEXUS_HOOK_SOURCE" not in x]
    assert foreign == []


@pytest.mark.slow  # migrates every corpus file: a second of CPU
def test_corpus_changes_something() -> None:
    """Most corpus files cache Python packages: the migration must find work in them."""
    every = Options(all_jobs=True)
    changed = [p.name for p in FILES if migrate_text(_read(p), p.name, every).changed]
    assert len(changed) >= len(FILES) - 3
    noop = next(p for p in FILES if p.name == "ansys__actions__doc-deploy-to-repo__action.yml")
    assert migrate_text(_read(noop), options=every).new_text == _read(noop)


def test_corpus_hosted_jobs_are_left_alone() -> None:
    """By default a file whose jobs all run on GitHub-hosted runners is not changed at all,
    and each job that --all-jobs would change is reported once."""
    hosted = [p for p in FILES if p.name == "psf__requests__.github__workflows__run-tests.yml"]
    assert hosted, "the corpus lost psf/requests run-tests.yml"
    text = _read(hosted[0])
    result = migrate_text(text, hosted[0].name)
    assert result.new_text == text and not result.changes
    notes = [f for f in result.findings if f.code == "hosted-job-skipped"]
    assert notes and all(f.severity == "note" for f in notes)
    assert migrate_text(text, hosted[0].name, Options(all_jobs=True)).changed


@pytest.mark.slow  # check-jsonschema over every corpus output
def test_corpus_schema(tmp_path: Path) -> None:
    """Each rewritten file validates against GitHub's schema whenever the original did."""
    groups: dict[str, list[Path]] = {"vendor.github-workflows": [], "vendor.github-actions": []}
    pairs = []
    for path in FILES:
        text = _read(path)
        action = "runs" in pyyaml_load(text)
        schema = "vendor.github-actions" if action else "vendor.github-workflows"
        for strategy in STRATEGIES:
            options = Options(strategy=strategy, all_jobs=True)
            new = migrate_text(text, path.name, options).new_text
            out = tmp_path / f"{strategy}.{path.name}"
            out.write_text(new.lstrip("\ufeff"), encoding="utf-8", newline="")
            groups[schema].append(out)
            pairs.append((path, out))
        groups[schema].append(path)
    valid: dict[str, bool] = {}
    for schema, files in groups.items():
        valid.update(check_jsonschema(files, schema))
    broken = [out.name for src, out in pairs if valid[str(src)] and not valid[str(out)]]
    assert broken == []
    assert sum(valid[str(p)] for p in FILES) >= len(FILES) // 2  # the check really ran
