"""More cases of the leak audit (testbed/leakaudit.py): uv's project and tool commands, pipx,
pip-sync, poetry with its mirror plugin, tox-uv, pre-commit; and the probes the tests use to
prove the namespace witness (a tool that leaks on purpose, and its control).

These rows do not set ``UV_PYTHON_DOWNLOADS=never`` (the bed's default hides interpreter
downloads). ``uv python install`` runs with the ``UV_PYTHON_INSTALL_MIRROR`` that
``pipnexus configure --python-mirror`` printed for the double's raw proxy (testbed/leakrun.py),
and once with ``--python-mirror false``.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

from testbed import pbs
from testbed.commands import run
from testbed.leakaudit import (
    CASES,
    PKG,
    Case,
    Step,
    backend_project,
    poetry_project,
    project,
    tox_ini,
    write_file,
)
from testbed.leakshapes import SHAPE_CASES
from testbed.wheels import make_wheel

TOOL_PKG = "pipnexus-demo-tool"  # a wheel with a console script, for uvx/pipx
TOOL_EXE = "pipnexus-demo-tool"
DOWNLOADS = ("UV_PYTHON_DOWNLOADS",)  # unset in the new rows: interpreter downloads count


def make_tool_wheel(directory: Path) -> Path:
    return make_wheel(directory, TOOL_PKG, "1.0", requires=[PKG], files={
        "pipnexus_demo_tool/__init__.py": "def main():\n    print('demo tool')\n",
        "pipnexus_demo_tool-1.0.dist-info/entry_points.txt":
            f"[console_scripts]\n{TOOL_EXE} = pipnexus_demo_tool:main\n",
    })


def _tool_env(work: Path) -> dict[str, str]:
    return {"UV_TOOL_DIR": str(work / "uv-tools"), "UV_TOOL_BIN_DIR": str(work / "bin"),
            "PIPX_HOME": str(work / "pipx"), "PIPX_BIN_DIR": str(work / "bin"),
            "PIPX_MAN_DIR": str(work / "man")}


def uv_run(work: Path) -> list[Step]:
    proj = project(work)
    cmd = ["uv", "run", "python", "-c", "import pipnexus_demo_pkg"]
    return [Step("uv run", "uv", cmd, proj)]


def uv_lock(work: Path) -> list[Step]:
    proj = project(work)
    return [Step("uv lock", "uv", ["uv", "lock"], proj)]


def uv_pip_compile(work: Path) -> list[Step]:
    req_in = write_file(work / "proj" / "requirements.in", f"{PKG}\n")
    cmd = ["uv", "pip", "compile", "-o",
           str(req_in.with_suffix(".txt")), str(req_in)]
    return [Step("uv pip compile", "uv", cmd, req_in.parent)]


def uvx(work: Path) -> list[Step]:
    for d in _tool_env(work).values():
        Path(d).mkdir(parents=True, exist_ok=True)
    return [
        Step("uvx (uv tool run)", "uv", ["uvx", TOOL_EXE], work),
        Step("uv tool install", "uv",
             ["uv", "tool", "install", TOOL_PKG], work),
    ]


def pipx(work: Path) -> list[Step]:
    return [
        Step("pipx run", "pipx", ["pipx", "run", "--python", sys.executable, TOOL_EXE], work),
        Step("pipx install", "pipx",
             ["pipx", "install", "--python", sys.executable, TOOL_PKG], work),
    ]


def pip_sync(work: Path) -> list[Step]:
    venv = work / "venv"
    req = write_file(work / "proj" / "requirements.txt",
                 f"{PKG}==1.0\npipnexus-demo-dep==1.0\n")
    return [
        Step("python -m venv (for pip-sync)", "python",
             [sys.executable, "-m", "venv", str(venv)], work),
        Step("pip-sync", "pip-sync",
             ["pip-sync", "--python-executable", str(venv / "bin" / "python"), str(req)],
             req.parent),
    ]


def poetry_mirror(work: Path) -> list[Step]:
    proj = poetry_project(work)
    return [
        Step("poetry lock (pypi-mirror plugin)", "poetry", ["poetry", "lock"], proj),
        Step("poetry install (pypi-mirror plugin)", "poetry", ["poetry", "install"], proj),
    ]


def tox_uv(work: Path) -> list[Step]:
    ini = tox_ini(work, runner="uv-venv-runner", requires="tox-uv")
    return [Step("tox (tox-uv)", "tox", ["tox", "-c", str(ini), "-e", "leak"], ini.parent)]


def _hook_repo(work: Path) -> tuple[Path, str]:
    """A git repository of hooks that builds with the bed's backend (only behind the cache)."""
    repo = work / "hooks"
    write_file(repo / ".pre-commit-hooks.yaml", """\
        - id: leak
          name: leak
          entry: python -c "import pipnexus_demo_pkg"
          language: python
          pass_filenames: false
          always_run: true
        """)
    backend_project(repo, "leak-hooks", deps=(PKG,))
    git = ["git", "-C", str(repo), "-c", "user.name=audit", "-c", "user.email=audit@invalid"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "hooks"]):
        run([*git, *args], {"PATH": os.environ.get("PATH", "")}, timeout=60)
    rev = run([*git, "rev-parse", "HEAD"], {"PATH": os.environ.get("PATH", "")}, timeout=60)
    return repo, rev.output.strip()


