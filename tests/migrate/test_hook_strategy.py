"""`--strategy hook`: how its gates (on the hook's `env.PIPNEXUS_HOOK_SOURCE`) and the pipnexus
step's gates (`steps.pipnexus.outputs.source`) meet when strategies follow one another.

The goldens `hook*` show each strategy's output; these check the conversions between them."""

from __future__ import annotations

from pathlib import Path

from pipnexus.hook import markers
from pipnexus.migrate import Options, migrate_text
from pipnexus.migrate.conditional import HOOK_GATE, STEP_GATE, is_gated
from tests.migrate import oracle
from tests.migrate.helpers import pyyaml_load

FIXTURES = Path(__file__).parent / "fixtures"
HOOKED = """\
on: push
jobs:
  t:
    runs-on: ${{ inputs.runner }}
    steps:
      - uses: actions/setup-python@v5
        with:
          cache: pip
      - uses: actions/cache@v4
        id: uv
        with:
          path: ~/.cache/uv
          key: uv
      - uses: astral-sh/setup-uv@v6
        with:
          enable-cache: true
      - run: echo "${{ steps.uv.outputs.cache-hit }}" && uv sync
"""


def _migrate(text: str, options: Options) -> str:
    result = migrate_text(text, "ci.yml", options)
    assert result.error is None
    want = oracle.expected(pyyaml_load(text), text, set(options.caches), options.strategy,
                           all_jobs=options.all_jobs)
    assert pyyaml_load(result.new_text) == want
    return result.new_text


def test_the_gate_reads_the_marker_the_hook_writes() -> None:
    assert HOOK_GATE.source == f"env.{markers.SOURCE}"
    assert HOOK_GATE.not_nexus == "env.PIPNEXUS_HOOK_SOURCE != 'nexus'"
    assert is_gated(HOOK_GATE.not_nexus) and is_gated(STEP_GATE.not_nexus)


def test_unknown_runner_gets_hook_gates_and_no_step() -> None:
    new = _migrate(HOOKED, Options(strategy="hook"))
    data = pyyaml_load(new)["jobs"]["t"]["steps"]
    assert len(data) == 4  # no step inserted, nothing removed
    assert data[0]["with"]["cache"] == "${{ env.PIPNEXUS_HOOK_SOURCE != 'nexus' && 'pip' || '' }}"
    assert data[1]["if"] == "env.PIPNEXUS_HOOK_SOURCE != 'nexus'"
    assert data[2]["with"]["enable-cache"] == "${{ env.PIPNEXUS_HOOK_SOURCE != 'nexus' }}"
    assert "steps.pipnexus" not in new
    # no `gate-without-step`: these gates read no step
    codes = [f.code for f in migrate_text(HOOKED, "ci.yml", Options(strategy="hook")).findings]
    assert codes == ["runner-unknown"]


def test_remove_undoes_hook_gates_and_keeps_a_read_cache_gated() -> None:
    hooked = _migrate(HOOKED, Options(strategy="hook"))
    removed = _migrate(hooked, Options(all_jobs=True))
    steps = pyyaml_load(removed)["jobs"]["t"]["steps"]
    assert [s.get("id") for s in steps] == [None, "pipnexus", "uv", None, None]
    assert "with" not in steps[0] and "with" not in steps[3]
    # the read cache step keeps its (valid) hook gate; `remove` does not gate it twice
    assert steps[2]["if"] == "env.PIPNEXUS_HOOK_SOURCE != 'nexus'"


def test_hook_on_self_hosted_removes_what_conditional_gated_and_keeps_the_step() -> None:
    gated = _migrate(HOOKED, Options(strategy="conditional", all_jobs=True))
    assert "steps.pipnexus.outputs.source" in gated
    hooked = _migrate(gated, Options(strategy="hook", all_jobs=True))
    steps = pyyaml_load(hooked)["jobs"]["t"]["steps"]
    assert [s.get("id") for s in steps] == ["pipnexus", None, "uv", None, None]
    assert "with" not in steps[1] and "with" not in steps[3]
    # the read cache step keeps its step gate: the step is still there to answer it
    assert steps[2]["if"] == "steps.pipnexus.outputs.source != 'nexus'"


def test_every_strategy_is_idempotent_after_every_other() -> None:
    for name in ("hook", "hook-after-remove", "hook-after-conditional"):
        text = (FIXTURES / name / "after.yml").read_text(encoding="utf-8")
        for strategy in ("remove", "conditional", "hook"):
            once = _migrate(text, Options(strategy=strategy))
            assert migrate_text(once, "ci.yml", Options(strategy=strategy)).changes == ()
