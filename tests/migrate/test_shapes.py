"""A matrix of layouts (indentation, dash offsets, blank lines, comments, line endings, BOM,
final newline) run through migrate: oracle, idempotence and byte preservation for each."""

from __future__ import annotations

import difflib
import itertools

import pytest

from pipnexus.migrate import DEFAULT_ACTION_REF, Options, migrate_text
from pipnexus.migrate.model import STEP_ID, STEP_NAME
from tests.migrate import oracle
from tests.migrate.helpers import pyyaml_load

STEPS = [
    ["uses: actions/checkout@v4"],
    ["name: Set up Python", "uses: actions/setup-python@v5", "with:",
     "  python-version: '3.12'", "  cache: pip  # fast", "  cache-dependency-path: req.txt"],
    ["# restore the pip cache"],
    ["id: pip-cache", "uses: actions/cache@v4", "with:", "  path: |",
     "    ~/.cache/pip", "    ~/.cache/uv", "  key: k"],
    ["uses: actions/cache/restore@v4", "with:", "  path: |", "    ~/.cache/pip", "    .tox",
     "  key: k2"],
    ["uses: astral-sh/setup-uv@v6", "with:", "  enable-cache: true"],
    ["if: github.event_name == 'push'", "run: |",
     "  python -m pip install -r req.txt", "  pytest"],
]


def build(job_indent: int, dash: int, gap: int, blank: bool, comment: bool) -> str:
    """One workflow with the steps laid out as asked (comment = keep the comment item)."""
    pad = " " * job_indent
    lines = ["name: shapes", "on: [push]", "jobs:", f"{pad}test:",
             f"{pad}{pad}runs-on: arc-runner-set", f"{pad}{pad}steps:"]
    base = " " * (2 * job_indent + dash)
    for step in STEPS:
        if step[0].startswith("#"):
            if comment:
                lines.append(base + step[0])
            continue
        lines.append(base + "-" + " " * gap + step[0])
        lines.extend(base + " " * (1 + gap) + x for x in step[1:])
        if blank:
            lines.append("")
    return "\n".join(lines) + "\n"


LAYOUTS = list(itertools.product([2, 4], [0, 2], [1, 3], [False, True], [False, True]))
ENDINGS = [("lf", "\n", False, True), ("crlf", "\r\n", False, True),
           ("bom-crlf-nofinal", "\r\n", True, False), ("nofinal", "\n", False, False)]


def variants() -> list[tuple[str, str]]:
    out = []
    for (ji, dash, gap, blank, comment), (name, nl, bom, final) in itertools.product(
        LAYOUTS, ENDINGS
    ):
        text = build(ji, dash, gap, blank, comment)
        if not final:
            text = text.rstrip("\n")
        text = text.replace("\n", nl)
        if bom:
            text = "\ufeff" + text
        out.append((f"j{ji}-d{dash}-g{gap}-b{int(blank)}-c{int(comment)}-{name}", text))
    return out


VARIANTS = variants()


def _lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").splitlines(keepends=True)


STRATEGIES = ("remove", "conditional", "hook")
# the quick loop (`-m "not slow"`) runs each layout once, the strategies taking turns; the full
# suite runs every layout under every strategy
CASES = [
    pytest.param(name, text, strategy, id=f"{name}-{strategy}",
                 marks=() if n == i % len(STRATEGIES) else pytest.mark.slow)
    for i, (name, text) in enumerate(VARIANTS)
    for n, strategy in enumerate(STRATEGIES)
]


@pytest.mark.parametrize(("name", "text", "strategy"), CASES)
def test_shape(name: str, text: str, strategy: str) -> None:
    options = Options(strategy=strategy)
    result = migrate_text(text, name, options)
    assert result.error is None
    new = result.new_text
    # oracle and idempotence
    want = oracle.expected(pyyaml_load(text), text, set(options.caches), strategy)
    assert pyyaml_load(new) == want
    again = migrate_text(new, name, options)
    assert again.changes == () and again.new_text == new
    # BOM, final newline and line endings are the file's own
    assert new.startswith("\ufeff") == text.startswith("\ufeff")
    assert new.endswith("\n") == text.endswith("\n")
    if "\r\n" in text:
        assert "\n" not in new.replace("\r\n", "")
    else:
        assert "\r" not in new
    # byte preservation: original lines are only deleted, never altered (except the values the
    # conditional strategy rewrites); new lines are only the pipnexus step and a blank line
    inserted_ok = {"", f"name: {STEP_NAME}", f"id: {STEP_ID}", f"uses: {DEFAULT_ACTION_REF}",
                   "if: steps.pipnexus.outputs.source != 'nexus'",
                   "if: env.PIPNEXUS_HOOK_SOURCE != 'nexus'"}
    old_lines, new_lines = _lines(text), _lines(new)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            for line in new_lines[j1:j2]:
                content = line.strip().removeprefix("- ").strip()
                if strategy == "conditional" and "steps.pipnexus.outputs.source" in content:
                    continue
                assert content in inserted_ok, line
    # the comment describing the removed cache step goes with it; nothing else is lost
    if strategy in ("remove", "hook"):
        assert "# restore the pip cache" not in new
        assert "# fast" not in new
        assert ".tox" in new and "~/.cache/pip" not in new
    else:
        assert ("# restore the pip cache" in new) == ("# restore the pip cache" in text)
        assert "# fast" in new
