"""The bed end to end: real pip and uv install generated distributions from the loopback servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed import installers
from testbed.installers import Venv
from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from testbed.wheels import StandardPackages

pytestmark = pytest.mark.installers


@pytest.mark.slow
def test_pip_installs_wheel_and_dependency_from_upstream(venv: Venv, upstream: Upstream) -> None:
    venv.pip_install("pipnexus-demo-pkg", index_url=upstream.index_url)
    assert venv.has("pipnexus-demo-pkg", "1.0")
    assert venv.has("pipnexus-demo-dep", "1.0")
    venv.run("-c", "import pipnexus_demo_pkg as m; assert m.__version__ == '1.0'")
    # pip uses the PEP 658 metadata file, then downloads the wheel once
    assert upstream.count("/files/pipnexus_demo_pkg-1.0-py3-none-any.whl.metadata", "GET") == 1
    assert ("GET", "/files/pipnexus_demo_pkg-1.0-py3-none-any.whl", 200) in upstream.requests
    assert upstream.count("/files/pipnexus_demo_pkg-1.0-py3-none-any.whl", "GET") == 2
    assert upstream.bytes_served > 0


@pytest.mark.slow
def test_pip_installs_through_nexus_then_from_its_cache(
    venv_factory: installers.VenvFactory,
    tmp_path: Path,
    isolated_env: dict[str, str],
    nexus: NexusDouble,
    upstream: Upstream,
    packages: StandardPackages,
) -> None:
    first = venv_factory.new(tmp_path / "one", isolated_env)
    first.pip_install(
        "pipnexus-demo-pkg", index_url=nexus.index_url(), extra_args=["--no-cache-dir"]
    )
    assert first.has("pipnexus-demo-pkg", "1.0") and first.has("pipnexus-demo-dep", "1.0")
    fetched = list(nexus.upstream_fetches)
    pkg_file = f"{upstream.base_url}/files/{packages.pkg.name}"
    assert nexus.fetch_count("/simple/pipnexus-demo-pkg/") == 1
    assert nexus.fetch_count("/simple/pipnexus-demo-dep/") == 1
    assert [u for m, u, s in fetched if u == pkg_file] == [pkg_file]
    assert nexus.fetch_count(packages.dep.name) == 1
    upstream_requests = len(upstream.requests)

    second = venv_factory.new(tmp_path / "two", isolated_env)
    second.pip_install(
        "pipnexus-demo-pkg", index_url=nexus.index_url(), extra_args=["--no-cache-dir"]
    )
    assert second.has("pipnexus-demo-pkg", "1.0") and second.has("pipnexus-demo-dep", "1.0")
    assert nexus.upstream_fetches == fetched, "second install must be served from the cache"
    assert len(upstream.requests) == upstream_requests
    assert nexus.count("/repository/pypi-proxy/packages/", "GET") == 4


@pytest.mark.slow
def test_uv_installs_through_nexus(venv: Venv, nexus: NexusDouble) -> None:
    venv.uv_pip_install("pipnexus-demo-pkg", index_url=nexus.index_url(), extra_args=["--no-cache"])
    assert venv.has("pipnexus-demo-pkg", "1.0") and venv.has("pipnexus-demo-dep", "1.0")
    assert nexus.fetch_count("/simple/pipnexus-demo-pkg/") == 1
    # no PEP 658 metadata behind Nexus, so uv probes the wheel with HEAD (range support)
    wheel = "/repository/pypi-proxy/packages/pipnexus-demo-pkg/1.0/"
    wheel += "pipnexus_demo_pkg-1.0-py3-none-any.whl"
    assert ("HEAD", wheel, 200) in nexus.requests


@pytest.mark.slow
def test_pip_builds_sdist_with_backend_fetched_through_nexus(
    venv: Venv, nexus: NexusDouble
) -> None:
    venv.pip_install(
        "pipnexus-demo-sdist", index_url=nexus.index_url(), extra_args=["--no-cache-dir"]
    )
    assert venv.has("pipnexus-demo-sdist", "1.0")
    # the backend went into pip's isolated build environment only, through the proxy
    assert not venv.has("pipnexus-test-backend")
    assert nexus.fetch_count("/simple/pipnexus-test-backend/") == 1
    assert nexus.count("/repository/pypi-proxy/packages/pipnexus-test-backend/", "GET") == 1
