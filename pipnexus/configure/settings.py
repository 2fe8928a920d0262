"""The options and environment of ``pipnexus configure``, parsed once into :class:`Settings`.

Everything shared with the other commands goes through the one option layer
(:mod:`pipnexus.options`); only configure's own options are defined here.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from pipnexus import options, urls
from pipnexus._nt import NamedTuple
from pipnexus.errors import InputError
from pipnexus.options import Credentials

PIP_CONF_MODES = ("none", "user", "global", "file")
PYTHON_MIRROR_REPOSITORY = "python-build-standalone"
# how a true/false option or variable may be spelled (an empty one is false)
TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


class Settings(NamedTuple):
    index_urls: list[str]  # validated by the probe's resolve_candidates, with its names
    nexus_url: str | None
    repository: str | None
    fallback: urls.URL
    credentials: Credentials
    ca_cert: str | None  # absolute path of a readable file
    timeout: float
    canary: str
    require_nexus: bool
    pip_conf: str  # one of PIP_CONF_MODES
    pip_conf_path: str | None
    fmt: str  # one of options.CONFIGURE_FORMATS but "auto"
    warnings: bool
    project_dir: str
    # uv's interpreter mirror: "" off, "auto", a Nexus repository name or a whole URL
    python_mirror: str = "auto"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "Candidates, first match wins: --index-url; --nexus-url + --repository; environment\n"
        "PIPNEXUS_INDEX_URL (space-separated) or PIPNEXUS_NEXUS_URL + PIPNEXUS_REPOSITORY.\n"
        "Credentials: --username/--password-env, userinfo in the URL, or PIPNEXUS_USERNAME/\n"
        "PIPNEXUS_PASSWORD. Empty option values count as not given (the action passes every\n"
        "input). With none of these set nothing is configured (reason not-configured).\n"
        "Exit 0 configured (nexus or fallback) or nothing given, 1 no healthy index (or none\n"
        "given) with --require-nexus, 2 bad input.\n"
        "--format shell/dotenv print credentials embedded in the index URL (that is their job);\n"
        "github and json output never contain them."
    )
    options.add_index_location(parser)
    add = parser.add_argument
    add("--fallback-index-url", metavar="URL",
        help=f"index used when no candidate is healthy (default {options.DEFAULT_FALLBACK})")
    options.add_credentials(parser)
    options.add_ca_cert(parser)
    options.add_timeout(parser)
    options.add_canary(parser)
    add("--require-nexus", nargs="?", const="true", default="", metavar="BOOL",
        help="fail (exit 1) instead of falling back when no candidate is healthy")
    add("--pip-conf", default="", metavar="MODE",
        help="also write a pip config file: none (default), user (~/.config/pip/pip.conf), "
        "global (/etc/pip.conf, needs root) or file (RUNNER_TEMP/pipnexus/pip.conf + "
        "PIP_CONFIG_FILE); existing keys are kept, extra-index-url/find-links naming only "
        "public PyPI are written empty")
    add("--pip-conf-path", metavar="FILE", help="write the pip config file here instead")
    options.add_format(
        parser,
        "auto (default: github inside GitHub Actions, else shell), github, shell, json, dotenv",
        options.CONFIGURE_FORMATS,
    )
    add("--python-mirror", metavar="VALUE",
        help="uv's interpreter mirror (UV_PYTHON_INSTALL_MIRROR), probed with the indexes: "
        f"auto (default: <nexus>/repository/{PYTHON_MIRROR_REPOSITORY} when the Nexus URL is "
        "known), false, a repository NAME of that Nexus, or a whole URL; environment "
        "PIPNEXUS_PYTHON_MIRROR when not given")
    add("--no-warnings", action="store_true",
        help="don't look for requirements files, lock files or settings that bypass the index")
    add("--project-dir", metavar="DIR",
        help="where to look for those (default GITHUB_WORKSPACE, else the current directory)")


def parse_format(value: str | None, environ: Mapping[str, str]) -> str:
    fmt = (value or "auto").strip().lower()
    if fmt not in options.CONFIGURE_FORMATS:
        raise InputError(f"--format must be one of {', '.join(options.CONFIGURE_FORMATS)}")
    if fmt == "auto":
        return "github" if environ.get("GITHUB_ACTIONS") == "true" else "shell"
    return fmt


def _bool(value: str, what: str) -> bool:
    low = value.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise InputError(f"{what} must be true or false")


def _choice(value: str | None, choices: tuple[str, ...], what: str) -> str:
    chosen = (value or choices[0]).strip().lower()
    if chosen not in choices:
        raise InputError(f"{what} must be one of {', '.join(choices)}")
    return chosen


def settings_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Validate every option that needs no network; InputError on a bad one."""
    given = options.given
    fmt = parse_format(args.format, environ)
    return Settings(
        index_urls=[u for value in args.index_url for u in value.split()],
        nexus_url=given(args.nexus_url),
        repository=given(args.repository),
        fallback=urls.parse_url(
            given(args.fallback_index_url) or options.DEFAULT_FALLBACK, "fallback index URL"
        ),
        credentials=options.parse_credentials(
            args.username, given(args.password_env), environ, from_environment=True
        ),
        ca_cert=options.parse_ca_cert(args.ca_cert),
        timeout=options.parse_timeout(args.timeout),
        canary=options.parse_canary(args.canary),
        require_nexus=_bool(args.require_nexus or "", "--require-nexus"),
        pip_conf=_choice(args.pip_conf, PIP_CONF_MODES, "--pip-conf"),
        pip_conf_path=given(args.pip_conf_path),
        fmt=fmt,
        warnings=not args.no_warnings,
        project_dir=(
            given(args.project_dir) or given(environ.get("GITHUB_WORKSPACE")) or os.getcwd()
        ),
        python_mirror=_python_mirror(getattr(args, "python_mirror", None), environ),
    )


