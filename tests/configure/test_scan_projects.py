"""The bypass scan on real project shapes: each finding with file, line and code, and the
shapes the proxy variables do cover left silent. Whether the real tools bypass the proxy on
these files is shown by the leak audit's rows (tests/test_leaks.py, testbed/leakmore.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipnexus.configure import scan, scan_toml, scan_uv
from pipnexus.diagnostics import CODES, Diagnostic

NO_PYTHONS = {"PATH": "/nonexistent"}


def _scan(project: Path, environ: dict[str, str] | None = None) -> list[Diagnostic]:
    return scan.bypass_warnings(str(project), {**NO_PYTHONS, **(environ or {})})


def _codes(found: list[Diagnostic], root: Path) -> list[tuple[str, int | None, str]]:
    return [(str(Path(d.path).relative_to(root)) if d.path else "", d.line, d.code)
            for d in found]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_toml_reader_gives_lines_tables_and_values() -> None:
    text = ('a = 1\n[tool.uv]\nextra-index-url = [\n  "https://e/simple",  # c\n]\n'
            '[[tool.uv.index]]\nname = "t"\nurl = \'https://t\'\n[[tool.uv.index]]\n'
            'url = "https://d"\ndefault = true\n[tool.uv.sources]\n'
            'x = { git = "https://g/x", rev = "1" }\nbroken = [\n')
    found = scan_toml.entries(text)
    uv = scan_toml.under(found, "tool", "uv")
    assert [(e.key, e.value, e.line) for e in uv if e.table == ()] == [
        (("extra-index-url",), ["https://e/simple"], 3)]
    assert scan_toml.array_items(uv, "index") == [
        (6, {"name": "t", "url": "https://t"}), (9, {"url": "https://d", "default": True})]
    assert [e.value for e in uv if e.table == ("sources",)] == [
        {"git": "https://g/x", "rev": "1"}]


def test_toml_reader_agrees_with_tomllib_on_the_values_it_reads() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is new in Python 3.11")

    text = ('[project]\nname = "x"\ndependencies = ["a @ https://h/a.whl", \'b>=1\']\n'
            '[tool.pdm]\nsource = [{name = "t", url = "https://t", verify_ssl = false}]\n'
            '[tool.hatch.envs.default]\npython = "3.12"\n')
    want = tomllib.loads(text)
    for e in scan_toml.entries(text):
        node: object = want
        for part in e.table + e.key:
            assert isinstance(node, dict)
            node = node[part]
        assert node == e.value


def test_uv_indexes_that_bypass_and_those_uv_default_index_replaces(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", """\
[project]
name = "x"

[tool.uv]
index-url = "https://replaced.example/simple"
extra-index-url = ["https://extra.example/simple"]

[[tool.uv.index]]
name = "pytorch"
url = "https://download.pytorch.org/whl/cpu"

[[tool.uv.index]]
name = "mine"
url = "https://default.example/simple"
default = true

[[tool.uv.index]]
name = "unused"
url = "https://unused.example/simple"
explicit = true

[[tool.uv.index]]
name = "pinned"
url = "https://pinned.example/simple"
explicit = true

