"""``nexus values`` -> ``nexus apply`` -> ``configure`` probes it healthy -> pip installs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipnexus.cli import main
from testbed.installers import Venv
from tests.nexus.conftest import ADMIN_PASSWORD, Admin

pytestmark = pytest.mark.installers


@pytest.mark.slow
def test_values_apply_configure_pip_install(
    admin: Admin, tmp_path: Path, venv: Venv, capsys: pytest.CaptureFixture[str]
) -> None:
    values_file = tmp_path / "values.yaml"
    assert (
        main(["nexus", "values", "--remote-url", admin.upstream_url, "-o", str(values_file)]) == 0
    )
    assert main(["nexus", "lint", str(values_file)]) == 0
    capsys.readouterr()
    admin.double.anonymous_enabled = False
    rc = main(
        [
            "nexus",
            "apply",
            "--url",
            admin.url,
            "--password-env",
            "NEXUS_PW",
            "--values",
            str(values_file),
        ]
    )
    out, err = capsys.readouterr()
    assert (rc, err) == (0, "")
    assert "created pypi-proxy" in out and "enabled anonymous access" in out
    assert ADMIN_PASSWORD not in out

    assert main(["nexus", "status", "--url", admin.url, "--repository", "pypi-proxy"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "healthy"

    rc = main(
        [
            "configure",
            "--nexus-url",
            admin.url,
            "--repository",
            "pypi-proxy",
            "--format",
            "json",
            "--no-warnings",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    decision = json.loads(out)
    assert decision["source"] == "nexus", decision
    index_url = decision["index_url"]
    assert index_url == admin.double.index_url("pypi-proxy")

    venv.pip_install("pipnexus-demo-pkg", index_url=index_url, extra_args=["--no-cache-dir"])
    assert venv.has("pipnexus-demo-pkg", "1.0")
    assert venv.has("pipnexus-demo-dep", "1.0")
    assert admin.double.fetch_count("pipnexus-demo-pkg") >= 1
