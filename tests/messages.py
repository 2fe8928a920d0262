"""The one form of every message a command prints (CONTRIBUTING.md, "Messages"), as a checker
the tests run over every line of stderr (and of the Actions log).

- a line with a severity: ``pipnexus COMMAND: severity: message [code]``, or
  ``path:line:col: severity: message [code]`` when it is placed in a file; the code is a key of
  ``diagnostics.CODES`` or a probe reason (``probe.classify.REASONS``);
- an informational line (nothing to act on): ``pipnexus COMMAND: message``, no severity, no
  code;
- in the Actions log, the runner's own protocol (``::add-mask::``, ``::warning …::``) as is.
"""

from __future__ import annotations

import re

from pipnexus.diagnostics import CODES, SEVERITIES
from pipnexus.probe.classify import REASONS

_SEVERITY = "|".join(SEVERITIES)
_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
LINE = re.compile(
    r"(?P<where>pipnexus(?: [a-z]+)*|[^\s:][^:]*?(?::\d+(?::\d+)?)?): "
    rf"(?P<severity>{_SEVERITY}): (?P<message>\S.*) "
    rf"\[(?P<code>{_SLUG})\]"
)
INFO = re.compile(rf"(?P<where>pipnexus(?: [a-z]+)+): (?!(?:{_SEVERITY}): )(?P<message>\S.*)")
# an informational line must not look like a finding that lost its severity
_TRAILING_CODE = re.compile(rf" \[{_SLUG}\]$")
# the runner's workflow commands (actions/toolkit: docs/commands.md)
PROTOCOL = re.compile(r"::(?:add-mask|error|warning|notice|debug|group|endgroup)(?: [^:]*)?::.*")


def problem(line: str, log: bool = False) -> str | None:
    """Why ``line`` has none of the forms (None when it has one); ``log``: a line of the
    Actions log, where the runner's protocol lines are allowed too."""
    if log and PROTOCOL.fullmatch(line):
        return None
    m = LINE.fullmatch(line)
    if m:
        code = m["code"]
        return None if code in CODES or code in REASONS else f"unknown code [{code}]"
    m = INFO.fullmatch(line)
    if m:
        if _TRAILING_CODE.search(m["message"]):
            return "a code without a severity"
        return None
    return "neither `WHERE: severity: message [code]` nor `pipnexus COMMAND: message`"


def problems(text: str, log: bool = False) -> list[str]:
    """``line: why`` for each line of ``text`` that has none of the forms."""
    return [f"{line!r}: {why}" for line in text.splitlines()
            if (why := problem(line, log)) is not None]
