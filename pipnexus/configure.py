"""``pipnexus configure``: probe, choose an index, point every installer of the job at it.

Standard library only (runs as ``python3 -I -S`` on a bare runner image). The decision:
the first healthy candidate (in the order given) is used; when none is healthy the fallback
index is used, unless ``--require-nexus`` (exit 1). The same variables are set either way, so a
stale value in the runner's environment can't keep pointing at a dead Nexus.

Formats: ``github`` writes GITHUB_ENV, GITHUB_OUTPUT and the step summary; ``shell`` prints
``export`` lines for ``eval``; ``dotenv`` prints ``NAME=value`` lines; ``json`` prints the
decision only and configures nothing. ``auto`` is ``github`` when ``GITHUB_ACTIONS=true``,
else ``shell``. Credentials are only ever written where an installer needs them (GITHUB_ENV,
shell/dotenv output, a pip config file); everything shown to people is redacted.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, TextIO
from urllib.parse import urlsplit

from pipnexus import gha, urls
from pipnexus.errors import InputError
from pipnexus.fsutil import atomic_write

if TYPE_CHECKING:
    from pipnexus.probe import Result, Target

DEFAULT_FALLBACK = "https://pypi.org/simple"
DEFAULT_TIMEOUT = 3.0
FORMATS = ("auto", "github", "shell", "json", "dotenv")
PIP_CONF_MODES = ("none", "user", "global", "file")
GLOBAL_PIP_CONF = "/etc/pip.conf"
OUTPUTS = ("source", "index-url", "trusted-host", "reason", "latency-ms")
# set elsewhere, these make installers fetch from somewhere besides the chosen index
EXTRA_SOURCE_VARS = (
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "UV_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
)
# an extra source naming only these hosts is what the proxy replaces: configure clears it
PUBLIC_PYPI_HOSTS = frozenset(
    {"pypi.org", "www.pypi.org", "files.pythonhosted.org", "pypi.python.org"}
)
# pip config keys (normalized) and the sections that apply to commands that fetch packages
PIP_CONF_SOURCE_KEYS = {"extra-index-url": "PIP_EXTRA_INDEX_URL", "find-links": "PIP_FIND_LINKS"}
PIP_CONF_SECTIONS = ("global", "install", "download", "wheel", "lock", "index")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class Settings(NamedTuple):
    index_urls: list[str]
    nexus_url: str | None
    repository: str | None
    fallback: str
    username: str | None
    password: str | None
    ca_cert: str | None
    timeout: float
    canary: str
    require_nexus: bool
    pip_conf: str
    pip_conf_path: str | None
    fmt: str
    warnings: bool
    project_dir: str


class Decision(NamedTuple):
    source: str  # "nexus", "fallback", or "none" (no healthy index and fallback refused)
    index_url: str  # with credentials: for installers only, never shown
    trusted_host: str | None
    reason: str
    latency_ms: int
    candidates: list[Result]
    https_ca: bool  # the chosen index is https and a CA was given for it


class Warning_(NamedTuple):
    message: str
    file: str | None = None
    line: int | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "Candidates, first match wins: --index-url; --nexus-url + --repository; environment\n"
        "PIPNEXUS_INDEX_URL (space-separated) or PIPNEXUS_NEXUS_URL + PIPNEXUS_REPOSITORY.\n"
        "Credentials: --username/--password-env, userinfo in the URL, or PIPNEXUS_USERNAME/\n"
        "PIPNEXUS_PASSWORD. Empty option values count as not given (the action passes every\n"
        "input). Exit 0 configured (nexus or fallback), 1 no healthy index with\n"
        "--require-nexus, 2 bad input.\n"
        "--format shell/dotenv print credentials embedded in the index URL (that is their job);\n"
        "github and json output never contain them."
    )
    add = parser.add_argument
    add("--index-url", action="append", default=[], metavar="URL",
        help="candidate index URL; repeatable, or several separated by blanks, in order of "
        "preference")
    add("--nexus-url", metavar="URL", help="Nexus base URL, e.g. http://nexus3.ns.svc:8081")
    add("--repository", metavar="NAME", help="Nexus PyPI proxy repository (default pypi-proxy)")
    add("--fallback-index-url", metavar="URL",
        help=f"index used when no candidate is healthy (default {DEFAULT_FALLBACK})")
    add("--username", metavar="USER", help="user name for the Nexus candidates")
    add("--password-env", metavar="VAR",
        help="name of the environment variable holding the password (never pass it as an "
        "argument)")
    add("--ca-cert", metavar="FILE", help="PEM CA certificate for an https Nexus")
    add("--timeout", metavar="SECONDS",
        help=f"total deadline for probing all candidates (default {DEFAULT_TIMEOUT:g})")
    add("--canary", metavar="PROJECT", help="project whose index page must list files (pip)")
    add("--require-nexus", nargs="?", const="true", default="", metavar="BOOL",
        help="fail (exit 1) instead of falling back when no candidate is healthy")
    add("--pip-conf", default="", metavar="MODE",
        help="also write a pip config file: none (default), user (~/.config/pip/pip.conf), "
        "global (/etc/pip.conf, needs root) or file (RUNNER_TEMP/pipnexus/pip.conf + "
        "PIP_CONFIG_FILE); existing keys are kept, extra-index-url/find-links naming only "
        "public PyPI are written empty")
    add("--pip-conf-path", metavar="FILE", help="write the pip config file here instead")
    add("--format", default="auto", metavar="FORMAT",
        help="auto (default: github inside GitHub Actions, else shell), github, shell, json, "
        "dotenv")
    add("--no-warnings", action="store_true",
        help="don't look for requirements files, lock files or settings that bypass the index")
    add("--project-dir", metavar="DIR",
        help="where to look for those (default GITHUB_WORKSPACE, else the current directory)")


def _opt(value: str | None) -> str | None:
    return value if value else None


def _bool(value: str, what: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InputError(f"{what} must be true or false")


def _no_breaks(value: str, what: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise InputError(f"{what} contains a line break or NUL character")
    return value


def settings_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Validate the options that need no network; raise InputError on bad ones."""
    from pipnexus import probe

    fmt = (args.format or "auto").strip().lower()
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = "github" if environ.get("GITHUB_ACTIONS") == "true" else "shell"
    index_urls = [u for value in args.index_url for u in value.split()]
    username = _opt(args.username) or _opt(environ.get("PIPNEXUS_USERNAME"))
    password: str | None = None
    if args.password_env:
        if not gha.ENV_NAME.match(args.password_env):
            raise InputError("--password-env must name an environment variable")
        password = _opt(environ.get(args.password_env))
    password = password or _opt(environ.get("PIPNEXUS_PASSWORD"))
    if username is not None:
        _no_breaks(username, "username")
    if password is not None:
        _no_breaks(password, "password")
    timeout = DEFAULT_TIMEOUT
    if args.timeout:
        try:
            timeout = float(args.timeout)
        except ValueError:
            raise InputError("timeout must be a number of seconds") from None
        if not 0 < timeout <= 300:
            raise InputError("timeout must be more than 0 and at most 300 seconds")
    canary = _opt(args.canary) or "pip"
    if not probe.is_project_name(canary):
        raise InputError("canary must be a project name (letters, digits, '.', '_', '-')")
    pip_conf = (args.pip_conf or "none").strip().lower()
    if pip_conf not in PIP_CONF_MODES:
        raise InputError(f"pip-conf must be one of {', '.join(PIP_CONF_MODES)}")
    ca_cert = _opt(args.ca_cert)
    if ca_cert is not None:
        _no_breaks(ca_cert, "ca-cert")
        if not os.path.isfile(ca_cert) or not os.access(ca_cert, os.R_OK):
            raise InputError(f"ca-cert {ca_cert!r} is not a readable file")
        ca_cert = os.path.abspath(ca_cert)
    project_dir = (
        _opt(args.project_dir) or _opt(environ.get("GITHUB_WORKSPACE")) or os.getcwd()
    )
    return Settings(
        index_urls=index_urls,
        nexus_url=_opt(args.nexus_url),
        repository=_opt(args.repository),
        fallback=_opt(args.fallback_index_url) or DEFAULT_FALLBACK,
        username=username,
        password=password,
        ca_cert=ca_cert,
        timeout=timeout,
        canary=canary,
        require_nexus=_bool(args.require_nexus or "", "require-nexus"),
        pip_conf=pip_conf,
        pip_conf_path=_opt(args.pip_conf_path),
        fmt=fmt,
        warnings=not args.no_warnings,
        project_dir=project_dir,
    )


