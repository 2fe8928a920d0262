"""pip's configuration files, modelled on pip's own (pypa/pip:
src/pip/_internal/configuration.py): the files of each kind, the named override order, the
extra sources they give pip, and the merging and writing of the file pipnexus writes.

pip loads, per kind, the files of :func:`config_files`; a later kind of
:data:`OVERRIDE_ORDER` overrides an earlier one, and within a kind a later file overrides an
earlier one. ``PIP_CONFIG_FILE=/dev/null`` disables every file.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping

from pipnexus._nt import NamedTuple
from pipnexus.configure.settings import os_reason
from pipnexus.errors import InputError
from pipnexus.fsutil import atomic_write

# pip's configuration kinds (pip: src/pip/_internal/configuration.py, ``kinds``)
GLOBAL = "global"  # $XDG_CONFIG_DIRS/pip/pip.conf, /etc/pip.conf
USER = "user"  # ~/.pip/pip.conf (legacy), $XDG_CONFIG_HOME/pip/pip.conf
SITE = "site"  # sys.prefix/pip.conf of the interpreter pip runs in
ENV = "env"  # the file PIP_CONFIG_FILE names
ENV_VAR = "env-var"  # PIP_<KEY> variables (read by scan.py, not from a file)
OVERRIDE_ORDER = (GLOBAL, USER, SITE, ENV, ENV_VAR)

GLOBAL_PIP_CONF = "/etc/pip.conf"
# normalized pip keys that add sources, and the variable of each
SOURCE_KEYS = {"extra-index-url": "PIP_EXTRA_INDEX_URL", "find-links": "PIP_FIND_LINKS"}
# the sections that apply to commands that fetch packages
FETCH_SECTIONS = ("global", "install", "download", "wheel", "lock", "index")
# strings, compiled on first use: most runners have no pip config file
_HEADER = r"\[(.+)\]"
_ASSIGNMENT = r"([^\s=:#;][^=:]*?)\s*[=:]"


class ConfigFiles(NamedTuple):
    kind: str
    files: list[str]


class PipConfSource(NamedTuple):
    """An extra source set in a pip config file."""

    file: str
    line: int
    section: str
    key: str  # normalized: extra-index-url or find-links
    value: str


def normalize_key(name: str) -> str:
    """pip's ``_normalize_name``: lower case, ``_`` as ``-``, no leading ``--``."""
    name = name.strip().lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def user_pip_conf(environ: Mapping[str, str]) -> str:
    config_home = environ.get("XDG_CONFIG_HOME", "").strip()
    if not os.path.isabs(config_home):  # pip (platformdirs) ignores a relative one
        config_home = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".config")
    return os.path.join(config_home, "pip", "pip.conf")


def config_files(environ: Mapping[str, str], prefix: str | None = None) -> list[ConfigFiles]:
    """The files of each kind pip reads on Linux, in :data:`OVERRIDE_ORDER`.

    The user files are skipped when PIP_CONFIG_FILE names an existing file, as pip does.
    The site file is ``<prefix>/pip.conf``: pip reads its own ``sys.prefix``, which we can
    only guess: the active virtualenv, else the prefix of the python3 running pipnexus.
    """
    env_file = environ.get("PIP_CONFIG_FILE")
    dirs = [d.strip() for d in environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep)]
    dirs = [d for d in dirs if os.path.isabs(d)] or ["/etc/xdg"]
    user: list[str] = []
    if not (env_file and os.path.exists(env_file)):
        home = environ.get("HOME") or os.path.expanduser("~")
        user = [os.path.join(home, ".pip", "pip.conf"), user_pip_conf(environ)]
    site = prefix or environ.get("VIRTUAL_ENV") or sys.prefix
    return [
        ConfigFiles(GLOBAL, [os.path.join(d, "pip", "pip.conf") for d in dirs] + [GLOBAL_PIP_CONF]),
        ConfigFiles(USER, user),
        ConfigFiles(SITE, [os.path.join(site, "pip.conf")]),
        ConfigFiles(ENV, [env_file] if env_file else []),
    ]


def pip_config_files(environ: Mapping[str, str], prefix: str | None = None) -> list[str]:
    """Every file of :func:`config_files`, first read first; [] when PIP_CONFIG_FILE is
    /dev/null."""
    if environ.get("PIP_CONFIG_FILE") == os.devnull:
        return []
    return [f for group in config_files(environ, prefix) for f in group.files]