def pre_commit(work: Path) -> list[Step]:
    # pre-commit builds a virtualenv for a python hook repository and pip-installs it there
    hooks, rev = _hook_repo(work)
    repo = work / "proj"
    write_file(repo / ".pre-commit-config.yaml", f"""\
        repos:
          - repo: {hooks}
            rev: {rev}
            hooks:
              - id: leak
        """)
    git = ["git", "-C", str(repo)]
    return [
        Step("git init (for pre-commit)", "git", [*git, "init", "-q"], repo),
        Step("pre-commit install-hooks", "pre-commit", ["pre-commit", "install-hooks"], repo),
        Step("pre-commit run", "pre-commit", ["pre-commit", "run", "--all-files"], repo),
    ]


def uv_python_install(work: Path, how: str = "mirror: the double's raw proxy") -> list[Step]:
    # the checksum list for the bed's build (testbed/pbs.py); uv rewrites its GitHub URLs to
    # UV_PYTHON_INSTALL_MIRROR
    build = pbs.Build()
    pbs.write_downloads_json(write_file(work / "downloads.json", ""),
                             {build: pbs.make_archive(build)})
    return [Step(f"uv python install {build.version} ({how})", "uv",
                 ["uv", "python", "install", build.version], work)]


def uv_python_github(work: Path) -> list[Step]:
    return uv_python_install(work, "python-mirror: false")


def _leaky_script() -> str:
    return textwrap.dedent("""\
        import socket
        for target in (("151.101.0.223", 443), ("pypi.org", 443)):
            try:
                socket.create_connection(target, timeout=3).close()
            except OSError as e:
                print(target, e)
        """)


def leaky(work: Path) -> list[Step]:
    return [Step("leaky tool (connects to pypi.org itself)", "python",
                 [sys.executable, "-c", _leaky_script()], work)]


def control(work: Path) -> list[Step]:
    script = ("import os, urllib.request\n"
              f"urllib.request.urlopen(os.environ['PIP_INDEX_URL'] + '{PKG}/').read()\n")
    return [Step("control (fetches from the cache only)", "python",
                 [sys.executable, "-c", script], work)]


_PROXY_VARS = tuple(f"{p}_PROXY" for p in ("HTTPS", "HTTP", "ALL")) + tuple(
    f"{p.lower()}_proxy" for p in ("HTTPS", "HTTP", "ALL"))

PROBES = (
    Case("leaky", "python", False, True, "", leaky, unset=_PROXY_VARS),
    Case("control", "python", False, True, "", control),
)

_PY_ENV = {"UV_PYTHON_DOWNLOADS_JSON_URL": "{work}/downloads.json",
           "UV_PYTHON_INSTALL_DIR": "{work}/uv-python"}

MORE_CASES = (
    Case("uv-run", "uv", True, False, "", uv_run, unset=DOWNLOADS),
    Case("uv-lock", "uv", True, False, "", uv_lock, unset=DOWNLOADS),
    Case("uv-pip-compile", "uv", True, False, "", uv_pip_compile, unset=DOWNLOADS),
    Case("uvx", "uv", True, False, "", uvx, case_env=_tool_env(Path("{work}")),
         unset=DOWNLOADS),
    Case("pipx", "pipx", False, False, "", pipx, case_env=_tool_env(Path("{work}"))),
    Case("pip-sync", "pip-sync", False, False, "", pip_sync),
    # POETRY_PYPI_MIRROR_URL: as configure set it
    Case("poetry-mirror", "poetry", False, False, "", poetry_mirror),
    Case("tox-uv", "tox", True, False, "", tox_uv, unset=DOWNLOADS),
    # UV_PYTHON_INSTALL_MIRROR: as configure set it
    Case("uv-python-install", "uv", True, False, "", uv_python_install, case_env=_PY_ENV,
         unset=DOWNLOADS),
    # the bed's own configure run set the mirror too: unset, as on a runner without it
    Case("uv-python-install-github", "uv", True, False,
         "off: without a mirror (python-mirror: false, or no healthy raw proxy on the Nexus) "
         "uv downloads interpreters from GitHub",
         uv_python_github, configure_args=("--python-mirror", "false"),
         case_env={"UV_HTTP_RETRIES": "0", **_PY_ENV},
         unset=("UV_PYTHON_INSTALL_MIRROR", *DOWNLOADS)),
    Case("pre-commit", "pre-commit", False, False, "", pre_commit,
         case_env={"PRE_COMMIT_HOME": "{work}/pre-commit"}),
)

ALL_CASES = (*CASES, *MORE_CASES, *SHAPE_CASES)
