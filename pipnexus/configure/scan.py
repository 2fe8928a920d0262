"""What would bypass the chosen index: project files, uv's config files, extra sources in the
environment and in pip's config files. Everything found is a
:class:`~pipnexus.diagnostics.Diagnostic`. The readers of each tool's files are beside this:
scan_uv, scan_requirements (requirements files, ``-r`` includes, direct references),
scan_tools (pdm, Poetry, pipenv, tox, pre-commit, interpreter downloads); scan_toml reads TOML
with line numbers on Python 3.9. Only files that exist are read, each up to 1 MB."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence

from pipnexus import urls
from pipnexus.configure import scan_requirements, scan_tools, scan_uv
from pipnexus.configure.installers import EXTRA_SOURCE_VARS, is_public_pypi
from pipnexus.configure.pipconf import SOURCE_KEYS, PipConfSource
from pipnexus.configure.scan_toml import entries, read_text, under
from pipnexus.diagnostics import Diagnostic

_SKIP_DIRS = {"node_modules", "venv", "site-packages", "__pycache__", "build", "dist"}
MAX_WALK_FILES = 20000
MAX_DEPTH = 6


def _warning(
    code: str, message: str, path: str | None = None, line: int | None = None
) -> Diagnostic:
    return Diagnostic("warning", message, code, path, line)


# --- project files -----------------------------------------------------------------------


def _walk(top: str) -> Iterator[tuple[str, list[str]]]:
    seen = 0
    top_depth = top.rstrip(os.sep).count(os.sep)
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in _SKIP_DIRS and not d.endswith(".egg-info")
        )
        if root.count(os.sep) - top_depth >= MAX_DEPTH:
            dirs[:] = []
        seen += len(files)
        if seen > MAX_WALK_FILES:
            return
        yield root, sorted(files)


def _read_lines(path: str) -> list[str]:
    return read_text(path).splitlines()


def _pip_tools_quiet(lines: list[str]) -> bool:
    text = "\n".join(lines)
    return bool(
        re.search(r"^\s*emit[-_]index[-_]url\s*=\s*false", text, re.MULTILINE | re.IGNORECASE)
        or re.search(r"^\s*no[-_]emit[-_]index[-_]url\s*=\s*true", text, re.MULTILINE)
    )


def _is_requirements(root: str, name: str) -> bool:
    """``*requirements*.txt``/``.in``, ``constraints*``, or any .txt/.in in a directory
    named like ``requirements/`` (included files are followed wherever they are)."""
    if re.match(scan_requirements.NAME, name):
        return True
    return name.lower().endswith((".txt", ".in")) and "requirements" in \
        os.path.basename(root).lower()


def _poetry(root: str, path: str, lines: list[str]) -> Iterator[Diagnostic]:
    headers = (i for i, line in enumerate(lines, 1) if line.startswith("[tool.poetry"))
    poetry_line = next(headers, None)
    is_poetry = poetry_line is not None or os.path.isfile(os.path.join(root, "poetry.lock"))
    if is_poetry and "poetry-plugin-pypi-mirror" not in "\n".join(lines):
        yield _warning(
            "poetry-mirror-plugin",
            "Poetry ignores PIP_INDEX_URL; POETRY_PYPI_MIRROR_URL takes effect only with "
            "poetry-plugin-pypi-mirror (add it to [tool.poetry.requires-plugins] or "
            "`poetry self add poetry-plugin-pypi-mirror`), else poetry installs from pypi.org",
            path, poetry_line or 1,
        )


def _pyproject(
    root: str, path: str, text: str, environ: Mapping[str, str]
) -> list[Diagnostic]:
    lines = text.splitlines()
    found = list(_poetry(root, path, lines))
    toml = entries(text)
    # a uv.toml beside it wins: uv ignores this file's [tool.uv] then
    if not os.path.isfile(os.path.join(root, "uv.toml")):
        found += scan_uv.settings_warnings(under(toml, "tool", "uv"), path, "tool.uv.")
    found += scan_tools.pdm_warnings(path, toml)
    found += scan_tools.poetry_warnings(path, toml, text)
    found += scan_requirements.pyproject_warnings(path, lines)
    tox = scan_tools.pyproject_tox_range(lines)
    if tox is not None:
        found += scan_tools.tox_warnings(path, lines, *tox)
    found += scan_tools.hatch_notes(path, toml, environ, pyproject=True)
    return found


def bypass_warnings(
    project_dir: str, environ: Mapping[str, str] | None = None
) -> list[Diagnostic]:
    """Things in the project (and in uv's user and system config files, read as uv would in
    ``environ``, the job's environment after configure) that make installers skip the
    configured index."""
    found: list[Diagnostic] = []
    environ = {} if environ is None else environ
    found += scan_uv.user_system_warnings(environ)
    if not os.path.isdir(project_dir):
        return found
    requirements: list[str] = []
    pip_tools_inputs: list[str] = []
    pip_tools_quiet = False
    for root, files in _walk(project_dir):
        for name in files:
            path = os.path.join(root, name)
            if _is_requirements(root, name):
                if name.lower().endswith(".in"):
                    pip_tools_inputs.append(path)
                requirements.append(path)
            elif name == "uv.lock":
                found.append(_warning(
                    "uv-lock-urls",
                    "uv.lock records download URLs: `uv sync --frozen` fetches them and "
                    "bypasses the proxy, `uv sync --locked` fails against a mirror; install "
                    "with `uv export --frozen | uv pip install -r -` instead",
                    path, 1,
                ))
            elif name == "uv.toml":
                found += scan_uv.file_warnings(path, pyproject=False)
            elif name == "pyproject.toml":
                text = read_text(path)
                found += _pyproject(root, path, text, environ)
                lines = text.splitlines()
                if any(line.strip() == "[tool.pip-tools]" for line in lines):
                    pip_tools_quiet = pip_tools_quiet or _pip_tools_quiet(lines)
            elif name == ".pip-tools.toml":
                pip_tools_quiet = pip_tools_quiet or _pip_tools_quiet(_read_lines(path))
            elif name == "Pipfile":
                found += scan_tools.pipenv_warnings(path, entries(read_text(path)))
            elif name in ("tox.ini", "tox.toml"):
                found += scan_tools.tox_warnings(path, _read_lines(path))
            elif name == "hatch.toml":
                found += scan_tools.hatch_notes(path, entries(read_text(path)), environ, False)
            elif name == ".pre-commit-config.yaml" and root == project_dir:
                found += scan_tools.pre_commit_notes(path)
            elif name == ".python-version" and root == project_dir:
                found += scan_tools.python_version_note(path, environ)
    found += scan_requirements.requirements_warnings(requirements)
    if not pip_tools_quiet:
        found += [
            _warning(
                "pip-compile-emits-index",
                "pip-compile writes the index URL it used into the requirements file by "
                "default, so the proxy URL would be committed; use --no-emit-index-url "
                "--no-emit-trusted-host (or emit-index-url = false in [tool.pip-tools])",
                path, 1,
            )
            for path in pip_tools_inputs
        ]
    return found


# --- extra sources -----------------------------------------------------------------------


def env_warnings(
    environ: Mapping[str, str], cleared: Mapping[str, str], secrets: Sequence[str] = ()
) -> list[Diagnostic]:
    return [
        _warning(
            "env-extra-source",
            f"{name}={urls.redact(environ[name], secrets)} is set in the environment: "
            "installers also use that source, besides the proxy (pipnexus clears it only when "
            "it names public PyPI alone); unset it if the job does not need it, or serve it "
            "through Nexus too (a proxy or group repository)",
        )
        for name in EXTRA_SOURCE_VARS
        if environ.get(name, "").strip() and name not in cleared
    ]


def pip_conf_warnings(
    sources: Sequence[PipConfSource], secrets: Sequence[str] = ()
) -> list[Diagnostic]:
    found = []
    for s in sources:
        setting = f"[{s.section}] {s.key} = {urls.redact(s.value, secrets)}"
        if is_public_pypi(s.value):
            advice = (
                f"pip also fetches from public PyPI, bypassing the proxy; an empty "
                f"{SOURCE_KEYS[s.key]} can't override a config file, but pip-conf: "
                "file does (pipnexus writes the key empty in a config file pip reads last)"
            )
        else:
            advice = (
                "pip also uses that source, besides the proxy; remove it if the job does not "
                "need it, or serve it through Nexus too (a proxy or group repository)"
            )
        found.append(_warning(
            "pip-conf-extra-source", f"pip config sets {setting}: {advice}", s.file, s.line
        ))
    return found
