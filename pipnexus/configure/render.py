"""The outputs of ``pipnexus configure``: json, shell, dotenv, and github (GITHUB_ENV,
GITHUB_OUTPUT, the step summary and annotations, through :mod:`pipnexus.gha`).

Everything shown to people is redacted; only the variables installers read (GITHUB_ENV, the
shell/dotenv lines) hold credentials.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence

from pipnexus import gha
from pipnexus.configure.decide import Decision
from pipnexus.configure.report import Report
from pipnexus.configure.settings import os_reason
from pipnexus.diagnostics import Diagnostic, as_json, format_command, format_info
from pipnexus.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (pipnexus/_nt.py)
if TYPE_CHECKING:
    from typing import TextIO

    from pipnexus.probe import Result

PROG = "pipnexus configure"
OUTPUTS = ("source", "index-url", "trusted-host", "reason", "latency-ms", "python-mirror")


def say(text: str, stream: TextIO | None = None) -> None:
    # one line each: a path or server text with a line break can't start a workflow command
    print(text.replace("\r", " ").replace("\n", " "), file=stream or sys.stderr)


def print_masks(values: Iterable[str], stream: TextIO) -> None:
    for value in values:
        for line in gha.add_mask(value):
            print(line, file=stream)
    stream.flush()


def decision_json(report: Report) -> dict[str, object]:
    decision = report.decision
    return {
        "source": decision.source,
        "index_url": report.shown_url,
        "trusted_host": decision.trusted_host,
        "reason": decision.reason,
        "latency_ms": decision.latency_ms,
        "candidates": [_result_json(r) for r in decision.candidates],
        "python_mirror": _mirror_json(decision),
        "diagnostics": [as_json(d) for d in report.all_diagnostics],
    }


def mirror_url(report: Report) -> str:
    """The interpreter mirror set for uv (redacted), "" when none is set."""
    return report.shown_env.get("UV_PYTHON_INSTALL_MIRROR", "")


def _result_json(r: Result) -> dict[str, object]:
    return {
        "url": r.url,
        "healthy": r.healthy,
        "reason": r.reason,
        "detail": r.detail,
        "latency_ms": r.latency_ms,
    }


def _mirror_json(decision: Decision) -> dict[str, object] | None:
    return None if decision.mirror is None else _result_json(decision.mirror.result)


def _state_line(what: str, r: Result, with_detail: bool) -> str:
    """A probed URL's state: informational when healthy, else a note with the reason."""
    if r.healthy:
        return format_info(PROG, f"{what}{r.url}: healthy ({r.latency_ms} ms)")
    detail = f": {r.detail}" if with_detail and r.detail else ""
    message = f"{what}{r.url}: unhealthy{detail} ({r.latency_ms} ms)"
    return format_command(PROG, Diagnostic("note", message, r.reason))


def _state_lines(decision: Decision, with_detail: bool) -> list[str]:
    lines = [_state_line("", r, with_detail) for r in decision.candidates]
    if decision.mirror is not None:
        lines.append(_state_line("interpreter mirror ", decision.mirror.result, with_detail))
    return lines


def _plain_notes_and_diagnostics(report: Report) -> None:
    for d in [*report.notes, *report.all_diagnostics]:
        say(format_command(PROG, d))


def render_json(report: Report) -> None:
    import json

    print(json.dumps(decision_json(report), indent=2))
    _plain_notes_and_diagnostics(report)


def render_plain(report: Report, fmt: str) -> None:
    """``shell`` (``export`` lines for ``eval``) or ``dotenv`` (``NAME=value`` lines) on
    stdout; everything else on stderr."""
    for line in _state_lines(report.decision, False):
        say(line)
    _plain_notes_and_diagnostics(report)
    import shlex

    for name, value in report.env.items():
        print(f"export {name}={shlex.quote(value)}" if fmt == "shell" else f"{name}={value}")
    if report.pip_conf_path:
        say(format_info(PROG, f"wrote pip config {report.pip_conf_path}"))


def _relative(path: str, bases: Sequence[str | None]) -> str:
    for base in bases:
        if base:
            rel = os.path.relpath(path, base)
            if not rel.startswith(".." + os.sep) and rel != "..":
                return rel
    return path


def annotation(d: Diagnostic, bases: Sequence[str | None] = ()) -> str:
    """``::warning file=...,line=...,title=pipnexus [code]::message`` (``::error`` too)."""
    file = _relative(d.path, bases) if d.path else None
    kind = "error" if d.severity == "error" else "warning" if d.severity == "warning" else "notice"
    return gha.command(kind, d.message, file=file, line=d.line, col=d.col,
                       title=f"pipnexus [{d.code}]")


def _write_runner_files(report: Report, environ: Mapping[str, str]) -> None:
    decision = report.decision
    try:
        for name, value in report.env.items():
            gha.append_env(environ["GITHUB_ENV"], name, value)
        output_path = environ.get("GITHUB_OUTPUT")
        if output_path:
            outputs = {
                "source": decision.source,
                "index-url": report.shown_url,
                "trusted-host": decision.trusted_host or "",
                "reason": decision.reason,
                "latency-ms": str(decision.latency_ms),
                "python-mirror": mirror_url(report),
            }
            for name, value in outputs.items():
                gha.append_output(output_path, name, value)
        summary_path = environ.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            from pipnexus.configure.summary import summary_markdown

            gha.append_summary(summary_path, summary_markdown(report))
    except ValueError as e:
        raise InputError(f"can't write the runner's files: {e}", "unwritable-file") from None
    except OSError as e:
        raise InputError(
            f"can't write the runner's files: {os_reason(e)}", "unwritable-file"
        ) from None


def render_github(report: Report, environ: Mapping[str, str], project_dir: str) -> None:
    _write_runner_files(report, environ)
    decision = report.decision
    lines = _state_lines(decision, True)
    if decision.source == "nexus":
        lines.append(format_info(PROG, f"using the Nexus proxy {report.shown_url}"))
    lines += [format_command(PROG, d) for d in report.notes]
    for line in lines:
        print(gha.escape_data(line))
    bases = [environ.get("GITHUB_WORKSPACE"), project_dir]
    for d in report.all_diagnostics:
        print(annotation(d, bases))
    sys.stdout.flush()
