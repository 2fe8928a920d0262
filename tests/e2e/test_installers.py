"""The variables ``configure`` sets drive real pip, pipenv and pdm (outside act, for speed).

The indexes are reached by name (``nexus.test``/``pypi.test`` mapped to 127.0.0.1 by the bed's
sitecustomize in every Python child), because pip and pdm trust 127.0.0.1 over plain http
anyway: only with a name does ``PIP_TRUSTED_HOST``/``PDM_PYPI_VERIFY_SSL=false`` matter, and
the negative controls prove it. uv (not Python, no alias) is covered under act.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import installers
from testbed.httpbase import closed_url
from testbed.leakaudit import PIPFILE
from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from tests.cli_process import run_pipnexus
from tests.e2e.conftest import ONLY_BEHIND, PDM_PROJECT

pytestmark = [pytest.mark.installers, pytest.mark.slow]

NAMES = ("nexus.test", "pypi.test")


@pytest.fixture
def double(behind: Upstream) -> Iterator[NexusDouble]:
    with NexusDouble(behind.base_url + "/") as server:
        yield server


def aliased(url: str, name: str) -> str:
    return installers.aliased_url(url, name)


def base(tmp_path: Path) -> dict[str, str]:
    env = installers.isolated_env(tmp_path, VIRTUALENV_NO_PERIODIC_UPDATE="1")
    return installers.alias_host_env(env, tmp_path, NAMES)


def configured(env: dict[str, str], index: str, fallback: str) -> dict[str, str]:
    """``env`` plus what ``pipnexus configure --format dotenv`` prints."""
    # with site-packages and PYTHONPATH (module=True): the host alias for nexus.test is a
    # sitecustomize on PYTHONPATH, which python -I would ignore
    proc = run_pipnexus(
        "configure", "--format", "dotenv", "--index-url", index, "--fallback-index-url", fallback,
        "--no-warnings", "--timeout", "5", env=env, module=True,
    )
    assert proc.returncode == 0, proc.stderr
    out = dict(env)
    for line in proc.stdout.splitlines():
        name, _, value = line.partition("=")
        out[name] = value
    return out


def test_pip_needs_and_gets_the_trusted_host(tmp_path, venv_factory, double):
    env = base(tmp_path)
    env = configured(env, aliased(double.index_url(), "nexus.test"), "https://pypi.invalid/simple")
    assert env["PIP_TRUSTED_HOST"] == "nexus.test"
    venv = venv_factory.new(tmp_path / "venv", env)

    untrusted = dict(env)
    del untrusted["PIP_TRUSTED_HOST"]
    proc = venv.pip_install(ONLY_BEHIND, check=False, env=untrusted,
                            extra_args=["--no-cache-dir"])
    assert proc.returncode != 0
    assert "not a trusted or secure host" in proc.stdout + proc.stderr

    venv.pip_install(ONLY_BEHIND, extra_args=["--no-cache-dir"])
    assert venv.has(ONLY_BEHIND, "2.0")
    assert double.count("/repository/pypi-proxy/packages/pipnexus-behind-nexus/", "GET") >= 1


def test_pip_fallback_is_trusted_too(tmp_path, venv_factory, upstream):
    env = base(tmp_path)
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    env = configured(env, dead, aliased(upstream.index_url, "pypi.test"))
    assert env["PIP_INDEX_URL"] == aliased(upstream.index_url, "pypi.test")
    assert env["PIP_TRUSTED_HOST"] == "pypi.test"
    venv = venv_factory.new(tmp_path / "venv", env)
    venv.pip_install("pipnexus-demo-pkg", extra_args=["--no-cache-dir"])
    assert venv.has("pipnexus-demo-pkg", "1.0")
    assert upstream.count("/files/pipnexus_demo_pkg-1.0") >= 1




def pdm_add(project: Path, env: dict[str, str], package: str) -> subprocess.CompletedProcess[str]:
    project.mkdir()
    (project / "pyproject.toml").write_text(PDM_PROJECT)
    pdm = installers.tool("pdm")
    installers.run([pdm, "use", "-f", "--venv", "in-project", sys.executable], env, cwd=project,
                   check=False)
    return installers.run([pdm, "add", "--no-self", package], env, cwd=project, check=False)


@pytest.mark.slow
def test_pdm_adds_through_nexus_and_from_the_fallback(tmp_path, double, upstream):
    env = configured(base(tmp_path), aliased(double.index_url(), "nexus.test"),
                     "https://pypi.invalid/simple")
    assert env["PDM_PYPI_VERIFY_SSL"] == "false"
    strict = dict(env, PDM_PYPI_VERIFY_SSL="true")
    refused = pdm_add(tmp_path / "strict", strict, ONLY_BEHIND)
    assert refused.returncode != 0, "pdm must refuse an untrusted http index"

    done = pdm_add(tmp_path / "nexus", env, ONLY_BEHIND)
    assert done.returncode == 0, done.stdout + done.stderr
    assert double.count("/repository/pypi-proxy/packages/pipnexus-behind-nexus/", "GET") >= 1

    dead = closed_url() + "/repository/pypi-proxy/simple/"
    fb_env = configured(base(tmp_path / "fb"), dead, aliased(upstream.index_url, "pypi.test"))
    done = pdm_add(tmp_path / "fallback", fb_env, "pipnexus-demo-pkg")
    assert done.returncode == 0, done.stdout + done.stderr
    assert upstream.count("/files/pipnexus_demo_pkg-1.0") >= 1




def pipenv_install(project: Path, env: dict[str, str], package: str) -> None:
    # a project's committed Pipfile names pypi.org (without one, pipenv writes a new Pipfile
    # whose source is PIP_INDEX_URL, i.e. the mirror)
    project.mkdir()
    (project / "Pipfile").write_text(PIPFILE)
    installers.run(
        [installers.tool("pipenv"), "install", "--python", sys.executable, package],
        env, cwd=project,
    )
    lock = (project / "Pipfile.lock").read_text()
    assert package in lock
    # PIPENV_PYPI_MIRROR replaces pypi.org at install time; the lock keeps pypi.org
    assert "nexus.test" not in lock and "pypi.test" not in lock
    assert "https://pypi.org/simple" in lock


@pytest.mark.slow
def test_pipenv_installs_through_nexus_and_from_the_fallback(tmp_path, double, upstream):
    env = configured(base(tmp_path), aliased(double.index_url(), "nexus.test"),
                     "https://pypi.invalid/simple")
    pipenv_install(tmp_path / "nexus", env, ONLY_BEHIND)
    assert double.count("/repository/pypi-proxy/packages/pipnexus-behind-nexus/", "GET") >= 1

    dead = closed_url() + "/repository/pypi-proxy/simple/"
    fb_env = configured(base(tmp_path / "fb"), dead, aliased(upstream.index_url, "pypi.test"))
    pipenv_install(tmp_path / "fallback", fb_env, "pipnexus-demo-dep")
    assert upstream.count("/files/pipnexus_demo_dep-1.0") >= 1
