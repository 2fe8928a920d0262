"""The act harness runs a composite action from the repository and sees its file commands."""

from __future__ import annotations

import pytest

from tests.e2e.act_harness import dump_outputs

pytestmark = pytest.mark.e2e

SMOKE_ACTION = """\
name: smoke
description: writes GITHUB_ENV and GITHUB_OUTPUT
outputs:
  greeting:
    description: a greeting
    value: ${{ steps.s.outputs.greeting }}
runs:
  using: composite
  steps:
    - id: s
      shell: bash
      run: |
        echo "greeting=hello from $(basename "$GITHUB_ACTION_PATH")" >> "$GITHUB_OUTPUT"
        echo "SMOKE_VAR=set by the action" >> "$GITHUB_ENV"
"""

WORKFLOW = """\
on: push
jobs:
  smoke:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: smoke
        uses: ./smoke
      - run: |
          test "$SMOKE_VAR" = "set by the action"
          echo "later step sees: $SMOKE_VAR; secret length ${#TOKEN}" > "$PIPNEXUS_E2E_OUT/seen"
        env:
          TOKEN: ${{ secrets.SMOKE_TOKEN }}
""" + dump_outputs("smoke")


def test_composite_action_file_commands_reach_later_steps(run_act):
    result = run_act(
        WORKFLOW,
        files={"smoke/action.yml": SMOKE_ACTION},
        secrets={"SMOKE_TOKEN": "s3cret-value"},
    )
    assert result.returncode == 0, result.log
    assert result.outputs("smoke") == {"greeting": "hello from smoke"}
    assert result.file("seen").strip() == "later step sees: set by the action; secret length 12"
    assert "s3cret-value" not in result.log


def test_failing_step_fails_the_run(run_act):
    workflow = """\
on: push
jobs:
  fail:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "about to fail"; exit 3
"""
    result = run_act(workflow)
    assert result.returncode != 0
    assert "about to fail" in result.log
