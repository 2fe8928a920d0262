"""The step summary (pipnexus/configure/summary.py): server text stays inert.
"""

from __future__ import annotations

from pipnexus.configure import decide, summary
from pipnexus.configure.report import Report
from tests.configure.helpers import FALLBACK


def test_summary_keeps_server_text_inert():
    from pipnexus.probe import Result

    hostile = "x | y\n[click](http://evil.example) <img src=x> *bold*"
    from pipnexus.urls import parse_url

    decision = decide.Decision(
        "fallback", parse_url(FALLBACK), "bad-response", 5,
        [Result("http://h/simple/", False, "bad-response", hostile, 5)], False,
    )
    report = Report(decision, FALLBACK, {}, {"PIP_INDEX_URL": FALLBACK}, {}, [], [],
                    None, None)
    text = summary.summary_markdown(report)
    row = next(line for line in text.splitlines() if line.startswith("| `http://h"))
    assert row.count(" | ") == 4  # still five cells
    assert "[click]" not in row and "<img" not in row and "*bold*" not in row
    assert "\\[click\\]" in row and "&lt;img" in row
