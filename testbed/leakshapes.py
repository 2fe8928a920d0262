"""Leak audit rows for real project shapes (testbed/leakaudit.py): the files the bypass scan
(pipnexus/configure/scan*.py) reads, given to the real tool with config discovery on.

Each "known" row shows the premise of one warning: the tool, run on that file with
``configure``'s variables, reaches a host that is not the cache (the witnesses see it), and
``configure`` reported the code in ``expect`` for it. Each row without "known" is a shape the
proxy variables do cover: the tool stays on the cache and ``configure`` reports none of the
codes in ``expect``. Hosts named here are never reached: the HTTPS_PROXY trap answers 502 and
the namespace has no route out.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from testbed.leakaudit import (
    PIPFILE,
    PKG,
    Case,
    Step,
    pip_command,
    pip_venv,
    poetry_project,
    project,
    tox_ini,
    write_file,
)

PYPI = "https://pypi.org/simple"
TORCH = "https://download.pytorch.org/whl/cpu"
WHEEL = ("https://files.pythonhosted.org/packages/00/00/"
         "pipnexus_demo_pkg-1.0-py3-none-any.whl")
USER_CONFIG = {"XDG_CONFIG_HOME": "{work}/config"}  # the runner's ~/.config
# PATH without pyenv's shims, which answer for every version: a runner has no such thing
BARE_PATH = {"PATH": os.pathsep.join(
    p for p in os.environ.get("PATH", "").split(os.pathsep) if ".pyenv" not in p)}


def _uv_user(work: Path, default: bool) -> list[Step]:
    write_file(work / "config" / "uv" / "uv.toml",
           f'[[index]]\nname = "pypi"\nurl = "{PYPI}"\n' + ("default = true\n" if default else ""))
    cmd = ["uv", "pip", "install", "--python", str(pip_venv(work)), PKG]
    how = "default = true" if default else "not default"
    return [Step(f"uv pip install (~/.config/uv/uv.toml [[index]] pypi, {how})", "uv", cmd,
                 work / "proj")]


def uv_user_index(work: Path) -> list[Step]:
    (work / "proj").mkdir(parents=True, exist_ok=True)
    return _uv_user(work, default=False)


def uv_user_default(work: Path) -> list[Step]:
    (work / "proj").mkdir(parents=True, exist_ok=True)
    return _uv_user(work, default=True)


def uv_project_index(work: Path) -> list[Step]:
    proj = project(work, f'[[tool.uv.index]]\nname = "pytorch"\nurl = "{TORCH}"\n')
    return [Step("uv lock ([[tool.uv.index]] pytorch)", "uv", ["uv", "lock"], proj)]


def uv_project_default(work: Path) -> list[Step]:
    proj = project(work, f'[tool.uv]\nindex-url = "{PYPI}"\n\n[[tool.uv.index]]\n'
                          f'name = "pypi"\nurl = "{PYPI}"\ndefault = true\n')
    return [Step("uv lock ([tool.uv] index-url, default index: pypi)", "uv", ["uv", "lock"],
                 proj)]


def uv_direct_reference(work: Path) -> list[Step]:
    proj = project(work, deps=(f"{PKG} @ {WHEEL}",))
    return [Step("uv lock (dependency name @ https://files.pythonhosted.org/...)", "uv",
                 ["uv", "lock"], proj)]


def uv_source_url(work: Path) -> list[Step]:
    proj = project(work, f'[tool.uv.sources]\n{PKG} = {{ url = "{WHEEL}" }}\n')
    return [Step("uv lock ([tool.uv.sources] url = https://files.pythonhosted.org/...)", "uv",
                 ["uv", "lock"], proj)]


def uv_toml_extra(work: Path) -> list[Step]:
    proj = project(work)
    write_file(proj / "uv.toml", f'extra-index-url = ["{PYPI}"]\n')
    return [Step("uv lock (uv.toml extra-index-url = pypi)", "uv", ["uv", "lock"], proj)]


def _uv_explicit(work: Path, pinned: bool) -> list[Step]:
    pin = f'[tool.uv.sources]\n{PKG} = {{ index = "torch" }}\n\n' if pinned else ""
    proj = project(work, f'{pin}[[tool.uv.index]]\nname = "torch"\nurl = "{TORCH}"\n'
                          'explicit = true\n')
    how = "a package pinned to it" if pinned else "no package pinned to it"
    return [Step(f"uv lock (explicit [[tool.uv.index]] torch, {how})", "uv", ["uv", "lock"],
                 proj)]


def uv_explicit_pinned(work: Path) -> list[Step]:
    return _uv_explicit(work, pinned=True)


def uv_explicit_unused(work: Path) -> list[Step]:
    return _uv_explicit(work, pinned=False)


def tox_install_command(work: Path) -> list[Step]:
    ini = tox_ini(work, "install_command = python -m pip install --index-url "
                  f"{PYPI} {{opts}} {{packages}}\n")
    return [Step("tox (install_command --index-url pypi)", "tox",
                 ["tox", "-c", str(ini), "-e", "leak"], ini.parent)]


def pip_req_include(work: Path) -> list[Step]:
    proj = work / "proj"
    write_file(proj / "requirements" / "base.txt", f"--extra-index-url {PYPI}\n{PKG}\n")
    req = write_file(proj / "requirements.txt", "-r requirements/base.txt\n")
    return [Step("pip install -r (an -r include has --extra-index-url pypi)", "pip",
                 pip_command(work, "install", "-r", str(req)), proj)]


def pip_direct_reference(work: Path) -> list[Step]:
    req = write_file(work / "proj" / "requirements.txt", f"{PKG} @ {WHEEL}\n")
    return [Step("pip install -r (name @ https://files.pythonhosted.org/...)", "pip",
                 pip_command(work, "install", "-r", str(req)), req.parent)]


def pdm_source(work: Path) -> list[Step]:
    proj = project(work, f'[tool.pdm]\ndistribution = false\n\n[[tool.pdm.source]]\n'
                          f'name = "torch"\nurl = "{TORCH}"\n')
    return [Step("pdm lock ([[tool.pdm.source]] torch)", "pdm", ["pdm", "lock"], proj)]


def pipenv_source(work: Path) -> list[Step]:
    # pipenv's index-restricted package (pypa/pipenv: docs/indexes.md): PIPENV_PYPI_MIRROR
    # replaces the pypi source, the package is still fetched from the one it names
    proj = write_file(work / "proj" / "Pipfile", PIPFILE.replace(
        "[packages]\n", f'[[source]]\nurl = "{TORCH}"\nverify_ssl = true\nname = "torch"\n\n'
        f'[packages]\n{PKG} = {{version = "*", index = "torch"}}\n')).parent
    return [Step("pipenv lock (Pipfile [[source]] torch, a package restricted to it)", "pipenv",
                 ["pipenv", "lock", "--python", sys.executable], proj)]


def tox_set_env(work: Path) -> list[Step]:
    ini = tox_ini(work, f"set_env =\n    PIP_EXTRA_INDEX_URL = {PYPI}\n")
    return [Step("tox (set_env PIP_EXTRA_INDEX_URL = pypi)", "tox",
                 ["tox", "-c", str(ini), "-e", "leak"], ini.parent)]


def poetry_source(work: Path) -> list[Step]:
    proj = poetry_project(work, f'\n[[tool.poetry.source]]\nname = "torch"\nurl = "{TORCH}"\n')
    return [Step("poetry lock ([[tool.poetry.source]] torch, primary; mirror plugin)", "poetry",
                 ["poetry", "lock"], proj)]


def hatch_python(work: Path) -> list[Step]:
    proj = project(work, """\