# --- secrets -----------------------------------------------------------------------------

def collect_secrets(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    raw = [*settings.index_urls, settings.nexus_url or "", settings.fallback]
    raw += [environ.get("PIPNEXUS_INDEX_URL", ""), environ.get("PIPNEXUS_NEXUS_URL", "")]
    secrets = [s for text in raw for s in urls.url_secrets(text)]
    if settings.password:
        secrets.append(settings.password)
    return urls.secret_forms(secrets, settings.username)


# --- decision ----------------------------------------------------------------------------


def credentialed(url: str, settings: Settings) -> str:
    """The candidate URL with the credentials installers need.

    Userinfo already in the URL wins over --username/--password, as in the probe.
    """
    _, user, _ = urls.split_credentials(url)
    if user is not None or (settings.username is None and settings.password is None):
        return url
    return urls.with_credentials(url, settings.username, settings.password)


def resolve(settings: Settings, environ: Mapping[str, str]) -> list[Target]:
    from pipnexus import probe

    urls.validate_url(settings.fallback, "fallback index URL")
    targets: list[Target] = probe.resolve_candidates(
        settings.index_urls, settings.nexus_url, settings.repository, environ
    )
    return targets


def decide(settings: Settings, targets: list[Target]) -> Decision:
    from pipnexus import probe

    started = time.monotonic()
    results = probe.probe(
        targets,
        canary=settings.canary,
        timeout=settings.timeout,
        cafile=settings.ca_cert,
        username=settings.username,
        password=settings.password,
    )
    elapsed_ms = int((time.monotonic() - started) * 1000)
    for target, result in zip(targets, results):
        if result.healthy:
            url = credentialed(target.index_url, settings)
            https = url.lower().startswith("https://")
            return Decision(
                "nexus", url, urls.trusted_host(url), "", result.latency_ms, results,
                https and settings.ca_cert is not None,
            )
    first = results[0] if results else None
    reason = first.reason if first else "bad-response"
    if settings.require_nexus:
        return Decision("none", "", None, reason, elapsed_ms, results, False)
    fallback = settings.fallback
    return Decision(
        "fallback", fallback, urls.trusted_host(fallback), reason, elapsed_ms, results, False
    )


# --- what gets set -----------------------------------------------------------------------


def installer_env(
    index_url: str, trusted_host: str | None, ca_bundle: str | None
) -> dict[str, str]:
    """The variables for every installer (see installers.md §2.11), in a stable order.

    PIP_TRUSTED_HOST and PDM_PYPI_VERIFY_SSL are always set, to safe values for https, so a
    stale value from the runner's environment does not survive a switch.
    """
    env = {
        "PIP_INDEX_URL": index_url,
        "PIP_TRUSTED_HOST": trusted_host or "",
        "UV_DEFAULT_INDEX": index_url,
        "UV_INDEX_URL": index_url,
        "PIPENV_PYPI_MIRROR": index_url,
        "PDM_PYPI_URL": index_url,
        "PDM_PYPI_VERIFY_SSL": "false" if trusted_host else "true",
        "POETRY_PYPI_MIRROR_URL": index_url,
    }
    if ca_bundle:
        # one bundle = system CAs + the private CA, so other https hosts still verify
        env.update(PIP_CERT=ca_bundle, SSL_CERT_FILE=ca_bundle, REQUESTS_CA_BUNDLE=ca_bundle)
    return env


def state_dir(environ: Mapping[str, str]) -> str:
    base = environ.get("RUNNER_TEMP")
    if base:
        path = os.path.join(base, "pipnexus")
    else:
        import tempfile

        path = os.path.join(tempfile.gettempdir(), f"pipnexus-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def system_ca_file() -> str | None:
    import ssl

    paths = ssl.get_default_verify_paths()
    for candidate in (
        paths.cafile,
        paths.openssl_cafile,
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def write_ca_bundle(ca_cert: str, directory: str) -> tuple[str, list[Warning_]]:
    """Write system CAs + ``ca_cert`` to one bundle; return its path and any warning."""
    warnings: list[Warning_] = []
    with open(ca_cert, "rb") as f:
        private = f.read()
    system = system_ca_file()
    parts = []
    if system:
        with open(system, "rb") as f:
            parts.append(f.read())
    else:
        warnings.append(Warning_(
            "no system CA bundle found: PIP_CERT/SSL_CERT_FILE/REQUESTS_CA_BUNDLE hold only "
            "the given CA, so other https hosts will fail to verify"
        ))
    parts.append(private)
    path = os.path.join(directory, "ca-bundle.pem")
    atomic_write(path, b"\n".join(p.rstrip(b"\n") + b"\n" for p in parts), 0o644)
    return path, warnings


def _os_reason(e: Exception) -> str:
    """The reason of an OS error without the paths it names (no secrets, one line)."""
    return getattr(e, "strerror", None) or type(e).__name__


def user_pip_conf(environ: Mapping[str, str]) -> str:
    config_home = environ.get("XDG_CONFIG_HOME", "").strip()
    if not os.path.isabs(config_home):  # pip (platformdirs) ignores a relative one
        config_home = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".config")
    return os.path.join(config_home, "pip", "pip.conf")


def pip_conf_target(settings: Settings, environ: Mapping[str, str]) -> str:
    if settings.pip_conf_path:
        return os.path.abspath(settings.pip_conf_path)
    if settings.pip_conf == "user":
        return user_pip_conf(environ)
    if settings.pip_conf == "global":
        return GLOBAL_PIP_CONF
    return os.path.join(state_dir(environ), "pip.conf")


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
            if _pip_key(option) == key:
                parser.remove_option(section, option)
        parser.set(section, key, "")
    out = []
    for section in parser.sections():
        out.append(f"[{section}]")
        for key, value in parser.items(section):
            out.append(f"{key} = {value}" if value else f"{key} =")
        out.append("")
    return "\n".join(out)


def write_pip_conf(
    settings: Settings,
    environ: Mapping[str, str],
    decision: Decision,
    cert: str | None,
    clear: Iterable[tuple[str, str]] = (),
) -> str:
    path = pip_conf_target(settings, environ)
    seed = path
    if settings.pip_conf == "file" and not os.path.exists(path):
        # PIP_CONFIG_FILE stops pip from reading the user file: start from what pip read
        current = environ.get("PIP_CONFIG_FILE")
        if current and current != os.devnull and os.path.isfile(current):
            seed = current
        else:
            seed = user_pip_conf(environ)
    existing = ""
    mode = 0o644
    try:
        if os.path.isfile(seed):
            with open(seed, encoding="utf-8") as f:
                existing = f.read()
            if seed == path:
                mode = os.stat(path).st_mode & 0o777
        if urls.split_credentials(decision.index_url)[1] is not None:
            mode &= ~0o077  # credentials: owner only
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = merge_pip_conf(existing, decision.index_url, decision.trusted_host, cert, clear)
        atomic_write(path, text.encode("utf-8"), mode)
    except PermissionError:
        hint = " (pip-conf: global needs root; use user or file)" if path == GLOBAL_PIP_CONF else ""
        raise InputError(f"can't write the pip config {path}: permission denied{hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"can't write the pip config {path}: {_os_reason(e)}") from None
    return path


# --- warnings about what bypasses the index ----------------------------------------------

_SKIP_DIRS = {"node_modules", "venv", "site-packages", "__pycache__", "build", "dist"}
_REQ_FILE = re.compile(r"(.*requirements.*|constraints.*)\.(txt|in)\Z", re.IGNORECASE)
_REQ_OPTION = re.compile(
    r"\s*(?P<opt>-i|--index-url|--extra-index-url|-f|--find-links)(?=[\s=]|\Z)"
    r"|\s*(?P<short>-i)\S"
)
MAX_WALK_FILES = 20000
MAX_DEPTH = 6


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


def bypass_warnings(project_dir: str) -> list[Warning_]:
    """Things in the project that make installers skip the configured index."""
    found: list[Warning_] = []
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
                for number, line in enumerate(_read_lines(path), 1):
                    match = _REQ_OPTION.match(line)
                    if match:
                        opt = match.group("opt") or match.group("short")
                        found.append(Warning_(
                            f"{opt} in a requirements file overrides PIP_INDEX_URL: pip will "
                            "fetch from the URL given there, not through the Nexus proxy",
                            path, number,
                        ))
            elif name == "uv.lock":
                found.append(Warning_(
                    "uv.lock records download URLs: `uv sync --frozen` fetches them and bypasses "
                    "the proxy, `uv sync --locked` fails against a mirror; install with "
                    "`uv export --frozen | uv pip install -r -` instead",
                    path, 1,
                ))
            elif name == "pyproject.toml":
                lines = _read_lines(path)
                text = "\n".join(lines)
                headers = (i for i, line in enumerate(lines, 1) if line.startswith("[tool.poetry"))
                poetry_line = next(headers, None)
                is_poetry = poetry_line is not None or os.path.isfile(
                    os.path.join(root, "poetry.lock")
                )
                if is_poetry and "poetry-plugin-pypi-mirror" not in text:
                    found.append(Warning_(
                        "Poetry ignores PIP_INDEX_URL; POETRY_PYPI_MIRROR_URL takes effect only "
                        "with poetry-plugin-pypi-mirror (add it to [tool.poetry.requires-plugins]"
                        " or `poetry self add poetry-plugin-pypi-mirror`), else poetry installs "
                        "from pypi.org",
                        path, poetry_line or 1,
                    ))
                if any(line.strip() == "[tool.pip-tools]" for line in lines):
                    pip_tools_quiet = pip_tools_quiet or _pip_tools_quiet(lines)
            elif name == ".pip-tools.toml":
                pip_tools_quiet = pip_tools_quiet or _pip_tools_quiet(_read_lines(path))
    if not pip_tools_quiet:
        for path in pip_tools_inputs:
            found.append(Warning_(
                "pip-compile writes the index URL it used into the requirements file by default, "
                "so the proxy URL would be committed; use --no-emit-index-url "
                "--no-emit-trusted-host (or emit-index-url = false in [tool.pip-tools])",
                path, 1,
            ))
    return found


def _source_items(value: str) -> list[str]:
    """The URLs or paths of an extra-source setting: blank- or comma-separated (uv's
    UV_FIND_LINKS uses commas), uv's ``name=url`` entries reduced to the URL."""
    items = [t for t in re.split(r"[\s,]+", value) if t]
    return [re.sub(r"\A[A-Za-z0-9][A-Za-z0-9._-]*=", "", t, count=1) for t in items]


def _is_public_url(item: str) -> bool:
    try:
        host = urlsplit(item).hostname
    except ValueError:
        return False
    return host is not None and host.rstrip(".") in PUBLIC_PYPI_HOSTS


def is_public_pypi(value: str) -> bool:
    """True when every URL in ``value`` points at the public PyPI (any scheme or path)."""
    items = _source_items(value)
    return bool(items) and all(_is_public_url(item) for item in items)


def cleared_sources(environ: Mapping[str, str]) -> dict[str, str]:
    """Extra-source variables of the environment that name only public PyPI (name: value).

    The proxy replaces them: configure sets them to empty. uv reads UV_INDEX before
    UV_DEFAULT_INDEX, and pip merges PIP_EXTRA_INDEX_URL in, so either would bypass it.
    """
    return {
        name: environ[name]
        for name in EXTRA_SOURCE_VARS
        if environ.get(name, "").strip() and is_public_pypi(environ[name])
    }


def env_warnings(
    environ: Mapping[str, str], cleared: Mapping[str, str], secrets: Sequence[str] = ()
) -> list[Warning_]:
    return [
        Warning_(
            f"{name}={urls.redact(environ[name], secrets)} is set in the environment: "
            "installers also use that source, besides the proxy (pipnexus clears it only when "
            "it names public PyPI alone); unset it if the job does not need it, or serve it "
            "through Nexus too (a proxy or group repository)"
        )
        for name in EXTRA_SOURCE_VARS
        if environ.get(name, "").strip() and name not in cleared
    ]


class PipConfSource(NamedTuple):
    """An extra source set in a pip config file."""

    file: str
    line: int
    section: str
    key: str  # normalized: extra-index-url or find-links
    value: str


def pip_config_files(environ: Mapping[str, str]) -> list[str]:
    """The pip config files pip reads on Linux, in its order: later ones override earlier ones.

    Global (``$XDG_CONFIG_DIRS/pip/pip.conf``, ``/etc/pip.conf``), user (``~/.pip/pip.conf``,
    ``~/.config/pip/pip.conf``; skipped when PIP_CONFIG_FILE names an existing file), site
    (``$VIRTUAL_ENV/pip.conf``: pip reads ``sys.prefix``, the active virtualenv is our best
    guess), then PIP_CONFIG_FILE. ``PIP_CONFIG_FILE=/dev/null`` disables them all.
    """
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    dirs = [d.strip() for d in environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep)]
    dirs = [d for d in dirs if os.path.isabs(d)] or ["/etc/xdg"]
    files = [os.path.join(d, "pip", "pip.conf") for d in dirs] + [GLOBAL_PIP_CONF]
    if not (env_file and os.path.exists(env_file)):
        home = environ.get("HOME") or os.path.expanduser("~")
        files += [os.path.join(home, ".pip", "pip.conf"), user_pip_conf(environ)]
    if environ.get("VIRTUAL_ENV"):
        files.append(os.path.join(environ["VIRTUAL_ENV"], "pip.conf"))
    if env_file:
        files.append(env_file)
    return files


def _pip_key(name: str) -> str:
    # pip's _normalize_name
    name = name.strip().lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def _pip_conf_sources(path: str) -> list[PipConfSource]:
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
        header = re.match(r"\[(.+)\]", text_line.strip())
        assignment = re.match(r"([^\s=:#;][^=:]*?)\s*[=:]", text_line)
        if header:
            section = header.group(1)
        elif assignment:
            lines.setdefault((section, _pip_key(assignment.group(1))), number)
    found = []
    for name in parser.sections():
        if name not in PIP_CONF_SECTIONS:
            continue
        for option, value in parser.items(name):
            key = _pip_key(option)
            if key in PIP_CONF_SOURCE_KEYS:
                line = lines.get((name, key), 1)
                found.append(PipConfSource(path, line, name, key, value.strip()))
    return found


def pip_conf_sources(environ: Mapping[str, str]) -> list[PipConfSource]:
    """The extra sources pip's config files give it: per section and key the last file wins,
    and an empty value there means none."""
    effective: dict[tuple[str, str], PipConfSource] = {}
    for path in pip_config_files(environ):
        for source in _pip_conf_sources(path):
            effective[source.section, source.key] = source
    return [s for s in effective.values() if s.value]


def pip_conf_warnings(
    sources: Sequence[PipConfSource], secrets: Sequence[str] = ()
) -> list[Warning_]:
    found = []
    for s in sources:
        setting = f"[{s.section}] {s.key} = {urls.redact(s.value, secrets)}"
        if is_public_pypi(s.value):
            advice = (
                f"pip also fetches from public PyPI, bypassing the proxy; an empty "
                f"{PIP_CONF_SOURCE_KEYS[s.key]} can't override a config file, but pip-conf: "
                "file does (pipnexus writes the key empty in a config file pip reads last)"
            )
        else:
            advice = (
                "pip also uses that source, besides the proxy; remove it if the job does not "
                "need it, or serve it through Nexus too (a proxy or group repository)"
            )
        found.append(Warning_(f"pip config sets {setting}: {advice}", s.file, s.line))
    return found


# --- output ------------------------------------------------------------------------------


def decision_json(decision: Decision, shown_url: str) -> dict[str, object]:
    return {
        "source": decision.source,
        "index_url": shown_url,
        "trusted_host": decision.trusted_host,
        "reason": decision.reason,
        "latency_ms": decision.latency_ms,
        "candidates": [
            {
                "url": r.url,
                "healthy": r.healthy,
                "reason": r.reason,
                "detail": r.detail,
                "latency_ms": r.latency_ms,
            }
            for r in decision.candidates
        ],
    }


_MARKDOWN_ESCAPES = {
    "\\": "\\\\", "|": "\\|", "[": "\\[", "]": "\\]", "*": "\\*", "_": "\\_",
    "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " ",
}


def _cell(text: object) -> str:
    """Text from servers and inputs as inert Markdown (no links, HTML or table breaks)."""
    return "".join(_MARKDOWN_ESCAPES.get(c, c) for c in str(text))


def _code(text: object) -> str:
    # inside a code span only '|' (the table) and '`' matter
    plain = str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ").replace("\r", " ")
    return f"`{plain}`" if plain else ""


def summary_markdown(
    decision: Decision,
    shown_url: str,
    shown_env: dict[str, str],
    warnings: list[Warning_],
    notes: Sequence[str] = (),
    cleared: Mapping[str, str] | None = None,
) -> str:
    lines = ["### pipnexus", ""]
    if decision.source == "nexus":
        lines.append(f"Using the Nexus proxy {_code(shown_url)}.")
    elif decision.source == "fallback":
        lines.append(
            f"**No healthy Nexus** ({_cell(decision.reason)}): using the fallback index "
            f"{_code(shown_url)}."
        )
    else:
        lines.append(f"**No healthy Nexus** ({_cell(decision.reason)}) and require-nexus is set.")
    lines += ["", "| Candidate | Result | Reason | Latency | Detail |", "|---|---|---|---|---|"]
    for r in decision.candidates:
        result = "healthy" if r.healthy else "unhealthy"
        lines.append(
            f"| {_code(r.url)} | {result} | {_cell(r.reason)} | {r.latency_ms} ms "
            f"| {_cell(r.detail)} |"
        )
    if shown_env:
        lines += ["", "| Variable | Value |", "|---|---|"]
        for name, value in shown_env.items():
            if cleared and name in cleared:
                cell = f"empty (cleared: was {_code(cleared[name])}, only public PyPI)"
            else:
                cell = _code(value)
            lines.append(f"| `{name}` | {cell} |")
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {_cell(note)}" for note in notes]
    if warnings:
        lines += ["", "Warnings:", ""]
        for w in warnings:
            where = f"{_code(w.file)}:{w.line} " if w.file else ""
            lines.append(f"- {where}{_cell(w.message)}")
    return "\n".join(lines) + "\n"


def _relative(path: str, bases: Sequence[str | None]) -> str:
    for base in bases:
        if base:
            rel = os.path.relpath(path, base)
            if not rel.startswith(".." + os.sep) and rel != "..":
                return rel
    return path


def run(args: argparse.Namespace) -> int:
    environ = os.environ
    fmt = (args.format or "auto").strip().lower()
    in_actions = environ.get("GITHUB_ACTIONS") == "true"
    # not for shell/dotenv/json: their stdout is eval'd or parsed
    github = fmt == "github" or (in_actions and fmt not in ("shell", "dotenv", "json"))
    try:
        return configure(args, environ)
    except InputError as e:
        if github:
            # the cli prints the plain line too; the annotation makes it visible in the run view
            print(gha.command("error", f"pipnexus: {e}", title="pipnexus configure"), flush=True)
        raise


def configure(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    settings = settings_from_args(args, environ)
    secrets = collect_secrets(settings, environ)
    github = settings.fmt == "github"
    masking = github or environ.get("GITHUB_ACTIONS") == "true"
    # before anything else; in shell/dotenv formats stdout is eval'd, and the runner reads
    # workflow commands from stderr too
    mask_stream = sys.stdout if github else sys.stderr
    if masking:
        _print_masks(secrets, mask_stream)
    if github and not environ.get("GITHUB_ENV"):
        raise InputError("--format github needs GITHUB_ENV (run it inside GitHub Actions)")

    targets = resolve(settings, environ)
    if masking and secrets:
        # the whole credentialed URLs too (the password alone already hides them)
        urls_with_secrets = [credentialed(t.index_url, settings) for t in targets]
        _print_masks([u for u in urls_with_secrets if "@" in u], mask_stream)
    decision = decide(settings, targets)
    shown_url = urls.redact(decision.index_url, secrets) if decision.index_url else ""

    warnings: list[Warning_] = []
    env: dict[str, str] = {}
    pip_conf_path = None
    # extra sources naming only public PyPI are cleared; the others are warned about
    cleared = cleared_sources(environ) if decision.source != "none" else {}
    where = "the Nexus proxy" if decision.source == "nexus" else "the fallback index"
    notes = [
        f"{name}={urls.redact(value, secrets)} names only public PyPI: set to empty, "
        f"so installers fetch from {where} alone"
        for name, value in cleared.items()
    ]
    needs_pip_sources = settings.warnings or settings.pip_conf != "none"
    pip_sources = pip_conf_sources(environ) if needs_pip_sources else []
    if decision.source != "none" and settings.fmt != "json":
        ca_bundle = None
        if decision.https_ca and settings.ca_cert:
            try:
                ca_bundle, ca_warnings = write_ca_bundle(settings.ca_cert, state_dir(environ))
            except OSError as e:
                raise InputError(f"can't write the CA bundle: {_os_reason(e)}") from None
            warnings += ca_warnings
        env = installer_env(decision.index_url, decision.trusted_host, ca_bundle)
        if settings.pip_conf != "none":
            public = [s for s in pip_sources if is_public_pypi(s.value)]
            pip_conf_path = write_pip_conf(
                settings, environ, decision, ca_bundle, [(s.section, s.key) for s in public]
            )
            if settings.pip_conf == "file":
                env["PIP_CONFIG_FILE"] = pip_conf_path
            # what pip reads now: the file written overrides only files pip reads before it
            pip_sources = pip_conf_sources({**environ, **env})
            notes += [
                f"{s.file}:{s.line}: [{s.section}] {s.key} = "
                f"{urls.redact(s.value, secrets)} names only public PyPI: overridden "
                f"by an empty {s.key} in {pip_conf_path}"
                for s in public
                if s not in pip_sources
            ]
        env.update({name: "" for name in cleared})
    shown_env = {name: urls.redact(value, secrets) for name, value in env.items()}

    if settings.warnings:
        project_warnings = bypass_warnings(settings.project_dir)
        warnings = (
            env_warnings(environ, cleared, secrets)
            + pip_conf_warnings(pip_sources, secrets)
            + project_warnings
            + warnings
        )

    healthy = decision.source == "nexus"
    if decision.source == "none":
        message = (
            f"no healthy Nexus index ({_describe_failure(decision)}) and require-nexus is "
            "set: not falling back"
        )
    elif not healthy:
        message = (
            f"Nexus is unhealthy ({_describe_failure(decision)}); using the fallback index "
            f"{shown_url}"
        )
    else:
        message = ""

    if settings.fmt == "json":
        import json

        print(json.dumps(decision_json(decision, shown_url), indent=2))
        _print_notes_plain(notes)
        _print_warnings_plain(warnings, message)
        return 1 if decision.source == "none" else 0

    if github:
        _emit_github(
            settings, environ, decision, shown_url, env, shown_env, warnings, message,
            notes, {name: urls.redact(value, secrets) for name, value in cleared.items()},
        )
    else:
        _print_candidates_plain(decision)
        _print_notes_plain(notes)
        _print_warnings_plain(warnings, message)
        for name, value in env.items():
            if settings.fmt == "shell":
                print(f"export {name}={shlex.quote(value)}")
            else:
                print(f"{name}={value}")
        if pip_conf_path:
            _say(f"pipnexus: wrote pip config {pip_conf_path}")
    return 1 if decision.source == "none" else 0


def _print_masks(values: list[str], stream: TextIO) -> None:
    for value in values:
        for line in gha.add_mask(value):
            print(line, file=stream)
    stream.flush()


def _describe_failure(decision: Decision) -> str:
    for r in decision.candidates:
        if not r.healthy:
            detail = f": {r.detail}" if r.detail else ""
            return f"{r.url}: {r.reason}{detail}"
    return decision.reason


def _say(text: str) -> None:
    # one line each: a path or server text with a line break can't start a workflow command
    print(text.replace("\r", " ").replace("\n", " "), file=sys.stderr)


def _print_notes_plain(notes: list[str]) -> None:
    for note in notes:
        _say(f"pipnexus: {note}")


def _print_warnings_plain(warnings: list[Warning_], message: str) -> None:
    for w in warnings:
        where = f"{w.file}:{w.line}: " if w.file else ""
        _say(f"pipnexus: warning: {where}{w.message}")
    if message:
        _say(f"pipnexus: {message}")


def _print_candidates_plain(decision: Decision) -> None:
    for r in decision.candidates:
        state = "healthy" if r.healthy else f"unhealthy: {r.reason}"
        _say(f"pipnexus: {r.url}: {state} ({r.latency_ms} ms)")


def _emit_github(
    settings: Settings,
    environ: Mapping[str, str],
    decision: Decision,
    shown_url: str,
    env: dict[str, str],
    shown_env: dict[str, str],
    warnings: list[Warning_],
    message: str,
    notes: Sequence[str] = (),
    cleared: Mapping[str, str] | None = None,
) -> None:
    try:
        for name, value in env.items():
            gha.append_env(environ["GITHUB_ENV"], name, value)
        output_path = environ.get("GITHUB_OUTPUT")
        if output_path:
            outputs = {
                "source": decision.source,
                "index-url": shown_url,
                "trusted-host": decision.trusted_host or "",
                "reason": decision.reason,
                "latency-ms": str(decision.latency_ms),
            }
            for name, value in outputs.items():
                gha.append_output(output_path, name, value)
        summary_path = environ.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            gha.append_summary(
                summary_path,
                summary_markdown(decision, shown_url, shown_env, warnings, notes, cleared),
            )
    except ValueError as e:
        raise InputError(f"can't write the runner's files: {e}") from None
    except OSError as e:
        raise InputError(f"can't write the runner's files: {_os_reason(e)}") from None

    for r in decision.candidates:
        state = "healthy" if r.healthy else f"unhealthy: {r.reason}: {r.detail}"
        print(gha.escape_data(f"pipnexus: {r.url}: {state} ({r.latency_ms} ms)"))
    if decision.source == "nexus":
        print(gha.escape_data(f"pipnexus: using the Nexus proxy {shown_url}"))
    for note in notes:
        print(gha.escape_data(f"pipnexus: {note}"))
    workspace = environ.get("GITHUB_WORKSPACE")
    for w in warnings:
        file = _relative(w.file, [workspace, settings.project_dir]) if w.file else None
        print(gha.command("warning", w.message, file=file, line=w.line, title="pipnexus"))
    if decision.source == "fallback":
        print(gha.command("warning", f"pipnexus: {message}", title="pipnexus fallback"))
    elif decision.source == "none":
        print(gha.command("error", f"pipnexus: {message}", title="pipnexus"))
    sys.stdout.flush()
