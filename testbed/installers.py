"""Installer drivers: fresh virtualenvs and host-isolated environments for pip/uv/pipenv/pdm.

* ``isolated_env(tmp_path, **extra)`` -> a complete environment dict built from scratch (only
  PATH/locale variables are taken from the host): HOME, XDG dirs and every cache point into
  ``tmp_path``; ``PIP_CONFIG_FILE=/dev/null``, ``UV_NO_CONFIG=1``, ``PDM_CONFIG_FILE`` (a fresh
  file), ``PIPENV_VENV_IN_PROJECT=1``; no PIP_*/UV_*/PDM_*/PIPENV_* or proxy variables from the
  host. ``extra`` is applied last (``None`` removes a key).
* ``make_venv(path, env)`` -> ``Venv``: ``python -m venv`` with pip from ensurepip (no network).
  ``VenvFactory`` builds one template per session and copies it (fast).
* ``tool(name)`` -> absolute path of ``uv``/``pdm``/``pipenv``/``pip`` from the test virtualenv.
* ``alias_host_env(env, tmp_path, names=("nexus.test",))`` -> env whose Python children resolve
  ``names`` to 127.0.0.1 (a ``sitecustomize.py`` on ``PYTHONPATH`` patching
  ``socket.getaddrinfo``), so pip's/pdm's plain-HTTP trusted-host checks can be exercised
  against loopback servers: ``http://nexus.test:<port>/...``. uv is not Python: it does not
  see the alias (and needs no trusted host for http).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

ALIAS_HOST = "nexus.test"
RUN_TIMEOUT = 180.0
TOOLS_BIN = Path(sys.executable).parent

# Taken from the host; everything else is built from scratch.
PASS_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "SYSTEMROOT", "USER", "LOGNAME")


def tool(name: str) -> str:
    """Absolute path of an executable installed in the test virtualenv (uv, pdm, pipenv...)."""
    path = TOOLS_BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found in {TOOLS_BIN} or PATH")
    return found


def isolated_env(tmp_path: str | Path, **extra: str | None) -> dict[str, str]:
    root = Path(tmp_path) / "isolated"
    dirs = {
        "HOME": root / "home",
        "XDG_CONFIG_HOME": root / "home" / ".config",
        "XDG_CACHE_HOME": root / "home" / ".cache",
        "XDG_DATA_HOME": root / "home" / ".local" / "share",
        "XDG_STATE_HOME": root / "home" / ".local" / "state",
        "TMPDIR": root / "tmp",
        "PIP_CACHE_DIR": root / "cache" / "pip",
        "UV_CACHE_DIR": root / "cache" / "uv",
        "UV_PYTHON_INSTALL_DIR": root / "uv-python",
        "PDM_CACHE_DIR": root / "cache" / "pdm",
        "PDM_LOG_DIR": root / "log" / "pdm",
        "PIPENV_CACHE_DIR": root / "cache" / "pipenv",
        "WORKON_HOME": root / "virtualenvs",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    pdm_config = root / "pdm-config.toml"
    if not pdm_config.exists():
        pdm_config.write_text("")
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update({k: str(v) for k, v in dirs.items()})
    env.update(
        {
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "UV_NO_CONFIG": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            "PDM_CONFIG_FILE": str(pdm_config),
            "PDM_CHECK_UPDATE": "false",
            "PDM_NON_INTERACTIVE": "1",
            "PIPENV_VENV_IN_PROJECT": "1",
            "PIPENV_NOSPIN": "1",
            "PIPENV_YES": "1",
            "PIPENV_DONT_LOAD_ENV": "1",
            "PIPENV_IGNORE_VIRTUALENVS": "1",
            "PYTHONNOUSERSITE": "1",
            "NO_COLOR": "1",
        }
    )
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


SITECUSTOMIZE = '''\
"""pipnexus test bed: resolve test host names to 127.0.0.1 (see testbed/installers.py)."""
import os
import socket

_ALIASES = {n: "127.0.0.1" for n in os.environ.get("PIPNEXUS_TEST_ALIASES", "").split(",") if n}
_getaddrinfo = socket.getaddrinfo
_gethostbyname = socket.gethostbyname


def _map(host):
    key = host.decode("ascii", "replace") if isinstance(host, bytes) else host
    return _ALIASES.get(key.lower(), host) if isinstance(key, str) else host


def getaddrinfo(host, *args, **kwargs):
    return _getaddrinfo(_map(host), *args, **kwargs)


def gethostbyname(host):
    return _gethostbyname(_map(host))


socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
'''


def alias_host_dir(tmp_path: str | Path) -> Path:
    d = Path(tmp_path) / "alias-site"
    d.mkdir(parents=True, exist_ok=True)
    (d / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return d


def alias_host_env(
    env: Mapping[str, str],
    tmp_path: str | Path,
    names: Sequence[str] = (ALIAS_HOST,),
) -> dict[str, str]:
    """``env`` plus the sitecustomize that maps ``names`` to 127.0.0.1 in Python children."""
    out = dict(env)
    site = str(alias_host_dir(tmp_path))
    out["PYTHONPATH"] = os.pathsep.join(p for p in (site, out.get("PYTHONPATH", "")) if p)
    out["PIPNEXUS_TEST_ALIASES"] = ",".join(names)
    return out


def aliased_url(url: str, name: str = ALIAS_HOST) -> str:
    """``http://127.0.0.1:PORT/x`` -> ``http://<name>:PORT/x``."""
    return url.replace("://127.0.0.1:", f"://{name}:", 1)