[tool.uv.sources]
torch = { index = "pinned" }
foo = { git = "https://github.com/example/foo", rev = "v1" }
bar = [{ url = "https://example.com/bar-1.0.tar.gz", marker = "sys_platform == 'linux'" }]
baz = { path = "../baz" }
""")
    found = _scan(tmp_path)
    assert _codes(found, tmp_path) == [
        ("pyproject.toml", 8, "uv-config-index"),
        ("pyproject.toml", 22, "uv-config-index"),
        ("pyproject.toml", 6, "uv-config-index"),
        ("pyproject.toml", 29, "direct-reference"),
        ("pyproject.toml", 30, "direct-reference"),
    ]
    text = "\n".join(d.message for d in found)
    assert "download.pytorch.org" in text and "pinned.example" in text
    assert "replaced.example" not in text and "default.example" not in text
    assert "unused.example" not in text


def test_a_uv_toml_beside_pyproject_wins(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml",
           '[project]\nname = "x"\n[[tool.uv.index]]\nurl = "https://ignored.example"\n')
    _write(tmp_path / "uv.toml", '[[index]]\nurl = "https://pypi.org/simple"\n'
           '[pip]\nfind-links = ["https://wheels.example/"]\n')
    found = _scan(tmp_path)
    assert _codes(found, tmp_path) == [("uv.toml", 1, "uv-config-index"),
                                       ("uv.toml", 4, "uv-config-index")]
    assert "ignored.example" not in "\n".join(d.message for d in found)


def test_uv_user_and_system_files_as_uv_discovers_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    user = _write(home / ".config" / "uv" / "uv.toml",
                  '[[index]]\nurl = "https://pypi.org/simple"\n')
    xdg = _write(tmp_path / "xdg" / "uv" / "uv.toml", 'extra-index-url = ["https://x.example"]\n')
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": f"/nonexistent:{tmp_path / 'xdg'}"}
    assert [d.path for d in _scan(empty, env)] == [str(user), str(xdg)]
    # XDG_CONFIG_HOME wins over ~/.config; a relative one is ignored (etcetera)
    assert scan_uv.user_system_files({**env, "XDG_CONFIG_HOME": str(tmp_path)}) == [str(xdg)]
    assert scan_uv.user_system_files({**env, "XDG_CONFIG_HOME": "rel"})[0] == str(user)
    assert scan_uv.user_system_files({**env, "UV_CONFIG_FILE": str(xdg)}) == [str(xdg)]
    assert scan_uv.user_system_files({**env, "UV_NO_CONFIG": "1"}) == []
    assert scan_uv.user_system_files({**env, "UV_NO_CONFIG": "0"}) == [str(user), str(xdg)]
    # a default index there is what UV_DEFAULT_INDEX replaces
    user.write_text('[[index]]\nurl = "https://pypi.org/simple"\ndefault = true\n')
    assert [d.path for d in _scan(empty, env)] == [str(xdg)]


def test_requirements_includes_directories_and_direct_references(tmp_path: Path) -> None:
    _write(tmp_path / "requirements.txt", "-r requirements/base.txt\nrequests\n")
    _write(tmp_path / "requirements" / "base.txt",
           "flask  # web\n--extra-index-url https://pypi.org/simple\n"
           "idna @ https://files.pythonhosted.org/packages/idna-3.10-py3-none-any.whl\n"
           "-c ../pins.cfg\ngit+https://github.com/example/foo@v1#egg=foo\n"
           "# x @ https://commented.example/x.whl\n")
    _write(tmp_path / "pins.cfg", "--find-links=https://wheels.example/\n")
    _write(tmp_path / "docs" / "requirements" / "docs.in", "sphinx\n")
    found = _scan(tmp_path)
    assert _codes(found, tmp_path) == [
        ("requirements/base.txt", 2, "requirements-index"),
        ("requirements/base.txt", 3, "direct-reference"),
        ("requirements/base.txt", 5, "direct-reference"),
        ("pins.cfg", 1, "requirements-index"),
        ("docs/requirements/docs.in", 1, "pip-compile-emits-index"),
    ]
    assert "commented" not in "\n".join(d.message for d in found)


def test_pyproject_direct_references(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", """\
[build-system]
requires = ["setuptools @ git+https://github.com/pypa/setuptools@v80"]

[project]
name = "x"
dependencies = [
    "idna>=3",
    "certifi @ https://files.pythonhosted.org/packages/certifi-2025.1.1-py3-none-any.whl",
]
urls = { Homepage = "https://example.com" }

[dependency-groups]
dev = ["pytest @ https://example.com/pytest.whl"]
""")
    assert _codes(_scan(tmp_path), tmp_path) == [
        ("pyproject.toml", 2, "direct-reference"), ("pyproject.toml", 8, "direct-reference"),
        ("pyproject.toml", 13, "direct-reference")]


def test_pdm_and_poetry_sources(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", """\
[project]
name = "x"

[[tool.pdm.source]]
name = "pypi"
url = "https://pypi.org/simple"

[[tool.pdm.source]]
name = "torch"
url = "https://download.pytorch.org/whl/cpu"

[tool.poetry.dependencies]
python = ">=3.9"
torch = { version = "*", source = "pinned" }

[tool.poetry.requires-plugins]
poetry-plugin-pypi-mirror = ">=0.6"

[[tool.poetry.source]]
name = "extra"
url = "https://extra.example/simple"
priority = "supplemental"

[[tool.poetry.source]]
name = "unused"
url = "https://unused.example/simple"
priority = "explicit"

[[tool.poetry.source]]
name = "pinned"
url = "https://pinned.example/simple"
priority = "explicit"
""")
    assert _codes(_scan(tmp_path), tmp_path) == [
        ("pyproject.toml", 8, "pdm-source"), ("pyproject.toml", 19, "poetry-source"),
        ("pyproject.toml", 29, "poetry-source")]


def test_tox_index_settings_in_every_format(tmp_path: Path) -> None:
    _write(tmp_path / "tox.ini", """\
[tox]
envlist = py

[testenv]
setenv =
    PIP_EXTRA_INDEX_URL = https://pypi.org/simple
    COVERAGE = 1
