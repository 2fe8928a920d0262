"""Fixtures for the ``pipnexus nexus`` tests: a Nexus double with the admin REST API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import pytest

from pipnexus.nexus import client, schema
from testbed.nexus_admin import AdminApi, install
from testbed.nexus_double import DEFAULT_VERSION, NexusDouble, version_tuple
from testbed.upstream import Upstream

ADMIN_PASSWORD = "s3cr3t-Adm1n-pw"
READER_PASSWORD = "r3ader-pw"
# The double plays the Nexus version the linter assumes by default, so tests comparing the two
# compare the same version. Until pipnexus.nexus.schema knows versions (schema.NEWEST), its one
# table is the 3.67-3.90 reading.


def _lint_version() -> str:
    newest = getattr(schema, "NEWEST", None)
    if newest is None:
        return "3.90.1"
    text = newest if isinstance(newest, str) else ".".join(str(x) for x in tuple(newest)[:3])
    try:
        version_tuple(text)
    except ValueError:
        return DEFAULT_VERSION
    return text


LINT_VERSION = _lint_version()


class Admin(NamedTuple):
    double: NexusDouble
    api: AdminApi
    upstream_url: str  # what a repository's proxy.remoteUrl should be

    @property
    def url(self) -> str:
        return self.double.base_url


@pytest.fixture(autouse=True)
def _short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands retry after 10 ms instead of 0.5 s (client.BACKOFF): the tests count
    retries, never the time between them."""
    monkeypatch.setattr(client, "BACKOFF", 0.01)


@pytest.fixture
def admin(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> Iterator[Admin]:
    """An empty Nexus double (no repositories) with the admin API; NEXUS_PW holds the password."""
    double = NexusDouble(upstream.base_url, repository=None, version=LINT_VERSION)
    double.users["admin"] = ADMIN_PASSWORD
    double.users["reader"] = READER_PASSWORD
    api = install(double)
    monkeypatch.setenv("NEXUS_PW", ADMIN_PASSWORD)
    monkeypatch.setenv("READER_PW", READER_PASSWORD)
    try:
        yield Admin(double, api, upstream.base_url)
    finally:
        double.stop()
