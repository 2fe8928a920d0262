"""uv's configuration files: what makes uv fetch besides ``UV_DEFAULT_INDEX``.

Which files uv reads (https://docs.astral.sh/uv/concepts/configuration-files/; astral-sh/uv:
crates/uv-dirs/src/lib.rs ``user_config_dir``, ``system_config_file``): a project's
``uv.toml``, else the ``[tool.uv]`` table of its ``pyproject.toml`` (``uv.toml`` wins when both
are in one directory); the user's ``$XDG_CONFIG_HOME/uv/uv.toml`` (``~/.config/uv/uv.toml``);
the first ``uv/uv.toml`` of ``$XDG_CONFIG_DIRS`` (default ``/etc/xdg``), else
``/etc/uv/uv.toml``. ``UV_CONFIG_FILE`` replaces the user and system files, ``UV_NO_CONFIG``
drops them all.

What bypasses the proxy (https://docs.astral.sh/uv/concepts/indexes/): an ``[[index]]``
without ``default = true`` is searched before the default index, which is all
``UV_DEFAULT_INDEX`` replaces; an ``explicit = true`` index serves the packages pinned to it in
``[tool.uv.sources]``; ``extra-index-url`` and ``find-links`` (also under ``[pip]``) are
searched too; a source with ``url`` or ``git`` is fetched from there. ``index-url`` and a
``default = true`` index are what ``UV_DEFAULT_INDEX`` replaces: silent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from pipnexus import urls
from pipnexus.configure.scan_toml import Entry, array_items, entries, read_text, under
from pipnexus.configure.settings import FALSE
from pipnexus.diagnostics import Diagnostic


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() not in FALSE


def user_system_files(environ: Mapping[str, str]) -> list[str]:
    """The user and system uv.toml files uv reads in this environment (that exist)."""
    if _flag(environ, "UV_NO_CONFIG"):
        return []
    given = environ.get("UV_CONFIG_FILE", "")
    if given:
        return [given] if os.path.isfile(given) else []
    found = []
    xdg = environ.get("XDG_CONFIG_HOME", "")
    home = environ.get("HOME", "")
    user_dir = xdg if os.path.isabs(xdg) else (os.path.join(home, ".config") if home else "")
    if user_dir and os.path.isfile(os.path.join(user_dir, "uv", "uv.toml")):
        found.append(os.path.join(user_dir, "uv", "uv.toml"))
    dirs = environ.get("XDG_CONFIG_DIRS", "") or "/etc/xdg"
    system = [os.path.join(d, "uv", "uv.toml") for d in dirs.split(":") if d]
    system.append("/etc/uv/uv.toml")
    found += [path for path in system if os.path.isfile(path)][:1]
    return found


def _warning(message: str, path: str, line: int) -> Diagnostic:
    return Diagnostic("warning", message, "uv-config-index", path, line)


def _urls(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [urls.redact(v) for v in items if isinstance(v, str) and v.strip()]


def _pinned_names(settings: list[Entry]) -> set[str]:
    """The index names ``[tool.uv.sources]`` pins packages to."""
    names = set()
    for e in settings:
        if e.table == ("sources",) or e.key[:1] == ("sources",):
            for source in e.value if isinstance(e.value, list) else [e.value]:
                if isinstance(source, dict) and isinstance(source.get("index"), str):
                    names.add(source["index"])
    return names


def _sources(settings: list[Entry], path: str) -> Iterator[Diagnostic]:
    for e in settings:
        if e.table != ("sources",) and e.key[:1] != ("sources",):
            continue
        for source in e.value if isinstance(e.value, list) else [e.value]:
            if not isinstance(source, dict):
                continue
            for kind in ("url", "git"):
                where = source.get(kind)
                if isinstance(where, str) and "://" in where:
                    yield Diagnostic(
                        "warning",
                        f"[tool.uv.sources] {e.key[-1]} = {{ {kind} = "
                        f"\"{urls.redact(where)}\" }}: uv fetches it from there, not through "
                        "the proxy",
                        "direct-reference", path, e.line,
                    )


def settings_warnings(settings: list[Entry], path: str, table: str) -> Iterator[Diagnostic]:
    """Findings in uv's settings (a uv.toml, or ``[tool.uv]`` read as one: ``table`` is the
    prefix shown, "" or "tool.uv.")."""
    pinned = _pinned_names(settings)
    for line, index in array_items(settings, "index"):
        url = index.get("url")
        if not isinstance(url, str):
            continue
        shown = urls.redact(url)
        if index.get("explicit") is True:
            if index.get("name") in pinned:
                yield _warning(
                    f"[[{table}index]] {shown} is explicit and [tool.uv.sources] pins packages "
                    "to it: uv fetches those from there, not through the proxy "
                    "(UV_DEFAULT_INDEX replaces only the default index)", path, line)
        elif index.get("default") is not True:
            yield _warning(
                f"[[{table}index]] {shown} is not the default index: uv searches it before "
                "UV_DEFAULT_INDEX and fetches what it finds there, not through the proxy",
                path, line)
    for e in settings:
        key = ".".join(e.table + e.key)
        if key in ("extra-index-url", "pip.extra-index-url", "find-links", "pip.find-links"):
            for shown in _urls(e.value):
                yield _warning(
                    f"{table}{key} = {shown}: uv searches it besides UV_DEFAULT_INDEX and "
                    "fetches what it finds there, not through the proxy", path, e.line)
    if table:
        yield from _sources(settings, path)


def file_warnings(path: str, pyproject: bool) -> list[Diagnostic]:
    """A uv.toml, or the ``[tool.uv]`` table of a pyproject.toml."""
    found = entries(read_text(path))
    if pyproject:
        return list(settings_warnings(under(found, "tool", "uv"), path, "tool.uv."))
    return list(settings_warnings(found, path, ""))


def user_system_warnings(environ: Mapping[str, str]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for path in user_system_files(environ):
        out += file_warnings(path, pyproject=False)
    return out
