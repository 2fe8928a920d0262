"""The installer variable table (pipnexus/configure/installers.py) and extra sources: cleared
when they name public PyPI, else kept with advice.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from pipnexus.configure import installers
from testbed.httpbase import closed_url
from tests.configure.helpers import base_env, run_configure


def test_installer_table_has_a_public_doc_for_each_row():
    names = [v.name for v in installers.VARIABLES]
    assert len(names) == len(set(names))
    assert list(installers.installer_env("https://n/simple/", None, "/ca.pem")) == names
    assert list(installers.installer_env("http://n/simple/", "n", None)) == [
        v.name for v in installers.VARIABLES if v.value != installers.CA_BUNDLE
    ]
    for row in (*installers.VARIABLES, *installers.EXTRA_SOURCES):
        assert row.doc.startswith("https://") and row.installer, row


PUBLIC_SOURCES = {
    "PIP_EXTRA_INDEX_URL": "https://pypi.org/simple",
    "PIP_FIND_LINKS": "https://files.pythonhosted.org/packages/ https://PyPI.org./simple/x/",
    "UV_INDEX": "pypi=https://pypi.org/simple http://pypi.python.org/simple",
    "UV_EXTRA_INDEX_URL": "https://www.pypi.org/simple",
    "UV_FIND_LINKS": "https://pypi.org/a/,https://pypi.org:443/b/",
}


@pytest.mark.parametrize(("value", "public"), [
    ("https://pypi.org/simple", True),
    ("http://PYPI.ORG/simple/", True),
    ("pypi=https://pypi.org/simple", True),
    ("https://pypi.org/simple  https://files.pythonhosted.org/packages/", True),
    ("https://pypi.org/a,https://www.pypi.org/b", True),
    ("https://user:tok@pypi.python.org:443/simple", True),
    ("https://pypi.org/simple https://private.example/simple", False),
    ("https://pypi.org.evil.example/simple", False),
    ("https://notpypi.org/simple", False),
    ("/opt/wheels", False),
    ("./pypi.org/wheels", False),
    ("file:///opt/pypi/simple", False),
    ("http://[::1/simple", False),
    ("", False),
    ("   ", False),
])
def test_is_public_pypi(value, public):
    assert installers.is_public_pypi(value) is public


def test_public_extra_sources_are_cleared_with_one_line_each(tmp_path, nexus):
    r = run_configure(tmp_path, "--index-url", nexus.index_url(),
                      env=base_env(tmp_path, **PUBLIC_SOURCES))
    assert r.rc == 0, r.err
    got = r.env_dict
    assert {name: got[name] for name in PUBLIC_SOURCES} == dict.fromkeys(PUBLIC_SOURCES, "")
    assert got["PIP_INDEX_URL"] == nexus.index_url()
    assert "::warning" not in r.out
    notes = [line for line in r.out.splitlines() if "names only public PyPI" in line]
    assert len(notes) == len(PUBLIC_SOURCES)
    assert all("set to empty, so installers fetch from the Nexus proxy alone" in n for n in notes)
    for name in PUBLIC_SOURCES:
        row = next(line for line in r.summary.splitlines() if line.startswith(f"| `{name}` |"))
        assert "empty (cleared: was `" in row and "only public PyPI" in row


def test_public_extra_sources_are_cleared_on_fallback_too(tmp_path):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    env = base_env(tmp_path, UV_INDEX="https://pypi.org/simple")
    r = run_configure(tmp_path, "--index-url", dead, env=env)
    assert r.outputs["source"] == "fallback"
    assert r.env_dict["UV_INDEX"] == "" and "the fallback index alone" in r.out
    none = run_configure(tmp_path, "--index-url", dead, "--require-nexus", env=env)
    assert none.rc == 1 and none.env == []
    assert "UV_INDEX=https://pypi.org/simple is set" in none.out  # nothing set: warned


def test_cleared_sources_in_shell_and_dotenv(tmp_path, nexus):
    env = base_env(tmp_path, **PUBLIC_SOURCES)
    shell = run_configure(tmp_path, "--format", "shell", "--index-url", nexus.index_url(),
                          env=env, github=False)
    assert shell.rc == 0
    script = shell.out + "\n" + "".join(
        f'printf "%s=%s|" {name} "${{{name}-unset}}"\n' for name in PUBLIC_SOURCES
    )
    env_shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                               timeout=30, env={**env, "PATH": os.environ["PATH"]})
    assert env_shown.stdout == "".join(f"{name}=|" for name in PUBLIC_SOURCES)
    assert "names only public PyPI" in shell.err and "warning" not in shell.err
    dotenv = run_configure(tmp_path, "--format", "dotenv", "--index-url", nexus.index_url(),
                           env=env, github=False)
    lines = dict(line.split("=", 1) for line in dotenv.out.splitlines())
    assert {name: lines[name] for name in PUBLIC_SOURCES} == dict.fromkeys(PUBLIC_SOURCES, "")


def test_other_extra_sources_are_kept_with_advice(tmp_path, nexus):
    kept = {
        "PIP_EXTRA_INDEX_URL": "https://ci:s3cret-tok@private.example/simple",
        "PIP_FIND_LINKS": "/opt/wheels",
        "UV_INDEX": "pypi=https://pypi.org/simple internal=https://private.example/simple",
    }
    r = run_configure(tmp_path, "--index-url", nexus.index_url(),
                      env=base_env(tmp_path, **kept))
    assert r.rc == 0, r.err
    assert not set(kept) & set(r.env_dict)
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 3
    for name, w in zip(kept, warnings):
        assert f"{name}=" in w and "unset it if the job does not need it" in w
    assert "s3cret-tok" not in r.out + r.summary and "ci:***@private.example" in r.out