[tool.hatch.envs.default]
skip-install = true
python = "3.13"
dependencies = ["pipnexus-demo-pkg"]
""", deps=())
    return [Step("hatch env create (python = 3.13, not on PATH)", "hatch",
                 ["hatch", "env", "create"], proj)]


def pre_commit_github(work: Path) -> list[Step]:
    repo = work / "proj"
    write_file(repo / ".pre-commit-config.yaml", """\
repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v6.0.0
    hooks:
      - id: check-yaml
""")
    return [
        Step("git init (for pre-commit)", "git", ["git", "-C", str(repo), "init", "-q"], repo),
        Step("pre-commit install-hooks (a GitHub hook repository)", "pre-commit",
             ["pre-commit", "install-hooks"], repo),
    ]


def _known(code: str, why: str) -> str:
    return f"known: {why}; configure warns [{code}]"


SHAPE_CASES = (
    Case("uv-user-index", "uv", True, True,
         _known("uv-config-index", "a non-default [[index]] in the user's uv.toml is searched "
                "before UV_DEFAULT_INDEX"),
         uv_user_index, runner_env=USER_CONFIG, expect=("uv-config-index",)),
    Case("uv-user-default", "uv", True, True, "", uv_user_default, runner_env=USER_CONFIG,
         expect=("uv-config-index",)),
    Case("uv-project-index", "uv", True, True,
         _known("uv-config-index", "[[tool.uv.index]] is searched before UV_DEFAULT_INDEX"),
         uv_project_index, expect=("uv-config-index",)),
    Case("uv-project-default", "uv", True, True, "", uv_project_default,
         expect=("uv-config-index",)),
    Case("uv-direct-reference", "uv", True, True,
         _known("direct-reference", "uv fetches a direct reference from its URL"),
         uv_direct_reference, expect=("direct-reference",)),
    Case("uv-source-url", "uv", True, True,
         _known("direct-reference", "uv fetches a [tool.uv.sources] url from there"),
         uv_source_url, expect=("direct-reference",)),
    Case("uv-toml-extra", "uv", True, True,
         _known("uv-config-index", "uv searches a uv.toml extra-index-url first"),
         uv_toml_extra, expect=("uv-config-index",)),
    Case("uv-explicit-pinned", "uv", True, True,
         _known("uv-config-index", "uv fetches packages pinned to an explicit index there"),
         uv_explicit_pinned, expect=("uv-config-index",)),
    Case("uv-explicit-unused", "uv", True, True, "", uv_explicit_unused,
         expect=("uv-config-index",)),
    Case("pip-req-include", "pip", False, True,
         _known("requirements-index", "--extra-index-url in an -r include adds pypi.org"),
         pip_req_include, expect=("requirements-index",)),
    Case("pip-direct-reference", "pip", False, True,
         _known("direct-reference", "pip fetches a direct reference from its URL"),
         pip_direct_reference, expect=("direct-reference",)),
    Case("pdm-source", "pdm", False, False,
         _known("pdm-source", "PDM_PYPI_URL replaces the pypi source only"),
         pdm_source, expect=("pdm-source",)),
    Case("pipenv-source", "pipenv", False, False,
         _known("pipenv-source", "PIPENV_PYPI_MIRROR replaces the pypi.org source only"),
         pipenv_source, expect=("pipenv-source",)),
    Case("tox-set-env", "tox", True, False,
         _known("tox-index", "tox lays set_env over the environment"),
         tox_set_env, expect=("tox-index",)),
    Case("tox-install-command", "tox", True, False,
         _known("tox-index", "install_command's --index-url replaces PIP_INDEX_URL"),
         tox_install_command, expect=("tox-index",)),
    Case("poetry-source", "poetry", False, False,
         _known("poetry-source", "the mirror plugin replaces PyPI only"),
         poetry_source, expect=("poetry-source",)),
    Case("hatch-python", "hatch", False, False,
         _known("python-download", "hatch downloads a Python the runner lacks from GitHub"),
         hatch_python, runner_env=BARE_PATH, expect=("python-download",)),
    Case("pre-commit-github", "pre-commit", False, False,
         _known("pre-commit-clone", "pre-commit clones hook repositories with git"),
         pre_commit_github, case_env={"PRE_COMMIT_HOME": "{work}/pre-commit"},
         expect=("pre-commit-clone",)),
)
