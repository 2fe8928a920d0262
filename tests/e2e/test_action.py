"""The real action under act: probe the Nexus double, configure, and later steps install.

Two loopback indexes: the Nexus double proxies ``behind`` (standard packages plus
``pipnexus-behind-nexus``, which exists nowhere else), and ``fallback`` (the bed's session
upstream, standard packages only) plays pypi.org. The job's python3 is the host's; installs
go into a copy of the bed's template venv, with the host's pip/uv configuration switched off
by the harness.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import installers
from testbed.httpbase import closed_url
from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from tests.e2e.act_harness import dump_outputs
from tests.e2e.conftest import ONLY_BEHIND
from tests.pythons import python39

pytestmark = [pytest.mark.e2e, pytest.mark.installers]



@pytest.fixture
def double(behind: Upstream) -> Iterator[NexusDouble]:
    with NexusDouble(behind.base_url + "/") as server:
        yield server


# one job on act's host runner; its first step is the checkout act replaces by this repository
JOB = (
    "on: push\n"
    "jobs:\n"
    "  e2e:\n"
    "    runs-on: ubuntu-latest\n"
    "    steps:\n"
    "      - uses: actions/checkout@v4\n"
)


def workflow(with_: dict[str, str], install: str) -> str:
    inputs = "".join(f"          {k}: {v!r}\n" for k, v in with_.items())
    body = "\n".join(f"          {line}" for line in install.strip().splitlines())
    return (
        f"{JOB}"
        "      - id: pipnexus\n"
        "        uses: ./\n"
        "        with:\n"
        f"{inputs}"
        f"{dump_outputs('pipnexus')}"
        "      - name: install\n"
        "        run: |\n"
        f"{body}\n"
    )


PIP_AND_UV = """
env | grep -E '^(PIP|UV|PDM|PIPENV|POETRY)_' | sort > "$PIPNEXUS_E2E_OUT/env.txt"
"$VENV/bin/python" -m pip install --timeout 10 --retries 0 --no-cache-dir {pip_pkg}
"$VENV/bin/python" -c "import {pip_mod} as m; print(m.__version__)" > "$PIPNEXUS_E2E_OUT/pip.txt"
"$UV" pip install --python "$VENV/bin/python" --no-cache {uv_pkg}
"$VENV/bin/python" -c "import {uv_mod} as m; print(m.__version__)" > "$PIPNEXUS_E2E_OUT/uv.txt"
"""


def job_env(tmp_path: Path, venv_factory: installers.VenvFactory) -> dict[str, str]:
    venv = venv_factory.new(tmp_path / "venv", {})
    return {"VENV": str(venv.path), "UV": installers.tool("uv"), "UV_NO_CACHE": "1"}


def test_healthy_nexus_later_steps_install_through_it(
    run_act, tmp_path, venv_factory, double, behind, upstream
):
    wf = workflow(
        {"index-url": double.index_url(), "fallback-index-url": upstream.index_url},
        PIP_AND_UV.format(
            pip_pkg=ONLY_BEHIND, pip_mod="pipnexus_behind_nexus",
            uv_pkg="pipnexus-demo-pkg", uv_mod="pipnexus_demo_pkg",
        ),
    )
    result = run_act(wf, env=job_env(tmp_path, venv_factory))
    assert result.returncode == 0, result.log
    outputs = result.outputs("pipnexus")
    assert outputs["source"] == "nexus"
    assert outputs["index-url"] == double.index_url()
    assert outputs["trusted-host"] == "127.0.0.1"
    assert outputs["reason"] == ""
    assert result.file("pip.txt").strip() == "2.0"
    assert result.file("uv.txt").strip() == "1.0"
    env = result.file("env.txt")
    assert f"PIP_INDEX_URL={double.index_url()}\n" in env
    assert f"UV_DEFAULT_INDEX={double.index_url()}\n" in env
    # everything came through the proxy, nothing from the fallback
    assert double.count("/repository/pypi-proxy/packages/pipnexus-demo-pkg/", "GET") >= 1
    assert double.count("/repository/pypi-proxy/packages/pipnexus-behind-nexus/", "GET") >= 1
    assert upstream.count("/files/") == 0 and upstream.count("/simple/") == 0


def test_dead_nexus_falls_back_and_installs_from_the_fallback(
    run_act, tmp_path, venv_factory, upstream
):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    wf = workflow(
        {"index-url": dead, "fallback-index-url": upstream.index_url},
        PIP_AND_UV.format(
            pip_pkg="pipnexus-demo-pkg", pip_mod="pipnexus_demo_pkg",
            uv_pkg="pipnexus-demo-new", uv_mod="pipnexus_demo_new",
        ),
    )
    result = run_act(wf, env=job_env(tmp_path, venv_factory))
    assert result.returncode == 0, result.log
    outputs = result.outputs("pipnexus")
    assert (outputs["source"], outputs["reason"]) == ("fallback", "refused")
    assert outputs["index-url"] == upstream.index_url
    assert "::warning title=pipnexus [fallback]::Nexus is unhealthy" in result.log
    assert result.file("pip.txt").strip() == "1.0"
    assert result.file("uv.txt").strip() == "1.0"
    assert upstream.count("/files/pipnexus_demo_pkg-1.0") >= 1
    assert upstream.count("/files/pipnexus_demo_new-1.0") >= 1


def test_require_nexus_with_dead_nexus_fails_the_step(run_act, tmp_path, upstream):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    wf = workflow(
        {"index-url": dead, "fallback-index-url": upstream.index_url, "require-nexus": "true"},
        'echo "must not run" > "$PIPNEXUS_E2E_OUT/ran.txt"',
    )
    result = run_act(wf)
    assert result.returncode != 0
    assert not (result.out_dir / "ran.txt").exists()
    assert "require-nexus" in result.log and "refused" in result.log
    assert result.outputs("pipnexus")["source"] == "none"


def test_secret_password_is_masked_and_used(run_act, tmp_path, venv_factory, behind):
    password = "s3cr3t-Pa55:w@rd"
    with NexusDouble(behind.base_url + "/") as private:
        private.anonymous_enabled = False
        private.users = {"ci": password}
        wf = workflow(
            {
                "index-url": private.index_url(),
                "username": "ci",
                "password": "${{ secrets.NEXUS_PASSWORD }}",
                "fallback-index-url": "https://fallback.invalid/simple",
            },
            '"$VENV/bin/python" -m pip install --timeout 10 --retries 0 --no-cache-dir '
            f"{ONLY_BEHIND}\n"
            'echo "$PIP_INDEX_URL" | grep -c "@" > "$PIPNEXUS_E2E_OUT/has-userinfo.txt"',
        )
        result = run_act(
            wf, env=job_env(tmp_path, venv_factory), secrets={"NEXUS_PASSWORD": password}
        )
    assert result.returncode == 0, result.log
    assert result.outputs("pipnexus")["source"] == "nexus"
    assert result.outputs("pipnexus")["index-url"] == private.index_url().replace(
        "http://", "http://ci:***@"
    )
    assert result.file("has-userinfo.txt").strip() == "1"
    assert password not in result.log
    assert "s3cr3t" not in result.log


def test_no_inputs_uses_the_runner_environment(run_act, tmp_path, double, upstream):
    # what an ARC scale set's pod template provides (examples/arc/)
    base = double.base_url
    wf = workflow({"fallback-index-url": upstream.index_url}, "true")
    result = run_act(wf, env={"PIPNEXUS_NEXUS_URL": base, "PIPNEXUS_REPOSITORY": "pypi-proxy"})
    assert result.returncode == 0, result.log
    assert result.outputs("pipnexus")["source"] == "nexus"
    assert result.outputs("pipnexus")["index-url"] == double.index_url()


def test_clear_error_without_python3(run_act, tmp_path):
    # a PATH with bash and the basics but no python3 (like a bare runner image without it)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("bash", "sh", "env", "cat", "git", "printf"):
        found = shutil.which(name)
        if found:
            (bin_dir / name).symlink_to(found)
    wf = workflow({"index-url": "http://127.0.0.1:9/simple/"}, "true")
    result = run_act(wf, env={"PATH": str(bin_dir)})
    assert result.returncode != 0
    assert "::error title=pipnexus::python3 was not found on PATH" in result.log


def test_runner_python_setup_cannot_interfere(run_act, tmp_path, double, upstream):
    # PYTHON* variables and a hostile sitecustomize/pipnexus on PYTHONPATH are ignored (-I -S);
    # python3 is the oldest supported version when the machine has it
    evil = tmp_path / "evil"
    (evil / "pipnexus").mkdir(parents=True)
    (evil / "pipnexus" / "__init__.py").write_text("raise SystemExit('wrong pipnexus')\n")
    (evil / "sitecustomize.py").write_text("raise SystemExit('sitecustomize ran')\n")
    path = os.environ.get("PATH", "")
    old = python39()
    if old:
        bin_dir = tmp_path / "py39"
        bin_dir.mkdir()
        (bin_dir / "python3").symlink_to(old)
        path = f"{bin_dir}{os.pathsep}{path}"
    wf = workflow(
        {"index-url": double.index_url(), "fallback-index-url": upstream.index_url},
        'python3 -c "import sys; print(sys.version_info[:2])" > "$PIPNEXUS_E2E_OUT/py.txt" '
        "|| true",
    )
    env = {"PATH": path, "PYTHONPATH": str(evil), "PYTHONHOME": str(evil),
           "PYTHONSTARTUP": str(evil / "sitecustomize.py")}
    result = run_act(wf, env=env)
    assert result.returncode == 0, result.log
    assert result.outputs("pipnexus")["source"] == "nexus"
    assert "wrong pipnexus" not in result.log and "sitecustomize ran" not in result.log


def test_pip_conf_file_serves_tools_that_ignore_the_environment(
    run_act, tmp_path, venv_factory, double, upstream
):
    # a later step without PIP_INDEX_URL (like sudo pip) still finds the index in the file;
    # XDG_CONFIG_DIRS hides the host's global pip config
    wf = workflow(
        {"index-url": double.index_url(), "fallback-index-url": upstream.index_url,
         "pip-conf": "file"},
        'cat "$PIP_CONFIG_FILE" > "$PIPNEXUS_E2E_OUT/pip.conf"\n'
        'env -u PIP_INDEX_URL -u PIP_TRUSTED_HOST XDG_CONFIG_DIRS="$HOME/no-global" '
        '"$VENV/bin/python" -m pip install --timeout 10 --retries 0 --no-cache-dir '
        f"{ONLY_BEHIND}\n"
        '"$VENV/bin/python" -c "import pipnexus_behind_nexus"',
    )
    result = run_act(wf, env=job_env(tmp_path, venv_factory))
    assert result.returncode == 0, result.log
    conf = result.file("pip.conf")
    assert f"index-url = {double.index_url()}" in conf and "trusted-host = 127.0.0.1" in conf
    assert double.count("/repository/pypi-proxy/packages/pipnexus-behind-nexus/", "GET") >= 1


def test_no_index_anywhere_leaves_the_job_alone(run_act, tmp_path):
    # a GitHub-hosted runner: no inputs, no PIPNEXUS_* (the harness passes none)
    snapshot = (
        "env | grep -E '^(PIP|UV|PDM|PIPENV|POETRY|REQUESTS|SSL_CERT)_' | sort "
        '> "$PIPNEXUS_E2E_OUT/env-{}.txt"'
    )
    wf = (
        f"{JOB}"
        f"      - run: {snapshot.format('before')}\n"
        "      - id: pipnexus\n"
        "        uses: ./\n"
        f"{dump_outputs('pipnexus')}"
        f"      - run: {snapshot.format('after')}\n"
    )
    result = run_act(wf)
    assert result.returncode == 0, result.log
    outputs = result.outputs("pipnexus")
    assert (outputs["source"], outputs["reason"]) == ("none", "not-configured")
    assert outputs["index-url"] == "" and outputs["python-mirror"] == ""
    assert result.file("env-after.txt") == result.file("env-before.txt")  # GITHUB_ENV unchanged
    assert "no package index is given" in result.log


def test_no_index_anywhere_with_require_nexus_fails_the_step(run_act, tmp_path):
    wf = workflow({"require-nexus": "true"}, 'echo "must not run" > "$PIPNEXUS_E2E_OUT/ran.txt"')
    result = run_act(wf)
    assert result.returncode != 0
    assert not (result.out_dir / "ran.txt").exists()
    outputs = result.outputs("pipnexus")
    assert (outputs["source"], outputs["reason"]) == ("none", "not-configured")
    assert "require-nexus is set" in result.log
