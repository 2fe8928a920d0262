"""The Markdown step summary of ``pipnexus configure``. Text from servers and inputs is made
inert: no links, HTML or table breaks."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (pipnexus/_nt.py)

if TYPE_CHECKING:
    from pipnexus.configure.report import Report
    from pipnexus.diagnostics import Diagnostic

_MARKDOWN_ESCAPES = {
    "\\": "\\\\", "|": "\\|", "[": "\\[", "]": "\\]", "*": "\\*", "_": "\\_",
    "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " ",
}


def _cell(text: object) -> str:
    return "".join(_MARKDOWN_ESCAPES.get(c, c) for c in str(text))


def _code(text: object) -> str:
    # inside a code span only '|' (the table) and '`' matter
    plain = str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ").replace("\r", " ")
    return f"`{plain}`" if plain else ""


def summary_markdown(report: Report) -> str:
    decision = report.decision
    lines = ["### pipnexus", ""]
    if decision.source == "nexus":
        lines.append(f"Using the Nexus proxy {_code(report.shown_url)}.")
    elif decision.source == "fallback":
        lines.append(
            f"**No healthy Nexus** ({_cell(decision.reason)}): using the fallback index "
            f"{_code(report.shown_url)}."
        )
    elif decision.reason == "not-configured":
        lines.append("Not configured: no package index is given, nothing was changed.")
        return "\n".join(lines) + "\n"
    else:
        lines.append(f"**No healthy Nexus** ({_cell(decision.reason)}) and require-nexus is set.")
    lines += ["", "| Candidate | Result | Reason | Latency | Detail |", "|---|---|---|---|---|"]
    for r in decision.candidates:
        result = "healthy" if r.healthy else "unhealthy"
        lines.append(
            f"| {_code(r.url)} | {result} | {_cell(r.reason)} | {r.latency_ms} ms "
            f"| {_cell(r.detail)} |"
        )
    mirror = decision.mirror
    if mirror is not None:
        r = mirror.result
        lines.append("")
        if r.healthy:
            lines.append(f"Interpreter mirror {_code(r.url)}: healthy ({r.latency_ms} ms).")
        else:
            lines.append(
                f"Interpreter mirror {_code(r.url)}: **unhealthy** ({_cell(r.reason)}: "
                f"{_cell(r.detail)}); `UV_PYTHON_INSTALL_MIRROR` is not set."
            )
    if report.shown_env:
        lines += ["", "| Variable | Value |", "|---|---|"]
        for name, value in report.shown_env.items():
            if name in report.cleared:
                cell = f"empty (cleared: was {_code(report.cleared[name])}, only public PyPI)"
            else:
                cell = _code(value)
            lines.append(f"| `{name}` | {cell} |")
    if report.notes:
        lines += ["", "Notes:", ""]
        lines += [_item(d) for d in report.notes]
    if report.diagnostics:
        lines += ["", "Warnings:", ""]
        lines += [_item(d) for d in report.diagnostics]
    return "\n".join(lines) + "\n"


def _item(d: Diagnostic) -> str:
    where = f"{_code(d.location())} " if d.path else ""
    return f"- {where}{_cell(d.message)} \\[{_cell(d.code)}\\]"
