"""Other tools' project files that fetch around the proxy: pdm and Poetry sources, tox
settings, pre-commit hook repositories, interpreters a project asks for that the runner lacks.

* pdm: ``PDM_PYPI_URL`` sets the source named ``pypi`` only; every other
  ``[[tool.pdm.source]]`` is searched too
  (https://pdm-project.org/en/latest/usage/config/#configure-the-package-indexes).
* pipenv: ``PIPENV_PYPI_MIRROR`` replaces only the Pipfile sources whose url is
  ``http(s)://pypi.org/simple`` or ``pypi.python.org/simple`` (pypa/pipenv:
  pipenv/utils/internet.py, ``is_pypi_url``); a package that names another ``[[source]]``
  (``index = "name"``) is installed from it (https://pipenv.pypa.io/en/latest/indexes.html).
* Poetry: poetry-plugin-pypi-mirror replaces PyPI only (arcesium/poetry-plugin-pypi-mirror:
  README.md); a ``[[tool.poetry.source]]`` is searched as configured, an ``explicit`` one for
  the packages that name it (https://python-poetry.org/docs/repositories/#package-sources).
* tox: ``set_env``/``setenv`` is laid over the environment tox passes to pip and uv, and an
  ``install_command`` with ``-i`` replaces the index
  (https://tox.wiki/en/latest/config.html#set_env).
* pre-commit clones each hook repository with git (https://pre-commit.com/#pre-commit-configyaml---repos):
  bytes through the NAT, not PyPI.
* uv downloads a Python the runner lacks (``.python-version``) from GitHub unless
  ``UV_PYTHON_INSTALL_MIRROR`` is set (https://docs.astral.sh/uv/concepts/python-versions/);
  hatch downloads one for an environment's ``python`` from python-build-standalone on GitHub
  (https://hatch.pypa.io/latest/plugins/environment/virtual/#python-resolution).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

from pipnexus import urls
from pipnexus.configure.scan_toml import Entry, array_items, entries, read_text, under
from pipnexus.diagnostics import Diagnostic

INDEX_VARS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_INDEX_URL",
              "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS")
# patterns stay strings, compiled (and cached by re) on first use: only projects with
# these tools' files need them (start-up, bench/configure_bench.py)
_TOX_VAR = (r"[\s{,\"']*[\"']?(?P<var>" + "|".join(INDEX_VARS)
            + r")[\"']?\s*[=:]\s*[\"']?(?P<value>[^\s\"',}]*)")
_TOX_INSTALL = (r"\binstall_command\b.*?(?P<opt>-i|--index-url|--extra-index-url"
                r"|-f|--find-links)[\s=]+[\"']?(?P<value>[^\s\"',\]]+)")
_REPO = r"\s*-?\s*repo\s*:\s*[\"']?(?P<url>[^\s\"'#]+)"
_VERSION = r"\s*(?:cpython[-@])?(?P<major>\d+)\.(?P<minor>\d+)(?:[.\s]|\Z)"
_PIPENV_PYPI = r"https?://pypi(?:\.python)?\.org/simple/?"  # what PIPENV_PYPI_MIRROR replaces


def _sources(found: list[Entry], tool: str) -> list[tuple[int, dict[str, object]]]:
    return array_items(under(found, "tool", tool), "source")


def pdm_warnings(path: str, found: list[Entry]) -> Iterator[Diagnostic]:
    for line, source in _sources(found, "pdm"):
        url = source.get("url")
        if source.get("name") == "pypi" or not isinstance(url, str):
            continue
        yield Diagnostic(
            "warning",
            f"[[tool.pdm.source]] {source.get('name', '')} = {urls.redact(url)}: pdm searches it "
            "besides PDM_PYPI_URL (which replaces the source named pypi only) and fetches what "
            "it finds there, not through the proxy", "pdm-source", path, line)


def pipenv_warnings(path: str, found: list[Entry]) -> Iterator[Diagnostic]:
    """A Pipfile's ``[[source]]`` entries that PIPENV_PYPI_MIRROR does not replace."""
    for line, source in array_items(found, "source"):
        url = source.get("url")
        if not isinstance(url, str) or re.fullmatch(_PIPENV_PYPI, url):
            continue
        yield Diagnostic(
            "warning",
            f"Pipfile [[source]] {source.get('name', '')} = {urls.redact(url)}: pipenv fetches "
            "from it the packages that name it (and any package when it is the first source); "
            "PIPENV_PYPI_MIRROR replaces only the pypi.org source", "pipenv-source", path, line)


