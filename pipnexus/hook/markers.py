"""What the job-started hook leaves in ``GITHUB_ENV`` for the job's steps, and how a
``uses: pipnexus/pipnexus`` step in a hooked job reports it instead of probing again.

Standard library only (imported by ``configure`` on the action's hot path). The markers hold
no secret: the index and the mirror are written redacted.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipnexus import gha
from pipnexus.configure.settings import Settings, os_reason
from pipnexus.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (pipnexus/_nt.py)
if TYPE_CHECKING:
    from pipnexus.configure.report import Report

SOURCE = "PIPNEXUS_HOOK_SOURCE"  # nexus, fallback or none
INDEX_URL = "PIPNEXUS_HOOK_INDEX_URL"  # redacted
REASON = "PIPNEXUS_HOOK_REASON"
LATENCY_MS = "PIPNEXUS_HOOK_LATENCY_MS"
PYTHON_MIRROR = "PIPNEXUS_HOOK_PYTHON_MIRROR"  # redacted, "" when none is set
NAMES = (SOURCE, INDEX_URL, REASON, LATENCY_MS, PYTHON_MIRROR)


def marker_values(report: Report) -> dict[str, str]:
    from pipnexus.configure.render import mirror_url

    decision = report.decision
    return {
        SOURCE: decision.source,
        INDEX_URL: report.shown_url,
        REASON: decision.reason,
        LATENCY_MS: str(decision.latency_ms),
        PYTHON_MIRROR: mirror_url(report),
    }


def defers_to_hook(settings: Settings) -> bool:
    """A step defers to the hook when it names no index of its own and asks for no pip
    config file: the runner's PIPNEXUS_* are what the hook used. A step that names an index
    (index-url, nexus-url) probes and configures as usual, and its variables win."""
    return (
        settings.fmt == "github"
        and not settings.index_urls
        and not settings.nexus_url
        and settings.pip_conf == "none"
    )


def report_hooked(settings: Settings, environ: Mapping[str, str]) -> int:
    """The step's outputs, one log line and the summary from the hook's markers, and the
    warnings about the checked-out project's settings that bypass the index; no probe,
    GITHUB_ENV untouched. Exit 1 when the step requires Nexus and the hook did not use it."""
    values = {name: environ.get(name, "") for name in NAMES}
    source, shown = values[SOURCE], values[INDEX_URL]
    failed = settings.require_nexus and source != "nexus"
    outputs = {
        "source": "none" if failed else source,
        "index-url": "" if failed else shown,
        "trusted-host": environ.get("PIP_TRUSTED_HOST", "") if source != "none" else "",
        "reason": values[REASON],
        "latency-ms": values[LATENCY_MS] or "0",
        "python-mirror": values[PYTHON_MIRROR],
    }
    if source == "nexus":
        state = f"using the Nexus proxy {shown}"
    elif source == "fallback":
        state = f"Nexus was unhealthy ({values[REASON]}): using the fallback index {shown}"
    else:
        state = f"no index was configured ({values[REASON]})"
    # what the hook did: the hook's own log line and annotation have its notes and warnings
    line = f"the runner's job-started hook configured this job: {state}"
    try:
        output_path = environ.get("GITHUB_OUTPUT")
        if output_path:
            for name, value in outputs.items():
                gha.append_output(output_path, name, value)
        summary_path = environ.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            from pipnexus.configure.summary import _cell

            sentence = line[:1].upper() + line[1:]
            gha.append_summary(summary_path, f"### pipnexus\n\n{_cell(sentence)}.\n")
    except ValueError as e:
        raise InputError(f"can't write the runner's files: {e}") from None
    except OSError as e:
        raise InputError(f"can't write the runner's files: {os_reason(e)}") from None
    from pipnexus.diagnostics import format_info

    print(gha.escape_data(format_info("pipnexus configure", line)), flush=True)
    if settings.warnings:
        # the workspace is checked out by now (it was empty when the hook ran)
        from pipnexus.configure import scan
        from pipnexus.configure.render import annotation

        bases = [environ.get("GITHUB_WORKSPACE"), settings.project_dir]
        for d in scan.bypass_warnings(settings.project_dir):
            print(annotation(d, bases), flush=True)
    if failed:
        message = (
            f"the job-started hook did not use Nexus ({values[REASON]}) and require-nexus is "
            "set on this step"
        )
        print(gha.command("error", message, title="pipnexus [no-healthy-index]"), flush=True)
        return 1
    return 0

