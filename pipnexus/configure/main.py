"""``pipnexus configure``: probe, choose an index, point every installer of the job at it.

Standard library only (runs as ``python3 -I -S`` on a bare runner image). The same variables
are set whether Nexus or the fallback is chosen, so a stale value in the runner's environment
can't keep pointing at a dead Nexus.

Formats: ``github`` writes GITHUB_ENV, GITHUB_OUTPUT and the step summary; ``shell`` prints
``export`` lines for ``eval``; ``dotenv`` prints ``NAME=value`` lines; ``json`` prints the
decision only and configures nothing. ``auto`` is ``github`` when ``GITHUB_ACTIONS=true``,
else ``shell``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from pipnexus import gha, urls
from pipnexus._nt import NamedTuple
from pipnexus.configure import decide as decide_
from pipnexus.configure.decide import Decision
from pipnexus.configure.render import print_masks
from pipnexus.configure.report import Report
from pipnexus.configure.settings import (
    Settings,
    collect_secrets,
    os_reason,
    parse_format,
    settings_from_args,
)
from pipnexus.configure.settings import add_arguments as add_arguments
from pipnexus.diagnostics import Diagnostic
from pipnexus.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (pipnexus/_nt.py)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from pipnexus.configure import pipconf

    Render = Callable[[Report, Settings, Mapping[str, str]], None]


def run(args: argparse.Namespace) -> int:
    environ = os.environ
    in_actions = environ.get("GITHUB_ACTIONS") == "true"
    try:
        fmt = parse_format(args.format, environ)
    except InputError:
        fmt = ""
    # only inside Actions (elsewhere it would repeat the error line on stdout), and not for
    # shell/dotenv/json: their stdout is eval'd or parsed
    github = in_actions and fmt not in ("shell", "dotenv", "json")
    try:
        return configure(settings_from_args(args, environ), environ)
    except InputError as e:
        if github:
            # the cli prints the plain line too; the annotation makes it visible in the run view
            # the title carries the code, as the hook's annotations do
            title = f"pipnexus configure [{e.code}]"
            print(gha.command("error", str(e), title=title), flush=True)
        raise


def configure(
    settings: Settings, environ: Mapping[str, str], render: Render | None = None
) -> int:
    """Mask, resolve, probe, decide, apply, report (with ``render``, by default the format's
    renderer; the runner hook passes its own); the exit code."""
    render = render or _render
    secrets = collect_secrets(settings, environ)
    masks = _mask_stream(settings, environ)
    if masks:
        print_masks(secrets, masks)
    if settings.fmt == "github" and not environ.get("GITHUB_ENV"):
        raise InputError("--format github needs GITHUB_ENV (run it inside GitHub Actions)")
    if render is _render and environ.get("PIPNEXUS_HOOK_SOURCE"):
        from pipnexus.hook import markers

        if markers.defers_to_hook(settings):
            return markers.report_hooked(settings, environ)
    if not decide_.configured(settings, environ):
        return _not_configured(settings, environ, render)
    candidates = decide_.resolve(settings, environ)
    if masks and secrets:
        # the whole credentialed URLs too (the password alone already hides them)
        indexes = (decide_.credentialed(t.index, settings.credentials) for t in candidates.targets)
        print_masks([i.text for i in indexes if i.has_credentials], masks)
    decision = decide_.decide(settings, candidates, environ)
    applied = apply(settings, environ, decision, secrets)
    report = build_report(settings, environ, decision, applied, candidates.notes, secrets)
    render(report, settings, environ)
    return 1 if decision.source == "none" else 0


def _not_configured(settings: Settings, environ: Mapping[str, str], render: Render) -> int:
    """No index given (a GitHub-hosted runner, a laptop): change nothing and say so once.
    Only ``require-nexus`` makes it a failure."""
    where = (
        "the index-url or nexus-url input"
        if settings.fmt == "github"
        else "--index-url or --nexus-url"
    )
    how = (
        f"no package index is given ({where}, or PIPNEXUS_INDEX_URL or PIPNEXUS_NEXUS_URL in "
        "the runner's environment)"
    )
    if settings.require_nexus:
        verdict = Diagnostic(
            "error", f"{how} and require-nexus is set: nothing is configured", "not-configured"
        )
    else:
        verdict = Diagnostic(
            "note",
            f"{how}: nothing is configured, installers keep their defaults; set one of those "
            "where jobs should use a Nexus (self-hosted runners)",
            "not-configured",
        )
    decision = decide_.not_configured()
    report = Report(decision, "", {}, {}, {}, [], [], verdict, None)
    render(report, settings, environ)
    return 1 if settings.require_nexus else 0


def _mask_stream(settings: Settings, environ: Mapping[str, str]) -> TextIO | None:
    """Where ``::add-mask::`` goes, before anything else: stdout for github; stderr inside
    Actions for the other formats (their stdout is eval'd; the runner reads stderr too)."""
    if settings.fmt == "github":
        return sys.stdout
    return sys.stderr if environ.get("GITHUB_ACTIONS") == "true" else None


class Applied(NamedTuple):
    """What configure set up for the installers."""

    env: dict[str, str]  # the variables to set, with credentials ({} for "none" and json)
    cleared: dict[str, str]  # extra-source variables naming only public PyPI, set to empty
    notes: list[Diagnostic]
    pip_sources: list[pipconf.PipConfSource]  # extra sources pip's config files still give
    pip_conf_path: str | None  # the pip config file written
    warnings: list[Diagnostic]


def apply(
    settings: Settings,
    environ: Mapping[str, str],
    decision: Decision,
    secrets: Sequence[str],
) -> Applied:
    """The installers' variables, the CA bundle and the pip config file for the decision.
    Extra sources naming only public PyPI are cleared (the others are warned about)."""
    from pipnexus.configure.installers import cleared_sources

    cleared = cleared_sources(environ) if decision.chosen is not None else {}
    notes = _cleared_notes(cleared, decision, secrets)
    pip_sources = _pip_sources(settings, environ)
    if decision.chosen is None or settings.fmt == "json":
        return Applied({}, cleared, notes, pip_sources, None, [])
    env, warnings = _installer_env(settings, environ, decision)
    if decision.mirror is not None and decision.mirror.result.healthy:
        from pipnexus.configure.installers import PYTHON_MIRROR_VARIABLE

        env[PYTHON_MIRROR_VARIABLE.name] = decision.mirror.url.text
    pip_conf_path = None
    if settings.pip_conf != "none":
        pip_conf_path, pip_sources, conf_notes = _write_pip_conf(
            settings, environ, decision, env, pip_sources, secrets
        )
        notes += conf_notes
    env.update(dict.fromkeys(cleared, ""))
    return Applied(env, cleared, notes, pip_sources, pip_conf_path, warnings)


def build_report(
    settings: Settings,
    environ: Mapping[str, str],
    decision: Decision,
    applied: Applied,
    candidate_notes: Sequence[Diagnostic],
    secrets: Sequence[str],
) -> Report:
    diagnostics = list(applied.warnings)
    if settings.warnings:
        from pipnexus.configure import scan

        diagnostics = (
            scan.env_warnings(environ, applied.cleared, secrets)
            + scan.pip_conf_warnings(applied.pip_sources, secrets)
            + scan.bypass_warnings(settings.project_dir, {**environ, **applied.env})
            + diagnostics
        )
    mirror = decision.mirror
    if mirror is not None and not mirror.result.healthy:
        r = mirror.result
        diagnostics.append(
            Diagnostic(
                "note",
                f"the interpreter mirror {r.url} is unhealthy ({r.reason}: {r.detail}): "
                "UV_PYTHON_INSTALL_MIRROR is not set, uv downloads interpreters from GitHub",
                "python-mirror-unhealthy",
            )
        )
    shown_url = decision.chosen.redacted(secrets) if decision.chosen is not None else ""
    return Report(
        decision=decision,
        shown_url=shown_url,
        env=applied.env,
        shown_env={name: urls.redact(value, secrets) for name, value in applied.env.items()},
        cleared={name: urls.redact(value, secrets) for name, value in applied.cleared.items()},
        notes=[*candidate_notes, *applied.notes],
        diagnostics=diagnostics,
        verdict=_verdict(decision, shown_url),
        pip_conf_path=applied.pip_conf_path,
    )


def _cleared_notes(
    cleared: Mapping[str, str], decision: Decision, secrets: Sequence[str]
) -> list[Diagnostic]:
    where = "the Nexus proxy" if decision.source == "nexus" else "the fallback index"
    return [
        Diagnostic(
            "note",
            f"{name}={urls.redact(value, secrets)} names only public PyPI: set to empty, "
            f"so installers fetch from {where} alone",
            "public-pypi-cleared",
        )
        for name, value in cleared.items()
    ]


def _pip_sources(settings: Settings, environ: Mapping[str, str]) -> list[pipconf.PipConfSource]:
    if not settings.warnings and settings.pip_conf == "none":
        return []
    from pipnexus.configure import pipconf

    return pipconf.pip_conf_sources(environ)


def _installer_env(
    settings: Settings, environ: Mapping[str, str], decision: Decision
) -> tuple[dict[str, str], list[Diagnostic]]:
    """The installers' variables, with a CA bundle for an https Nexus with a given CA."""
    from pipnexus.configure.installers import installer_env

    assert decision.chosen is not None
    ca_bundle: str | None = None
    warnings: list[Diagnostic] = []
    if decision.https_ca and settings.ca_cert:
        from pipnexus.configure.ca import state_dir, write_ca_bundle

        try:
            ca_bundle, warnings = write_ca_bundle(settings.ca_cert, state_dir(environ))
        except OSError as e:
            raise InputError(
                f"can't write the CA bundle: {os_reason(e)}", "unwritable-file"
            ) from None
    env = installer_env(decision.chosen.text, decision.trusted_host, ca_bundle)
    return env, warnings


def _write_pip_conf(
    settings: Settings,
    environ: Mapping[str, str],
    decision: Decision,
    env: dict[str, str],
    sources: list[pipconf.PipConfSource],
    secrets: Sequence[str],
) -> tuple[str, list[pipconf.PipConfSource], list[Diagnostic]]:
    """Write the pip config (``env`` gains PIP_CONFIG_FILE for mode ``file``); return its
    path, the extra sources pip still reads, and a note for each one overridden."""
    from pipnexus.configure import pipconf
    from pipnexus.configure.ca import state_dir
    from pipnexus.configure.installers import is_public_pypi

    assert decision.chosen is not None
    public = [s for s in sources if is_public_pypi(s.value)]
    state = state_dir(environ) if settings.pip_conf == "file" and not settings.pip_conf_path else ""
    path = pipconf.target_path(settings.pip_conf, settings.pip_conf_path, environ, state)
    pipconf.write_pip_conf(
        path, settings.pip_conf, environ, decision.chosen.text, decision.trusted_host,
        decision.chosen.has_credentials, env.get("PIP_CERT"),
        [(s.section, s.key) for s in public],
    )
    if settings.pip_conf == "file":
        env["PIP_CONFIG_FILE"] = path
    # what pip reads now: the file written overrides only files pip reads before it
    remaining = pipconf.pip_conf_sources({**environ, **env})
    notes = [
        Diagnostic(
            "note",
            f"[{s.section}] {s.key} = {urls.redact(s.value, secrets)} names only public PyPI: "
            f"overridden by an empty {s.key} in {path}",
            "public-pypi-cleared",
            s.file,
            s.line,
        )
        for s in public
        if s not in remaining
    ]
    return path, remaining, notes


def _verdict(decision: Decision, shown_url: str) -> Diagnostic | None:
    if decision.source == "nexus":
        return None
    failure = decide_.describe_failure(decision)
    if decision.source == "none":
        return Diagnostic(
            "error",
            f"no healthy Nexus index ({failure}) and require-nexus is set: not falling back",
            "no-healthy-index",
        )
    return Diagnostic(
        "warning",
        f"Nexus is unhealthy ({failure}); using the fallback index {shown_url}",
        "fallback",
    )


def _render(report: Report, settings: Settings, environ: Mapping[str, str]) -> None:
    from pipnexus.configure import render

    if settings.fmt == "json":
        render.render_json(report)
    elif settings.fmt == "github":
        render.render_github(report, environ, settings.project_dir)
    else:
        render.render_plain(report, settings.fmt)

