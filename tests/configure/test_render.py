"""What configure writes (pipnexus/configure/render.py): json, shell, dotenv and github, and
annotations that cannot start a workflow command.
"""

from __future__ import annotations

import json
import subprocess

from testbed.httpbase import closed_url
from tests.configure.helpers import INSTALLER_VARS, run_configure


def test_json_decision_shape(tmp_path, nexus):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(
        tmp_path, "--format", "json", "--index-url", dead, "--index-url", nexus.index_url(),
        github=False,
    )
    assert r.rc == 0
    decision = json.loads(r.out)
    assert list(decision) == [
        "source", "index_url", "trusted_host", "reason", "latency_ms", "candidates",
        "python_mirror", "diagnostics",
    ]
    assert decision["source"] == "nexus" and decision["trusted_host"] == "127.0.0.1"
    assert [list(c) for c in decision["candidates"]] == [
        ["url", "healthy", "reason", "detail", "latency_ms"]
    ] * 2
    assert [c["healthy"] for c in decision["candidates"]] == [False, True]


def test_shell_format_is_evaluable(tmp_path, nexus):
    r = run_configure(tmp_path, "--format", "shell", "--index-url", nexus.index_url(),
                      github=False)
    assert r.rc == 0
    script = r.out + '\nprintf "%s|%s" "$PIP_INDEX_URL" "$PIP_TRUSTED_HOST"'
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert shown.stdout == f"{nexus.index_url()}|127.0.0.1"


def test_dotenv_format(tmp_path, nexus):
    r = run_configure(tmp_path, "--format", "dotenv", "--index-url", nexus.index_url(),
                      github=False)
    lines = dict(line.split("=", 1) for line in r.out.splitlines())
    assert set(lines) == INSTALLER_VARS and lines["UV_DEFAULT_INDEX"] == nexus.index_url()


def test_auto_format(tmp_path, nexus):
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--format", "auto")
    assert "export " not in r.out
    assert r.outputs["source"] == "nexus" and "PIP_INDEX_URL" in r.env_dict
    outside = run_configure(tmp_path, "--index-url", nexus.index_url(), github=False)
    assert "export PIP_INDEX_URL=" in outside.out


def test_github_format_needs_github_env(tmp_path, nexus):
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--format", "github",
                      github=False)
    assert r.rc == 2 and "GITHUB_ENV" in r.err


def test_file_names_with_line_breaks_cannot_start_commands(tmp_path, nexus):
    project = tmp_path / "proj"
    odd = project / "x\n::error::injected"
    odd.mkdir(parents=True)
    (odd / "uv.lock").write_text("")
    for fmt, github in (("github", True), ("shell", False)):
        r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--format", fmt,
                          "--project-dir", str(project), github=github)
        assert r.rc == 0
        for line in (r.out + r.err).splitlines():
            assert not line.startswith("::error"), line
        assert "uv.lock" in r.out + r.err
