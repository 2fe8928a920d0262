"""Installer drivers: host isolation, the alias host name, pdm and pipenv through the double."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from testbed import installers
from testbed.installers import Venv, alias_host_env, aliased_url, isolated_env, run, tool
from testbed.nexus_double import NexusDouble

pytestmark = pytest.mark.installers

HOST_VARS = {
    "PIP_INDEX_URL": "http://host-pip.invalid/simple/",
    "PIP_FIND_LINKS": "/host/wheels",
    "UV_INDEX_URL": "http://host-uv.invalid/simple/",
    "UV_DEFAULT_INDEX": "http://host-uv.invalid/simple/",
    "PDM_PYPI_URL": "http://host-pdm.invalid/simple/",
    "PIPENV_PYPI_MIRROR": "http://host-pipenv.invalid/simple/",
    "HTTP_PROXY": "http://host-proxy.invalid:3128",
    "https_proxy": "http://host-proxy.invalid:3128",
    "PYTHONPATH": "/host/site",
    "VIRTUAL_ENV": "/host/venv",
}


def test_isolated_env_drops_host_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in HOST_VARS.items():
        monkeypatch.setenv(k, v)
    env = isolated_env(tmp_path, EXTRA="1", PDM_CHECK_UPDATE=None)
    assert not set(HOST_VARS) & set(env)
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert env["UV_NO_CONFIG"] == "1"
    assert env["PIPENV_VENV_IN_PROJECT"] == "1"
    assert env["EXTRA"] == "1" and "PDM_CHECK_UPDATE" not in env
    for key in ("HOME", "XDG_CACHE_HOME", "PIP_CACHE_DIR", "UV_CACHE_DIR", "PDM_CONFIG_FILE"):
        assert Path(env[key]).is_relative_to(tmp_path)
    assert env["PATH"] == os.environ["PATH"]


@pytest.mark.slow
def test_pip_in_venv_sees_no_host_configuration(venv: Venv) -> None:
    # this machine's global pip.conf and PIP_* variables add indexes, find-links, constraints
    listed = venv.pip("config", "list").stdout
    for word in ("index-url", "find-links", "constraint", "extra-index"):
        assert word not in listed
    assert ":env:.config-file='/dev/null'" in listed
    assert venv.python.is_file() and venv.path != Path(sys.prefix)


@pytest.mark.slow
def test_alias_host_name_exercises_pip_trusted_host(
    venv: Venv, nexus: NexusDouble, tmp_path: Path
) -> None:
    env = alias_host_env(venv.env, tmp_path)
    index = aliased_url(nexus.index_url())
    assert index.startswith("http://nexus.test:")
    refused = venv.pip_install("pipnexus-demo-dep", index_url=index, env=env, check=False)
    assert refused.returncode != 0
    assert "is not a trusted or secure host" in refused.stdout + refused.stderr
    venv.pip_install(
        "pipnexus-demo-dep", index_url=index, env=env, extra_args=["--trusted-host", "nexus.test"]
    )
    assert venv.has("pipnexus-demo-dep", "1.0")
    assert nexus.count("/repository/pypi-proxy/packages/pipnexus-demo-dep/", "GET") == 1


@pytest.mark.slow
def test_pdm_installs_through_nexus_isolated(
    tmp_path: Path, nexus: NexusDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PDM_PYPI_URL", "http://host-pdm.invalid/simple/")
    env = installers.isolated_env(tmp_path)
    assert run([tool("pdm"), "config", "pypi.url"], env).stdout.strip() == (
        "https://pypi.org/simple"
    )
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.9"\n'
        'dependencies = ["pipnexus-demo-pkg"]\n\n[tool.pdm]\ndistribution = false\n'
    )
    run([tool("pdm"), "install"], dict(env, PDM_PYPI_URL=nexus.index_url()), cwd=project)
    py = project / ".venv" / "bin" / "python"
    run([py, "-c", "import pipnexus_demo_pkg, pipnexus_demo_dep"], env)
    assert nexus.fetch_count("/simple/pipnexus-demo-pkg/") == 1


@pytest.mark.slow
def test_pipenv_installs_through_nexus_isolated(tmp_path: Path, nexus: NexusDouble) -> None:
    env = dict(installers.isolated_env(tmp_path), PIPENV_PYPI_MIRROR=nexus.index_url())
    project = tmp_path / "proj"
    project.mkdir()
    run(
        [tool("pipenv"), "install", "pipnexus-demo-pkg", "--python", sys.executable],
        env,
        cwd=project,
    )
    assert (project / "Pipfile.lock").is_file()
    py = project / ".venv" / "bin" / "python"
    run([py, "-c", "import pipnexus_demo_pkg, pipnexus_demo_dep"], env)
    assert nexus.count("/repository/pypi-proxy/packages/pipnexus-demo-pkg/", "GET") >= 1


@pytest.mark.slow
def test_alias_host_name_exercises_pdm_plain_http_trust(
    tmp_path: Path, nexus: NexusDouble
) -> None:
    env = alias_host_env(installers.isolated_env(tmp_path), tmp_path)
    env["PDM_PYPI_URL"] = aliased_url(nexus.index_url())
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.9"\n'
        'dependencies = ["pipnexus-demo-dep"]\n\n[tool.pdm]\ndistribution = false\n'
    )
    refused = run([tool("pdm"), "install"], env, cwd=project, check=False)
    assert refused.returncode != 0 and "pipnexus-demo-dep" in refused.stderr
    assert nexus.requests == []  # pdm did not even ask an untrusted plain-HTTP host
    run([tool("pdm"), "install"], dict(env, PDM_PYPI_VERIFY_SSL="false"), cwd=project)
    assert nexus.count("/repository/pypi-proxy/packages/pipnexus-demo-dep/", "GET") == 1
