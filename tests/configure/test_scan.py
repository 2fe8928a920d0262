"""Warnings about what bypasses the index (pipnexus/configure/scan.py), with file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

from testbed.httpbase import closed_url
from tests.configure.helpers import ROOT, base_env, run_configure


def test_bypass_warnings_point_at_file_and_line(tmp_path, nexus):
    env = base_env(tmp_path)
    ws = Path(env["GITHUB_WORKSPACE"])
    (ws / "requirements.txt").write_text("# deps\nrequests\n-i https://pypi.org/simple\n")
    (ws / "sub").mkdir()
    (ws / "sub" / "dev-requirements.txt").write_text("--extra-index-url=https://x/simple\n")
    (ws / "uv.lock").write_text("version = 1\n")
    (ws / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.poetry]\nname = 'x'\n")
    (ws / "requirements.in").write_text("requests\n")
    (ws / "node_modules").mkdir()
    (ws / "node_modules" / "requirements.txt").write_text("-i http://ignored/\n")
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    joined = "\n".join(warnings)
    assert "file=requirements.txt,line=3," in joined
    assert "file=sub/dev-requirements.txt,line=1," in joined
    assert "file=uv.lock,line=1," in joined and "uv export --frozen" in joined
    assert "file=pyproject.toml,line=4," in joined and "poetry-plugin-pypi-mirror" in joined
    assert "file=requirements.in,line=1," in joined and "no-emit-index-url" in joined
    assert "ignored" not in joined and "node_modules" not in joined
    assert len(warnings) == 5
    for code in ("requirements-index", "uv-lock-urls", "poetry-mirror-plugin",
                 "pip-compile-emits-index"):
        assert f"title=pipnexus [{code}]::" in joined
    assert "Warnings:" in r.summary

    quiet = run_configure(tmp_path, "--index-url", nexus.index_url(), "--no-warnings", env=env)
    assert "::warning" not in quiet.out


def test_pip_tools_config_and_mirror_plugin_silence_warnings(tmp_path, nexus):
    env = base_env(tmp_path)
    ws = Path(env["GITHUB_WORKSPACE"])
    (ws / "requirements.in").write_text("requests\n")
    (ws / "pyproject.toml").write_text(
        "[tool.poetry]\nname = 'x'\n[tool.poetry.requires-plugins]\n"
        "poetry-plugin-pypi-mirror = '>=0.6'\n[tool.pip-tools]\nemit-index-url = false\n"
    )
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    assert "::warning" not in r.out, r.out


def test_project_dir_option(tmp_path, nexus):
    project = tmp_path / "elsewhere"
    project.mkdir()
    (project / "uv.lock").write_text("")
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--project-dir", str(project),
                      "--format", "shell", github=False)
    assert "uv.lock" in r.err and r.rc == 0
    # the one diagnostic format: path:line: severity: message [code]
    (line,) = [x for x in r.err.splitlines() if "uv.lock" in x]
    assert line.startswith(f"{project}/uv.lock:1: warning: ") and line.endswith(" [uv-lock-urls]")


def test_json_lists_the_diagnostics_with_the_same_fields(tmp_path, nexus):
    project = tmp_path / "elsewhere"
    project.mkdir()
    (project / "uv.lock").write_text("")
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(tmp_path, "--index-url", dead, "--project-dir", str(project),
                      "--python-mirror", "false", "--format", "json", github=False)
    assert r.rc == 0, r.err
    diagnostics = json.loads(r.out)["diagnostics"]
    assert [(d["code"], d["severity"]) for d in diagnostics] == [
        ("uv-lock-urls", "warning"), ("fallback", "warning")
    ]
    assert diagnostics[0] == {
        "path": str(project / "uv.lock"), "line": 1, "col": None, "severity": "warning",
        "code": "uv-lock-urls", "message": diagnostics[0]["message"],
    }
    assert diagnostics[1]["path"] is None and "refused" in diagnostics[1]["message"]
    # stderr carries the same diagnostics as text lines
    assert r.err.splitlines()[-1].startswith(
        "pipnexus configure: warning: Nexus is unhealthy (")
    assert r.err.splitlines()[-1].endswith(" [fallback]")
    none = run_configure(tmp_path, "--index-url", dead, "--require-nexus", "--no-warnings",
                         "--python-mirror", "false", "--format", "json", github=False)
    assert none.rc == 1
    assert [d["code"] for d in json.loads(none.out)["diagnostics"]] == ["no-healthy-index"]


def test_every_code_configure_uses_is_listed():
    from pipnexus.diagnostics import CODES

    used = {"requirements-index", "uv-lock-urls", "poetry-mirror-plugin",
            "pip-compile-emits-index", "env-extra-source", "pip-conf-extra-source",
            "no-system-ca", "fallback", "no-healthy-index", "uv-config-index",
            "direct-reference", "pdm-source", "poetry-source", "pipenv-source", "tox-index",
            "pre-commit-clone", "python-download"}
    assert used <= set(CODES)
    # the scan is split by tool (scan.py, scan_uv.py, scan_requirements.py, ...)
    sources = "".join(
        path.read_text() for path in sorted((ROOT / "pipnexus" / "configure").glob("*.py"))
    )
    for code in used:
        assert f'"{code}"' in sources, code
