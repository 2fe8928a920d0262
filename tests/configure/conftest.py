"""Fixtures of configure's tests: one upstream and Nexus double per module, and a Nexus double
without anonymous access."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from testbed.wheels import standard_packages
from tests.configure.helpers import PASSWORD


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    files = tmp_path_factory.mktemp("cfg-files")
    standard_packages(files)
    with Upstream(files) as server:
        yield server


@pytest.fixture(scope="module")
def nexus(upstream: Upstream) -> Iterator[NexusDouble]:
    with NexusDouble(upstream.base_url + "/") as double:
        yield double


@pytest.fixture
def private_nexus(upstream: Upstream) -> Iterator[NexusDouble]:
    with NexusDouble(upstream.base_url + "/") as double:
        double.anonymous_enabled = False
        double.users = {"ci": PASSWORD}
        yield double
