"""``pipnexus hook``: what the action does, run by the runner itself at the start of every job.

A self-hosted runner runs the script named by ``ACTIONS_RUNNER_HOOK_JOB_STARTED`` as its own
step after "Set up job", then reads the file commands it wrote, as for any step (actions/runner:
src/Runner.Worker/JobHookProvider.cs). The shell hook (:data:`delivery.SCRIPT`) runs this
command from a zipapp with the runner's ``python3 -I -S``: the probe under its deadline, the
decision and every installer variable go to ``GITHUB_ENV`` through ``configure`` itself, with
the masks first and one line in the hook's log. It never fails the job unless
``PIPNEXUS_REQUIRE_NEXUS`` is true.

Settings come from the runner's environment only: the hook sees the runner process's
variables and the GITHUB_*/RUNNER_* ones, not the job's ``env:`` (JobHookProvider passes an
empty environment; actions/runner#1751). Standard library only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from pipnexus import gha, urls
from pipnexus.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (pipnexus/_nt.py)
if TYPE_CHECKING:
    from pipnexus.configure.report import Report
    from pipnexus.configure.settings import Settings

# the runner variables the hook reads besides those configure reads itself
# (PIPNEXUS_INDEX_URL, _NEXUS_URL, _REPOSITORY, _USERNAME, _PASSWORD, _PYTHON_MIRROR)
ENV_OPTIONS = (
    ("PIPNEXUS_FALLBACK_INDEX_URL", "--fallback-index-url"),
    ("PIPNEXUS_CA_CERT", "--ca-cert"),
    ("PIPNEXUS_TIMEOUT", "--timeout"),
    ("PIPNEXUS_CANARY", "--canary"),
    ("PIPNEXUS_REQUIRE_NEXUS", "--require-nexus"),
    ("PIPNEXUS_PIP_CONF", "--pip-conf"),
)
PROG = "pipnexus hook"
SWITCH = "PIPNEXUS_HOOK"  # off: the hook does nothing on this runner
SKIP = "PIPNEXUS_HOOK_SKIP"  # blank-separated OWNER/REPO[:JOB] patterns the hook leaves alone


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "Without options: configure this job from the runner's PIPNEXUS_* variables (what the\n"
        "shell hook runs). Exit 0 even when nothing could be configured, unless\n"
        "PIPNEXUS_REQUIRE_NEXUS=true (then 1 without a healthy Nexus, 2 for bad settings).\n"
        f"{SWITCH}=off turns it off on a runner; {SKIP}='owner/repo owner/other:job' for some\n"
        "repositories or jobs."
    )
    add = parser.add_argument
    add("--print-script", action="store_true",
        help="print the shell hook ACTIONS_RUNNER_HOOK_JOB_STARTED names, and exit")
    add("--configmap", metavar="NAME",
        help="print a Kubernetes ConfigMap (JSON, for kubectl apply -f -) holding the shell "
        "hook and the zipapp, and exit")
    add("--namespace", metavar="NS", help="the ConfigMap's namespace")
    add("--zipapp", metavar="FILE",
        help="the zipapp to put in the ConfigMap (the release asset pipnexus-hook.pyz); "
        "default: built from this installation's sources")
    add("--build-zipapp", metavar="FILE",
        help="write the zipapp (the action's modules) to FILE, and exit")
    add("--bytecode", action="store_true",
        help="with --build-zipapp: add this interpreter's checked-hash bytecode")


def run(args: argparse.Namespace) -> int:
    if args.print_script or args.configmap or args.build_zipapp:
        from pipnexus.hook import delivery

        return delivery.run(args)
    if args.namespace or args.zipapp or args.bytecode:
        raise InputError("--namespace and --zipapp go with --configmap, --bytecode with "
                         "--build-zipapp")
    return run_hook(os.environ)


def _required(environ: Mapping[str, str]) -> bool:
    from pipnexus.configure.settings import TRUE

    return environ.get("PIPNEXUS_REQUIRE_NEXUS", "").strip().lower() in TRUE


def _secrets(environ: Mapping[str, str]) -> list[str]:
    raw = " ".join(environ.get(name, "") for name in (
        "PIPNEXUS_INDEX_URL", "PIPNEXUS_NEXUS_URL", "PIPNEXUS_FALLBACK_INDEX_URL",
        "PIPNEXUS_PYTHON_MIRROR"))
    secrets = [*urls.url_secrets(raw), environ.get("PIPNEXUS_PASSWORD", "")]
    forms = urls.secret_forms([s for s in secrets if s], environ.get("PIPNEXUS_USERNAME"))
    return sorted(forms, key=len, reverse=True)


def skipped(environ: Mapping[str, str]) -> str | None:
    """Why the hook leaves this job alone, or None."""
    from pipnexus.configure.settings import FALSE

    switch = environ.get(SWITCH, "").strip().lower()
    if switch and switch in FALSE:  # unset or empty: on
        return f"{SWITCH}={environ[SWITCH].strip()} on this runner"
    patterns = environ.get(SKIP, "").split()
    if not patterns:
        return None
    from fnmatch import fnmatchcase

    job = f"{environ.get('GITHUB_REPOSITORY', '')}:{environ.get('GITHUB_JOB', '')}"
    for pattern in patterns:
        if fnmatchcase(job, pattern if ":" in pattern else pattern + ":*"):
            return f"{job} matches {pattern!r} in {SKIP}"
    return None


def run_hook(environ: Mapping[str, str]) -> int:
    """Configure this job (GITHUB_ENV) from the runner's variables; never a traceback, and a
    non-zero exit only with PIPNEXUS_REQUIRE_NEXUS."""
    why = skipped(environ)
    if why:
        from pipnexus.diagnostics import Diagnostic, format_command

        off = Diagnostic("note", f"the job-started hook is off for this job ({why})", "hook-off")
        print(gha.escape_data(format_command(PROG, off)))
        return 0
    required = _required(environ)
    try:
        if not environ.get("GITHUB_ENV"):
            raise InputError("GITHUB_ENV is not set: run it as the runner's job-started hook")
        from pipnexus.configure import configure

        return configure(hook_settings(environ), environ, render_hook)
    except InputError as e:
        problem = str(e)
    except Exception as e:  # the job must not fail for our bug; PIPNEXUS_DEBUG=1 re-raises
        if environ.get("PIPNEXUS_DEBUG"):
            raise
        problem = f"internal error: {type(e).__name__}: {e}"
    # configure masks the secrets first thing; this line may come before: it is redacted
    text = " ".join(urls.redact(problem, _secrets(environ)).split())
    if required:
        message = f"{text} (PIPNEXUS_REQUIRE_NEXUS is set: the job fails)"
    else:
        message = f"{text}: this job's installers keep their defaults"
    kind = "error" if required else "warning"
    print(gha.command(kind, message, title="pipnexus hook [hook-error]"), flush=True)
    return 2 if required else 0


def hook_settings(environ: Mapping[str, str]) -> Settings:
    """configure's Settings from the runner's variables, through configure's own parser."""
    from pipnexus.configure.settings import add_arguments as configure_arguments
    from pipnexus.configure.settings import settings_from_args
    from pipnexus.options import Parser

    parser = Parser(prog="pipnexus hook")
    configure_arguments(parser)
    argv = ["--format=github", "--no-warnings"]
    argv += [f"{option}={environ[name]}" for name, option in ENV_OPTIONS
             if environ.get(name, "").strip()]
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # argparse: the values are ours, a usage error is not expected
        raise InputError("the runner's PIPNEXUS_* variables could not be read") from None
    return settings_from_args(args, environ)