def _python_mirror(value: str | None, environ: Mapping[str, str]) -> str:
    """The option unless it is empty or ``auto`` (the action's default), then the runner's
    PIPNEXUS_PYTHON_MIRROR (so ARC can set it for every job), then ``auto``."""
    if value and value.strip().lower() != "auto":
        return parse_python_mirror(value)
    return parse_python_mirror(environ.get("PIPNEXUS_PYTHON_MIRROR"))


def parse_python_mirror(value: str | None) -> str:
    """``auto`` (also for empty), ``""`` for off, a repository name, or a validated URL."""
    text = (value or "").strip()
    low = text.lower()
    if low in ("", "auto", *TRUE):
        return "auto"
    if low in (*FALSE, "none"):
        return ""
    if "://" in text:
        mirror = urls.parse_url(text, "--python-mirror")
        if "?" in mirror.text or "#" in mirror.text:
            raise InputError("--python-mirror must not have a query or fragment")
        return mirror.text.rstrip("/")
    try:
        return urls.validate_repository(text)
    except InputError as e:
        raise InputError(
            f"--python-mirror: auto, false, a repository name or an http(s) URL ({e})"
        ) from None


def os_reason(e: BaseException) -> str:
    """The reason of an OS error without the paths it names (no secrets, one line)."""
    return getattr(e, "strerror", None) or type(e).__name__


def collect_secrets(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Every form of every secret the inputs hold, for masking and redaction."""
    raw = [*settings.index_urls, settings.nexus_url or "", settings.fallback.text]
    raw += [settings.python_mirror if "://" in settings.python_mirror else ""]
    raw += [environ.get("PIPNEXUS_INDEX_URL", ""), environ.get("PIPNEXUS_NEXUS_URL", "")]
    secrets = [s for text in raw for s in urls.url_secrets(text)]
    if settings.credentials.password:
        secrets.append(settings.credentials.password)
    return urls.secret_forms(secrets, settings.credentials.username)