def run(
    args: Sequence[str | Path],
    env: Mapping[str, str],
    *,
    cwd: str | Path | None = None,
    check: bool = True,
    timeout: float = RUN_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run a command with ``env`` (exactly), capture text output; on failure the
    AssertionError shows the command, exit code, stdout and stderr."""
    proc = subprocess.run(
        [str(a) for a in args],
        env=dict(env),
        cwd=str(cwd) if cwd is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed ({proc.returncode}): {' '.join(str(a) for a in args)}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


class Venv(NamedTuple):
    """A virtual environment with pip; ``env`` is the isolated environment used to run it."""

    path: Path
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    def run(
        self, *args: str | Path, check: bool = True, timeout: float = RUN_TIMEOUT,
        env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``python <args>`` in this venv."""
        return run([self.python, *args], env if env is not None else self.env, check=check,
                   timeout=timeout, cwd=cwd)

    def pip(
        self, *args: str | Path, check: bool = True, timeout: float = RUN_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "pip", *args, check=check, timeout=timeout, env=env)

    def pip_install(
        self,
        *requirements: str,
        index_url: str | None = None,
        extra_args: Sequence[str] = (),
        check: bool = True,
        timeout: float = RUN_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``pip install`` (``--index-url`` when given; ``--timeout 10 --retries 0`` so a
        broken index fails fast)."""
        args = ["install", "--timeout", "10", "--retries", "0"]
        if index_url is not None:
            args += ["--index-url", index_url]
        return self.pip(*args, *extra_args, *requirements, check=check, timeout=timeout,
                        env=env)

    def uv_pip_install(
        self,
        *requirements: str,
        index_url: str | None = None,
        extra_args: Sequence[str] = (),
        check: bool = True,
        timeout: float = RUN_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``uv pip install --python <this venv>`` (``--default-index`` when given)."""
        args: list[str | Path] = [tool("uv"), "pip", "install", "--python", self.python]
        if index_url is not None:
            args += ["--default-index", index_url]
        return run([*args, *extra_args, *requirements],
                   env if env is not None else self.env, check=check, timeout=timeout)

    def version(self, dist: str) -> str | None:
        """Installed version of distribution ``dist``, or None."""
        code = (
            "import importlib.metadata as m, sys\n"
            "try:\n    print(m.version(sys.argv[1]))\n"
            "except m.PackageNotFoundError:\n    print('')\n"
        )
        out = self.run("-c", code, dist).stdout.strip()
        return out or None

    def has(self, dist: str, version: str | None = None) -> bool:
        got = self.version(dist)
        return got is not None and (version is None or got == version)


def make_venv(path: str | Path, env: Mapping[str, str]) -> Venv:
    """``python -m venv`` (pip from ensurepip's bundled wheel: no network)."""
    target = Path(path)
    run([sys.executable, "-m", "venv", target], env, timeout=120)
    return Venv(target, dict(env))


class VenvFactory:
    """Creates one template venv lazily, then hands out copies (``copytree``, symlinks kept).

    Copies are used with ``python -m pip`` (console-script shebangs still name the template).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._template: Path | None = None

    def template(self) -> Path:
        if self._template is None:
            env = isolated_env(self.root / "template-env")
            self._template = make_venv(self.root / "template", env).path
        return self._template

    def new(self, path: str | Path, env: Mapping[str, str]) -> Venv:
        target = Path(path)
        shutil.copytree(self.template(), target, symlinks=True)
        return Venv(target, dict(env))