def render_hook(report: Report, settings: Settings, environ: Mapping[str, str]) -> None:
    """GITHUB_ENV (the installers' variables and the markers a pipnexus step reads), then
    one line for the hook's log."""
    from pipnexus.configure.decide import NOT_CONFIGURED
    from pipnexus.configure.render import annotation
    from pipnexus.configure.settings import os_reason
    from pipnexus.diagnostics import Diagnostic, format_command, format_info
    from pipnexus.hook import markers

    decision = report.decision
    values = dict(report.env)
    if decision.reason != NOT_CONFIGURED:
        values.update(markers.marker_values(report))
    try:
        for name, value in values.items():
            gha.append_env(environ["GITHUB_ENV"], name, value)
    except ValueError as e:
        raise InputError(f"can't write GITHUB_ENV: {e}", "unwritable-file") from None
    except OSError as e:
        raise InputError(f"can't write GITHUB_ENV: {os_reason(e)}", "unwritable-file") from None
    if decision.source == "nexus":
        line = f"using the Nexus proxy {report.shown_url} ({decision.latency_ms} ms)"
        mirror = decision.mirror
        if mirror is not None:
            state = "healthy" if mirror.result.healthy else f"unhealthy: {mirror.result.reason}"
            line += f"; interpreter mirror {mirror.result.url}: {state}"
        # one informational line: the interpreter mirror is optional
        print(gha.escape_data(format_info(PROG, line)))
    elif decision.reason == NOT_CONFIGURED:
        text = ("no PIPNEXUS_INDEX_URL or PIPNEXUS_NEXUS_URL on this runner: nothing is "
                "configured")
        if settings.require_nexus:
            print(gha.command("error", f"{text} and PIPNEXUS_REQUIRE_NEXUS is set",
                              title="pipnexus hook [not-configured]"))
        else:
            note = Diagnostic("note", text, NOT_CONFIGURED)
            print(gha.escape_data(format_command(PROG, note)))
    elif report.verdict is not None:
        print(annotation(report.verdict))
    sys.stdout.flush()
