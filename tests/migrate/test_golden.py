"""Golden before/after fixtures: byte-exact output, findings, idempotence, oracle, schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipnexus.migrate import DEFAULT_ACTION_REF, migrate_text
from pipnexus.migrate.model import STEP_ID, STEP_NAME
from tests.migrate import oracle
from tests.migrate.helpers import (
    GOLDEN_REF,
    Fixture,
    check_jsonschema,
    decode,
    finding_lines,
    fixtures,
    foreign_lines,
    inserted_lines,
    oracle_options,
    pyyaml_load,
)

FIXTURES = fixtures()
IDS = [f.name for f in FIXTURES]


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_golden_output(fx: Fixture) -> None:
    result = migrate_text(decode(fx.before), fx.name, fx.options)
    assert result.error is None
    assert fx.after is not None, "run `python -m tests.migrate.helpers regen` and review"
    assert result.new_text.encode("utf-8") == fx.after
    assert finding_lines(result) == fx.findings
    allowed = inserted_lines(fx.options)
    foreign = [x for x in foreign_lines(decode(fx.before), result.new_text, allowed)
               if not x.strip().startswith(f"- {{name: {STEP_NAME}, id: {STEP_ID}, ")]
    repinned = f"uses: {fx.options.action_ref}"  # in its own quotes, with its comment
    gates = ("steps.pipnexus.outputs.source", "env.PIPNEXUS_HOOK_SOURCE")
    assert [x for x in foreign if not any(gate in x for gate in gates)
            and not (fx.options.repin and repinned in x.replace('"', "").replace("'", ""))] == []


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_golden_idempotent(fx: Fixture) -> None:
    assert fx.after is not None
    again = migrate_text(decode(fx.after), fx.name, fx.options)
    assert again.error is None
    assert again.changes == ()
    assert again.new_text.encode("utf-8") == fx.after


@pytest.mark.parametrize("fx", FIXTURES, ids=IDS)
def test_golden_oracle(fx: Fixture) -> None:
    """PyYAML's view of the output equals its view of the input with the intended edits."""
    assert fx.after is not None
    before_text = decode(fx.before)
    want = oracle.expected(
        pyyaml_load(before_text), before_text, set(fx.options.caches), fx.options.strategy,
        **oracle_options(fx.options),
    )
    assert pyyaml_load(decode(fx.after)) == want


def test_golden_files_differ_where_expected() -> None:
    unchanged = {f.name for f in FIXTURES if f.after == f.before}
    # gate-without-step: the gates are refused, and the step is there already; hook-after-remove:
    # `remove` left no cache for `hook` to remove, and its step and gates stay
    assert unchanged == {"non-composite-action", "gate-without-step", "hook-after-remove"}


@pytest.mark.slow  # two check-jsonschema processes: 1.5 s of CPU
def test_golden_schema(tmp_path: Path) -> None:
    """Every output validates against GitHub's schema whenever its input did."""
    paths: dict[str, list[Path]] = {"vendor.github-workflows": [], "vendor.github-actions": []}
    for fx in FIXTURES:
        assert fx.after is not None
        data = pyyaml_load(decode(fx.before))
        schema = "vendor.github-actions" if "runs" in data else "vendor.github-workflows"
        for kind, content in (("before", fx.before), ("after", fx.after)):
            p = tmp_path / f"{fx.name}.{kind}.yml"
            p.write_bytes(content.lstrip(b"\xef\xbb\xbf"))
            paths[schema].append(p)
    valid: dict[str, bool] = {}
    for schema, files in paths.items():
        valid.update(check_jsonschema(files, schema))
    assert len(valid) == 2 * len(FIXTURES)
    broken = [
        fx.name for fx in FIXTURES
        if valid[str(tmp_path / f"{fx.name}.before.yml")]
        and not valid[str(tmp_path / f"{fx.name}.after.yml")]
    ]
    assert broken == []
    # the fixtures are meant to be valid workflows in the first place
    assert all(valid[str(tmp_path / f"{fx.name}.before.yml")] for fx in FIXTURES)


def test_examples_are_current() -> None:
    """examples/workflows/after.yml is what migrate makes of before.yml, which demo bundles."""
    root = Path(__file__).parents[2]
    before = (root / "examples/workflows/before.yml").read_text(encoding="utf-8")
    after = (root / "examples/workflows/after.yml").read_text(encoding="utf-8")
    after = after.replace(GOLDEN_REF, DEFAULT_ACTION_REF)
    assert migrate_text(before).new_text == after
    assert (root / "pipnexus/examples/ci.yml").read_text(encoding="utf-8") == before
    assert migrate_text(after).changes == ()