def _file_sources(path: str) -> list[PipConfSource]:
    """Every extra-index-url/find-links of one file, empty ones too; [] for an unreadable or
    broken file (pip itself refuses a broken one, loudly)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1_000_000)
    except (OSError, ValueError):
        return []
    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    lines: dict[tuple[str, str], int] = {}
    section = ""
    for number, text_line in enumerate(text.splitlines(), 1):
        header = re.match(_HEADER, text_line.strip())
        assignment = re.match(_ASSIGNMENT, text_line)
        if header:
            section = header.group(1)
        elif assignment:
            lines.setdefault((section, normalize_key(assignment.group(1))), number)
    found = []
    for name in parser.sections():
        if name not in FETCH_SECTIONS:
            continue
        for option, value in parser.items(name):
            key = normalize_key(option)
            if key in SOURCE_KEYS:
                line = lines.get((name, key), 1)
                found.append(PipConfSource(path, line, name, key, value.strip()))
    return found


def pip_conf_sources(
    environ: Mapping[str, str], prefix: str | None = None
) -> list[PipConfSource]:
    """The extra sources pip's config files give it: per section and key the last file wins,
    and an empty value there means none."""
    effective: dict[tuple[str, str], PipConfSource] = {}
    for path in pip_config_files(environ, prefix):
        for source in _file_sources(path):
            effective[source.section, source.key] = source
    return [s for s in effective.values() if s.value]


def merge_pip_conf(
    existing: str,
    index_url: str,
    trusted_host: str | None,
    cert: str | None,
    clear: Iterable[tuple[str, str]] = (),
) -> str:
    """``existing`` pip config text with our keys set; every other key is kept.

    ``clear``: (section, key) pairs written empty, which overrides the same key of a config
    file pip reads earlier (an empty value there means "none" to pip).
    """
    import configparser

    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(existing)
    except configparser.Error as e:
        raise InputError(f"the existing pip config can't be parsed: {type(e).__name__}") from None
    if not parser.has_section("global"):
        parser.add_section("global")
    parser.set("global", "index-url", index_url)
    # an index-url in a command section ([install]...) would beat [global]: replace it too
    for section in parser.sections():
        for key in ("index-url", "index_url", "i"):
            if section != "global" and parser.has_option(section, key):
                parser.set(section, key, index_url)
    if trusted_host:
        hosts = parser.get("global", "trusted-host", fallback="").split()
        if trusted_host not in hosts:
            hosts.append(trusted_host)
        parser.set("global", "trusted-host", " ".join(hosts))
    if cert:
        parser.set("global", "cert", cert)
    for section, key in clear:
        if not parser.has_section(section):
            parser.add_section(section)
        for option in parser.options(section):
            if normalize_key(option) == key:
                parser.remove_option(section, option)
        parser.set(section, key, "")
    out = []
    for section in parser.sections():
        out.append(f"[{section}]")
        for key, value in parser.items(section):
            out.append(f"{key} = {value}" if value else f"{key} =")
        out.append("")
    return "\n".join(out)


def target_path(mode: str, path: str | None, environ: Mapping[str, str], state: str) -> str:
    """Where ``--pip-conf MODE`` writes (``state``: pipnexus's directory for ``file``)."""
    if path:
        return os.path.abspath(path)
    if mode == "user":
        return user_pip_conf(environ)
    if mode == "global":
        return GLOBAL_PIP_CONF
    return os.path.join(state, "pip.conf")


def write_pip_conf(
    path: str,
    mode: str,
    environ: Mapping[str, str],
    index_url: str,
    trusted_host: str | None,
    private: bool,
    cert: str | None,
    clear: Iterable[tuple[str, str]] = (),
) -> str:
    """Merge our keys into the file at ``path`` (``private``: owner only, it holds
    credentials) and return ``path``."""
    seed = path
    if mode == "file" and not os.path.exists(path):
        # PIP_CONFIG_FILE stops pip from reading the user file: start from what pip read
        current = environ.get("PIP_CONFIG_FILE")
        if current and current != os.devnull and os.path.isfile(current):
            seed = current
        else:
            seed = user_pip_conf(environ)
    existing = ""
    file_mode = 0o644
    try:
        if os.path.isfile(seed):
            with open(seed, encoding="utf-8") as f:
                existing = f.read()
            if seed == path:
                file_mode = os.stat(path).st_mode & 0o777
        if private:
            file_mode &= ~0o077
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = merge_pip_conf(existing, index_url, trusted_host, cert, clear)
        atomic_write(path, text.encode("utf-8"), file_mode)
    except PermissionError:
        hint = " (pip-conf: global needs root; use user or file)" if path == GLOBAL_PIP_CONF else ""
        raise InputError(
            f"can't write the pip config {path}: permission denied{hint}", "unwritable-file"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(
            f"can't write the pip config {path}: {os_reason(e)}", "unwritable-file"
        ) from None
    return path
