"""How `runs-on` is read: GitHub-hosted, self-hosted, unknown (pipnexus/migrate/runners.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pipnexus.migrate.runners import HOSTED, NOT_LISTED, SELF_HOSTED, UNKNOWN, classify


def _matrix(**values: Any) -> dict[str, Any]:
    return {"strategy": {"matrix": values}}


@pytest.mark.parametrize(
    ("job", "kind"),
    [
        # GitHub's standard labels (https://docs.github.com/en/actions/reference/runners/github-hosted-runners)
        ({"runs-on": "ubuntu-latest"}, HOSTED),
        ({"runs-on": "ubuntu-24.04-arm"}, HOSTED),
        ({"runs-on": "ubuntu-slim"}, HOSTED),
        ({"runs-on": "windows-2025"}, HOSTED),
        ({"runs-on": "windows-11-arm"}, HOSTED),
        ({"runs-on": "macOS-latest"}, HOSTED),  # labels are case-insensitive
        ({"runs-on": "macos-15-intel"}, HOSTED),
        ({"runs-on": "macos-15-xlarge"}, HOSTED),
        ({"runs-on": ["ubuntu-latest"]}, HOSTED),
        # self-hosted: the label, or a label of the user's own (an ARC scale set's name)
        ({"runs-on": "self-hosted"}, SELF_HOSTED),
        ({"runs-on": ["self-hosted", "linux", "x64"]}, SELF_HOSTED),
        ({"runs-on": "arc-runner-set"}, SELF_HOSTED),
        ({"runs-on": ["ubuntu-latest", "gpu"]}, SELF_HOSTED),  # no hosted runner has `gpu`
        ({"runs-on": "ubuntu-latest-custom"}, SELF_HOSTED),
        # runner groups: larger runners may be GitHub-hosted
        ({"runs-on": {"group": "ubuntu-runners"}}, UNKNOWN),
        ({"runs-on": {"group": "g", "labels": ["self-hosted", "linux"]}}, SELF_HOSTED),
        ({"runs-on": {"group": "g", "labels": "ubuntu-latest"}}, UNKNOWN),
        # matrix values
        ({"runs-on": "${{ matrix.os }}", **_matrix(os=["ubuntu-latest", "windows-latest"])},
         HOSTED),
        ({"runs-on": "${{matrix.runner}}", **_matrix(runner=["arc-a", ["self-hosted", "x"]])},
         SELF_HOSTED),
        ({"runs-on": "${{ matrix.os }}", **_matrix(os=["ubuntu-latest", "arc-a"])}, UNKNOWN),
        ({"runs-on": "${{ matrix.os }}",
          **_matrix(python=["3.12"], include=[{"os": "macos-latest"}])}, HOSTED),
        ({"runs-on": "${{ matrix.os }}",
          **_matrix(os=["ubuntu-latest"], include=[{"os": "arc-a"}])}, UNKNOWN),
        ({"runs-on": "${{ matrix.os }}", **_matrix(os=["${{ inputs.os }}"])}, UNKNOWN),
        ({"runs-on": "${{ matrix.os }}", "strategy": {"matrix": "${{ fromJSON(x) }}"}}, UNKNOWN),
        ({"runs-on": "${{ matrix.os }}"}, UNKNOWN),  # no matrix
        # other expressions
        ({"runs-on": "${{ inputs.runner }}"}, UNKNOWN),
        ({"runs-on": ["self-hosted", "${{ inputs.size }}"]}, SELF_HOSTED),
        ({"runs-on": ["linux", "${{ inputs.size }}"]}, UNKNOWN),
        ({}, UNKNOWN),
        ({"runs-on": []}, UNKNOWN),
        ({"runs-on": 3}, UNKNOWN),
    ],
)
def test_classify(job: dict[str, Any], kind: str) -> None:
    assert classify(job).kind == kind


@pytest.mark.parametrize(
    ("job", "kind"),
    [
        ({"runs-on": "arc-runner-set"}, SELF_HOSTED),
        ({"runs-on": "ARC-Runner-Set"}, SELF_HOSTED),
        ({"runs-on": "other-set"}, NOT_LISTED),
        ({"runs-on": ["self-hosted", "linux"]}, SELF_HOSTED),
        ({"runs-on": "ubuntu-latest"}, HOSTED),
        ({"runs-on": {"group": "arc-runner-set"}}, SELF_HOSTED),
        ({"runs-on": "${{ matrix.r }}", **_matrix(r=["arc-runner-set", "other"])}, UNKNOWN),
    ],
)
def test_classify_with_runners(job: dict[str, Any], kind: str) -> None:
    assert classify(job, frozenset({"arc-runner-set"})).kind == kind


def test_shown_value_is_short() -> None:
    runner = classify({"runs-on": ["self-hosted", *(f"label-{i}" for i in range(20))]})
    assert runner.kind == SELF_HOSTED and len(runner.shown) == 60