def poetry_warnings(path: str, found: list[Entry], text: str) -> Iterator[Diagnostic]:
    for line, source in _sources(found, "poetry"):
        url, name = source.get("url"), source.get("name")
        if not isinstance(url, str):
            continue
        if source.get("priority") == "explicit" and not re.search(
                r"source\s*=\s*[\"']" + re.escape(str(name)) + r"[\"']", text):
            continue  # an explicit source no dependency names is never asked
        when = (" for the packages the primary sources lack"
                if source.get("priority") == "supplemental" else "")
        yield Diagnostic(
            "warning",
            f"[[tool.poetry.source]] {name} = {urls.redact(url)}: Poetry fetches from it{when} "
            "as configured; the mirror plugin replaces PyPI only", "poetry-source", path, line)


def tox_warnings(path: str, lines: list[str], start: int = 0, end: int | None = None
                 ) -> Iterator[Diagnostic]:
    """Index variables set in tox's set_env and install commands with an index, in ``lines``
    (``start``/``end``: the [tool.tox] part of a pyproject.toml)."""
    for number in range(start, len(lines) if end is None else end):
        line = lines[number]
        if line.lstrip().startswith(("#", ";")):
            continue
        install = re.search(_TOX_INSTALL, line)
        var = None if install else re.match(_TOX_VAR, re.sub(r"\A\s*set_?env\s*=", "", line))
        if install and "://" in install.group("value"):
            shown = urls.redact(install.group("value"))
            what = f"install_command passes {install.group('opt')} {shown}"
        elif var and "://" in var.group("value"):
            what = f"set_env {var.group('var')}={urls.redact(var.group('value'))}"
        else:
            continue
        yield Diagnostic(
            "warning",
            f"tox {what}: tox's installs use it instead of (or besides) the proxy",
            "tox-index", path, number + 1)


def pyproject_tox_range(lines: list[str]) -> tuple[int, int] | None:
    """The lines of ``[tool.tox...]`` tables in a pyproject.toml (the first run of them)."""
    start = None
    for number, line in enumerate(lines):
        header = line.strip().startswith("[")
        if header and re.match(r"\s*\[+\s*tool\.tox\b", line):
            start = number if start is None else start
        elif header and start is not None:
            return start, number
    return (start, len(lines)) if start is not None else None


def pre_commit_notes(path: str) -> Iterator[Diagnostic]:
    for number, line in enumerate(read_text(path).splitlines(), 1):
        m = re.match(_REPO, line)
        if m and "://" in m.group("url"):
            yield Diagnostic(
                "note",
                f"pre-commit clones {urls.redact(m.group('url'))} with git: NAT bytes the "
                "proxy does not cache (hooks' Python dependencies do go through it)",
                "pre-commit-clone", path, number)


def _have_python(major: str, minor: str, environ: Mapping[str, str]) -> bool:
    name = f"python{major}.{minor}"
    for d in environ.get("PATH", "").split(os.pathsep):
        if d and os.access(os.path.join(d, name), os.X_OK):
            return True
    return False


def _missing(text: str, environ: Mapping[str, str]) -> str | None:
    m = re.match(_VERSION, text)
    if m and not _have_python(m.group("major"), m.group("minor"), environ):
        return f"{m.group('major')}.{m.group('minor')}"
    return None


def python_version_note(path: str, environ: Mapping[str, str]) -> Iterator[Diagnostic]:
    if environ.get("UV_PYTHON_INSTALL_MIRROR", "").strip():
        return
    lines = read_text(path).splitlines()
    version = _missing(lines[0], environ) if lines else None
    if version:
        yield Diagnostic(
            "note",
            f".python-version asks for Python {version}, which is not on PATH: uv downloads it "
            "from GitHub (no UV_PYTHON_INSTALL_MIRROR is set)", "python-download", path, 1)


def hatch_notes(path: str, found: list[Entry], environ: Mapping[str, str],
                pyproject: bool) -> Iterator[Diagnostic]:
    settings = under(found, "tool", "hatch") if pyproject else found
    for e in settings:
        if e.table[:1] != ("envs",) or e.key[-1:] != ("python",):
            continue
        for value in e.value if isinstance(e.value, list) else [e.value]:
            version = _missing(value, environ) if isinstance(value, str) else None
            if version:
                yield Diagnostic(
                    "note",
                    f"hatch environment {'.'.join(e.table[1:2])} asks for Python {version}, "
                    "which is not on PATH: hatch downloads it from GitHub "
                    "(python-build-standalone)", "python-download", path, e.line)


def toml_file(path: str) -> tuple[list[Entry], str]:
    text = read_text(path)
    return entries(text), text