set_env = UV_INDEX=https://idx.example/simple
install_command = python -m pip install --index-url https://pypi.org/simple {opts} {packages}
; PIP_INDEX_URL = https://commented.example
passenv = PIP_INDEX_URL
""")
    _write(tmp_path / "b" / "tox.toml",
           '[env_run_base]\nset_env = { PIP_INDEX_URL = "https://pypi.org/simple" }\n')
    _write(tmp_path / "c" / "pyproject.toml",
           '[project]\nname = "c"\n[tool.tox.env_run_base.set_env]\n'
           'UV_DEFAULT_INDEX = "https://pypi.org/simple"\n[tool.other]\n'
           'PIP_INDEX_URL = "https://not-tox.example"\n')
    assert _codes(_scan(tmp_path), tmp_path) == [
        ("tox.ini", 6, "tox-index"), ("tox.ini", 8, "tox-index"), ("tox.ini", 9, "tox-index"),
        ("b/tox.toml", 2, "tox-index"), ("c/pyproject.toml", 4, "tox-index")]


def test_interpreter_downloads_and_pre_commit_clones_are_notes(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _write(bin_dir / "python3.12", "").chmod(0o755)
    _write(tmp_path / ".python-version", "3.13\n")
    _write(tmp_path / "hatch.toml", '[envs.default]\npython = "3.12"\n'
           '[[envs.test.matrix]]\npython = ["3.12", "3.14"]\n')
    _write(tmp_path / ".pre-commit-config.yaml",
           "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.1\n"
           "  - repo: local\n    hooks: []\n")
    found = scan.bypass_warnings(str(tmp_path), {"PATH": str(bin_dir)})
    assert [(Path(d.path or "").name, d.line, d.code, d.severity) for d in found] == [
        (".pre-commit-config.yaml", 2, "pre-commit-clone", "note"),
        (".python-version", 1, "python-download", "note"),
        ("hatch.toml", 4, "python-download", "note")]
    assert "3.14" in found[2].message
    # the interpreter mirror configure set covers uv's download
    mirrored = {"PATH": str(bin_dir), "UV_PYTHON_INSTALL_MIRROR": "http://nexus/repository/p"}
    assert "python-version" not in {Path(d.path or "").name.lstrip(".")
                                    for d in scan.bypass_warnings(str(tmp_path), mirrored)}


def test_credentials_in_found_urls_are_redacted(tmp_path: Path) -> None:
    _write(tmp_path / "uv.toml", '[[index]]\nurl = "https://user:s3cret@idx.example/simple"\n')
    _write(tmp_path / "requirements.txt", "x @ https://tok3n@files.example/x.whl\n")
    text = "\n".join(d.message for d in _scan(tmp_path))
    assert "s3cret" not in text and "tok3n" not in text and "idx.example" in text


def test_a_plain_project_is_silent_and_unreadable_toml_does_not_stop_the_scan(
    tmp_path: Path
) -> None:
    _write(tmp_path / "pyproject.toml", '[project]\nname = "x"\ndependencies = ["idna"]\n'
           '[tool.uv]\nindex-url = "https://pypi.org/simple"\n[[tool.uv.index]]\n'
           'url = "https://pypi.org/simple"\ndefault = true\n')
    _write(tmp_path / "requirements.txt", "idna==3.10\n-r other.txt\n")
    _write(tmp_path / "other.txt", "certifi\n")
    assert _scan(tmp_path) == []
    _write(tmp_path / "uv.toml", '[[index\nurl = = "x"\n[[index]]\nurl = "https://x.example"\n')
    assert _codes(_scan(tmp_path), tmp_path) == [("uv.toml", 3, "uv-config-index")]


def test_new_codes_are_listed() -> None:
    for code in ("uv-config-index", "direct-reference", "pdm-source", "poetry-source",
                 "tox-index", "pre-commit-clone", "python-download"):
        assert code in CODES


def test_pipfile_sources_that_pipenv_mirror_does_not_replace(tmp_path: Path) -> None:
    # the shape of pipenv's own example of an index-restricted package (pypa/pipenv:
    # docs/indexes.md); PIPENV_PYPI_MIRROR replaces the pypi.org sources only
    _write(tmp_path / "Pipfile", """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[[source]]
url = "https://download.pytorch.org/whl/cu113/"
verify_ssl = false
name = "pytorch"

[dev-packages]

[packages]
torch = {version="*", index="pytorch"}
numpy = {version="*"}
""")
    _write(tmp_path / "b" / "Pipfile",
           '[[source]]\nurl = "https://pypi.python.org/simple/"\nname = "pypi"\n'
           '[[source]]\nname = "corp"\nurl = "https://user:s3cret@pypi.corp.example/simple"\n'
           '[packages]\nacme = {version="*", index="corp"}\n')
    found = _scan(tmp_path)
    assert _codes(found, tmp_path) == [("Pipfile", 6, "pipenv-source"),
                                       ("b/Pipfile", 4, "pipenv-source")]
    assert "pytorch = https://download.pytorch.org/whl/cu113/" in found[0].message
    assert "s3cret" not in found[1].message
