"""What would bypass the chosen index: project files, extra sources in the environment and
in pip's config files. Everything found is a :class:`~pipnexus.diagnostics.Diagnostic`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence

from pipnexus import urls
from pipnexus.configure.installers import EXTRA_SOURCE_VARS, is_public_pypi
from pipnexus.configure.pipconf import SOURCE_KEYS, PipConfSource
from pipnexus.diagnostics import Diagnostic

_SKIP_DIRS = {"node_modules", "venv", "site-packages", "__pycache__", "build", "dist"}
_REQ_FILE = re.compile(r"(.*requirements.*|constraints.*)\.(txt|in)\Z", re.IGNORECASE)
_REQ_OPTION = re.compile(
    r"\s*(?P<opt>-i|--index-url|--extra-index-url|-f|--find-links)(?=[\s=]|\Z)"
    r"|\s*(?P<short>-i)\S"
)
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
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(1_000_000).splitlines()
    except OSError:
        return []


def _pip_tools_quiet(lines: list[str]) -> bool:
    text = "\n".join(lines)
    return bool(
        re.search(r"^\s*emit[-_]index[-_]url\s*=\s*false", text, re.MULTILINE | re.IGNORECASE)
        or re.search(r"^\s*no[-_]emit[-_]index[-_]url\s*=\s*true", text, re.MULTILINE)
    )


def _requirements(path: str) -> Iterator[Diagnostic]:
    for number, line in enumerate(_read_lines(path), 1):
        match = _REQ_OPTION.match(line)
        if match:
            opt = match.group("opt") or match.group("short")
            yield _warning(
                "requirements-index",
                f"{opt} in a requirements file overrides PIP_INDEX_URL: pip will fetch from "
                "the URL given there, not through the Nexus proxy",
                path, number,
            )


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


def bypass_warnings(project_dir: str) -> list[Diagnostic]:
    """Things in the project that make installers skip the configured index."""
    found: list[Diagnostic] = []
    if not os.path.isdir(project_dir):
        return found
    pip_tools_inputs: list[str] = []
    pip_tools_quiet = False
    for root, files in _walk(project_dir):
        for name in files:
            path = os.path.join(root, name)
            if _REQ_FILE.match(name):
                if name.lower().endswith(".in"):
                    pip_tools_inputs.append(path)
                found += _requirements(path)
            elif name == "uv.lock":
                found.append(_warning(
                    "uv-lock-urls",
                    "uv.lock records download URLs: `uv sync --frozen` fetches them and "
                    "bypasses the proxy, `uv sync --locked` fails against a mirror; install "
                    "with `uv export --frozen | uv pip install -r -` instead",
                    path, 1,
                ))
            elif name == "pyproject.toml":
                lines = _read_lines(path)
                found += _poetry(root, path, lines)
                if any(line.strip() == "[tool.pip-tools]" for line in lines):
                    pip_tools_quiet = pip_tools_quiet or _pip_tools_quiet(lines)
            elif name == ".pip-tools.toml":
                pip_tools_quiet = pip_tools_quiet or _pip_tools_quiet(_read_lines(path))
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
