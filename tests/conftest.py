"""Shared fixtures: the loopback test bed (testbed/).

Session-scoped: ``packages`` (testbed.wheels.StandardPackages), ``packages_dir`` (Path),
``venv_factory`` (testbed.installers.VenvFactory).
Function-scoped: ``upstream`` (the session's Upstream over ``packages_dir``; counters reset and
faults cleared around every test), ``nexus`` (a fresh NexusDouble proxying ``upstream`` with
repository ``pypi-proxy``), ``hanging_listener``, ``isolated_env`` (dict), ``venv`` (a fresh
testbed.installers.Venv using ``isolated_env``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import installers
from testbed.httpbase import HangingListener
from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from testbed.wheels import StandardPackages, standard_packages


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> StandardPackages:
    return standard_packages(tmp_path_factory.mktemp("packages"))


@pytest.fixture(scope="session")
def packages_dir(packages: StandardPackages) -> Path:
    return packages.directory


@pytest.fixture(scope="session")
def _session_upstream(packages_dir: Path) -> Iterator[Upstream]:
    server = Upstream(packages_dir)
    try:
        yield server
    finally:
        server.stop()


def _clear(server: Upstream) -> None:
    server.fail_status = None
    server.delay = 0.0
    server.reset_counters()


@pytest.fixture
def upstream(_session_upstream: Upstream) -> Iterator[Upstream]:
    _clear(_session_upstream)
    try:
        yield _session_upstream
    finally:
        _clear(_session_upstream)


@pytest.fixture
def nexus(upstream: Upstream) -> Iterator[NexusDouble]:
    double = NexusDouble(upstream.base_url, "pypi-proxy")
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def hanging_listener() -> Iterator[HangingListener]:
    listener = HangingListener()
    try:
        yield listener
    finally:
        listener.stop()


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    return installers.isolated_env(tmp_path)


@pytest.fixture(scope="session")
def venv_factory(tmp_path_factory: pytest.TempPathFactory) -> installers.VenvFactory:
    return installers.VenvFactory(tmp_path_factory.mktemp("venvs"))


@pytest.fixture
def venv(
    venv_factory: installers.VenvFactory, tmp_path: Path, isolated_env: dict[str, str]
) -> installers.Venv:
    return venv_factory.new(tmp_path / "venv", isolated_env)
