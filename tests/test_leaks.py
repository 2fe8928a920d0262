"""The quick cases of the installer leak audit (testbed/leakaudit.py) as tests: with
``pipnexus configure``'s variables, real pip and uv install packages that exist only behind the
Nexus double, and nothing connects to the proxy that stands for "the internet"
(HTTPS_PROXY/HTTP_PROXY -> a counting listener)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import leakaudit as leaks
from testbed.nexus_double import NexusDouble
from testbed.proxies import DeadProxy
from testbed.wheels import BACKEND_PROJECT

pytestmark = pytest.mark.installers

QUICK = [c for c in leaks.CASES if c.quick]
BUILDS_FROM_SDIST = {"pip-sdist", "pip-wheel", "uv-pip-sdist"}


@pytest.fixture
def bed(nexus: NexusDouble, tmp_path: Path) -> Iterator[leaks.Bed]:
    with DeadProxy() as proxy:
        yield leaks.make_bed(tmp_path / "bed", nexus, proxy)


@pytest.mark.parametrize("case", QUICK, ids=[c.name for c in QUICK])
def test_quick_case_goes_through_the_cache_only(
    case: leaks.Case, bed: leaks.Bed, tmp_path: Path
) -> None:
    if case.tool != "pip" and leaks.tool_path(case.tool) is None:
        pytest.skip(f"{case.tool} is not installed (pip install -e '.[bench]')")
    rows = leaks.run_case(case, bed, tmp_path / "case")
    assert rows
    for row in rows:
        assert row.result == "ok", f"{row.label}: {row.result}\n{row.detail}"
        assert row.bypassed == [], f"{row.label} bypassed the cache: {row.bypassed}"
        assert row.via_cache > 0, f"{row.label}: no request reached the cache"
        assert row.warns == "no"
    if case.runner_env:
        # the runner's settings named pypi.org: configure cleared or overrode them
        assert rows[0].remark.startswith("configure"), rows[0]
    if case.name in BUILDS_FROM_SDIST:
        # build isolation fetched the backend, which exists only behind the cache
        assert bed.nexus.count(f"/repository/pypi-proxy/simple/{BACKEND_PROJECT}") >= 1


def test_a_bypass_is_counted_and_configure_warns(bed: leaks.Bed, tmp_path: Path) -> None:
    """Negative control: a requirements file naming pypi.org wins over PIP_INDEX_URL."""
    case = next(c for c in leaks.CASES if c.name == "pip-req-index")
    assert case.known
    rows = leaks.run_case(case, bed, tmp_path / "case", extra_env={"PIP_RETRIES": "0"})
    (row,) = rows
    assert row.result != "ok"
    assert row.bypassed, "the dead proxy saw nothing"
    assert {b.target for b in row.bypassed} == {"pypi.org:443"}
    assert row.via_cache == 0
    assert row.warns == "yes"


def test_configure_variables_are_in_every_environment(bed: leaks.Bed) -> None:
    for loopback, env in bed.envs.items():
        assert env["PIP_INDEX_URL"] == bed.urls[loopback]
        assert env["UV_DEFAULT_INDEX"] == bed.urls[loopback]
        assert "127.0.0.1" in env["NO_PROXY"].split(",")
        assert env["HTTPS_PROXY"] == bed.proxy.url
    assert bed.envs[False]["PIP_TRUSTED_HOST"] == "nexus.test"


@pytest.mark.parametrize("name", ["pip-extra-env", "uv-index-env", "pip-conf-extra-warned"])
def test_without_the_override_the_runner_settings_bypass(
    name: str, bed: leaks.Bed, tmp_path: Path
) -> None:
    """Negative control for the cases above: the runner's own values (laid back over what
    configure set), or a pip config without pip-conf: file, do reach pypi.org."""
    case = next(c for c in leaks.CASES if c.name == name)
    if case.tool != "pip" and leaks.tool_path(case.tool) is None:
        pytest.skip(f"{case.tool} is not installed")
    restore = {} if name == "pip-conf-extra-warned" else dict(case.runner_env)
    rows = leaks.run_case(case, bed, tmp_path / "case",
                          extra_env={"PIP_RETRIES": "0", "UV_HTTP_RETRIES": "0", **restore})
    (row,) = rows
    assert "pypi.org:443" in {b.target for b in row.bypassed}, row
    if name == "pip-conf-extra-warned":
        assert row.warns == "yes"  # with file and line: checked in test_configure
