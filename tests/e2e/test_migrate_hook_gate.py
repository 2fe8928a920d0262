"""The gates `migrate --strategy hook` writes, evaluated by a runner (act): a step gated on
`env.PIPNEXUS_HOOK_SOURCE != 'nexus'` runs when the marker is absent or `fallback` and is
skipped once a file command set it to `nexus`; the gated `cache:` and `enable-cache:` values
turn the cache off only then. The marker is written to GITHUB_ENV by a step here: the job-started
hook's file commands are processed the same way (actions/runner:
src/Runner.Worker/JobHookProvider.cs calls FileCommandManager.ProcessFiles), which act does not
run."""

from __future__ import annotations

import pytest

from pipnexus.hook.markers import SOURCE
from pipnexus.migrate.conditional import HOOK_GATE, cache_expression, enable_cache_expression
from tests.e2e.conftest import RunAct

pytestmark = pytest.mark.e2e


def _probe(label: str) -> str:
    """Steps recording, under `label`, whether the gate let a step run and the gated values."""
    out = f'"$PIPNEXUS_E2E_OUT/{label}"'
    return f"""\
      - if: {HOOK_GATE.not_nexus}
        run: echo ran > {out}.step
      - uses: ./gated
      - run: printf '%s|%s' "$CACHE" "$ENABLE" > {out}.values
        env:
          CACHE: {cache_expression("pip", HOOK_GATE)}
          ENABLE: {enable_cache_expression(HOOK_GATE)}
"""


GATED_ACTION = f"""\
name: gated
description: a composite action's gated step
runs:
  using: composite
  steps:
    - if: {HOOK_GATE.not_nexus}
      shell: bash
      run: echo ran > "$PIPNEXUS_E2E_OUT/composite.$MARKER"
      env:
        MARKER: ${{{{ env.{SOURCE} || 'absent' }}}}
"""


def _mark(value: str) -> str:
    return f'      - run: echo "{SOURCE}={value}" >> "$GITHUB_ENV"\n'


WORKFLOW = (
    "on: push\njobs:\n  gates:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n"
    + _probe("absent") + _mark("fallback") + _probe("fallback") + _mark("nexus")
    + _probe("nexus")
)


def test_hook_gates_follow_the_marker(run_act: RunAct) -> None:
    result = run_act(WORKFLOW, files={"gated/action.yml": GATED_ACTION})
    assert result.returncode == 0, result.log
    for label in ("absent", "fallback"):  # no hook, or the hook fell back: the cache is used
        assert result.file(f"{label}.step").strip() == "ran"
        assert result.file(f"{label}.values") == "pip|true"
        assert result.file(f"composite.{label}").strip() == "ran"
    # the hook picked Nexus: the gated step is skipped and the caches are off
    assert not (result.out_dir / "nexus.step").exists()
    assert not (result.out_dir / "composite.nexus").exists()
    assert result.file("nexus.values") == "|false"
