"""The driver and text helpers: verification, prefilter, conflicts, edits, quoting, findings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipnexus.diagnostics import Diagnostic
from pipnexus.migrate import (
    DEFAULT_ACTION_REF,
    Change,
    DataOp,
    Edit,
    Options,
    driver,
    migrate_text,
)
from pipnexus.migrate.plugin import Context, Rule
from pipnexus.migrate.text import Text, yaml_scalar

SIMPLE = """\
on: push
jobs:
  test:
    runs-on: arc-runner-set
    steps:
      - uses: actions/setup-python@v5
        with:
          cache: pip
          python-version: "3.12"
      - run: pip install .
"""


def test_result_api() -> None:
    result = migrate_text(SIMPLE)
    assert result.changed and result.error is None
    assert [c.rule for c in result.changes] == ["setup-python-cache", "insert-step"]
    assert result.edits == tuple(e for c in result.changes for e in c.edits)
    assert result.changes[0].ops == (
        DataOp("delete", ("jobs", "test", "steps", 0, "with", "cache")),
    )
    # the edits, applied to the original text, give the new text
    assert driver.apply_edits(SIMPLE, list(result.edits)) == result.new_text


def test_unverifiable_change_is_refused() -> None:
    """A rule whose text edit does not match its declared data change makes the file an error."""

    def lying_rule(ctx: Context) -> Iterator[Change]:
        doc = ctx.doc
        start = doc.text.text.index("cache: pip")
        edit = Edit(start, start + len("cache: pip"), "cache: poetry")
        yield Change("liar", 8, "claims to delete", (edit,),
                     (DataOp("delete", ("jobs", "test", "steps", 0, "with", "cache")),))

    result = driver.migrate_text(SIMPLE, rules=[Rule("test", (), lying_rule, __name__)])
    assert result.error is not None
    assert result.error.message.startswith("refusing to rewrite: the result's data differs")
    assert result.new_text == SIMPLE and not result.changed


def test_unparsable_result_is_refused() -> None:
    def breaking_rule(ctx: Context) -> Iterator[Change]:
        yield Change("breaker", 1, "breaks", (Edit(0, 0, "jobs: [\n"),), ())

    result = driver.migrate_text(SIMPLE, rules=[Rule("test", (), breaking_rule, __name__)])
    assert result.error is not None
    assert "the result would not parse" in result.error.message
    assert result.new_text == SIMPLE


def test_overlapping_change_is_skipped_with_a_finding() -> None:
    def twice(ctx: Context) -> Iterator[Change]:
        doc = ctx.doc
        start = doc.text.text.index("        cache: pip\n")
        edit = doc.text.delete_lines(doc.text.line_of(start), doc.text.line_of(start))
        op = DataOp("delete", ("jobs", "test", "steps", 0, "with", "cache"))
        yield Change("one", 8, "first", (edit,), (op,))
        yield Change("two", 8, "second", (Edit(edit.start + 2, edit.end, ""),), (op,))

    result = driver.migrate_text(SIMPLE, rules=[Rule("test", (), twice, __name__)])
    assert [c.rule for c in result.changes] == ["one"]
    assert Diagnostic(
        "warning", "second: skipped (overlaps another change)", "conflict", "<string>", 8, 1
    ) in result.findings
    assert "cache: pip" not in result.new_text


def test_files_without_trigger_words_are_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(text: str) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(driver, "compose", no_parse)
    text = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: npm test\n"
    result = migrate_text(text)
    assert result == (text, (), (), None)


@pytest.mark.parametrize(
    ("text", "line", "col", "start"),
    [
        ("", 1, 1, "empty file"),
        ("\ufeff \n", 1, 1, "empty file"),
        ("pip: [\n", 2, 1, "invalid YAML"),
        ("on: push\njobs:\n\tpip: x\n", 3, 1, "invalid YAML"),
        ("\ufeffon: push\njobs:\n  a: [pip\n", 4, 1, "invalid YAML"),
        ("pip: x\n", 1, 1, "not a GitHub Actions workflow or action"),
        ("pip\n", 1, 1, "not a GitHub Actions workflow or action"),
        ("pip: \0\n", 1, 1, "binary file"),
    ],
)
def test_errors(text: str, line: int, col: int, start: str) -> None:
    result = migrate_text(text)
    assert result.error is not None
    assert (result.error.line, result.error.col) == (line, col)
    assert result.error.message.startswith(start)
    assert result.new_text == text and result.changes == ()


def test_cache_hit_reference_warning_explains() -> None:
    """A removed cache step read outside the steps (a job output): removed, with the warning.
    (Read by another step, it is kept and gated: test_rules.)"""
    text = """\
on: push
jobs:
  t:
    runs-on: x
    outputs:
      hit: ${{ steps.pip-cache.outputs.cache-hit != 'true' }}
    steps:
      - uses: actions/setup-python@v5
      - id: pip-cache
        uses: actions/cache@v4
        with: {path: ~/.cache/pip, key: k}
      - run: pip install .
"""
    result = migrate_text(text)
    hits = [f for f in result.findings if f.code == "cache-hit-reference"]
    assert len(hits) == 1
    assert (hits[0].line, hits[0].col) == (6, 16)
    assert "`!= 'true'` is now always true" in hits[0].message
    assert "uses: actions/cache" not in result.new_text


def test_only_step_is_not_removed() -> None:
    text = (
        "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n"
        "      - uses: actions/cache@v4\n        with: {path: ~/.cache/pip, key: k}\n"
    )
    result = migrate_text(text)
    assert result.new_text == text
    assert [f.code for f in result.findings] == ["unsupported-shape"]


def test_key_on_the_dash_line() -> None:
    text = (
        "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n"
        "      - with:\n          cache: pip\n        uses: actions/setup-python@v5\n"
        "      - run: pip install .\n"
    )
    result = migrate_text(text)
    assert result.error is None
    assert "      - uses: actions/setup-python@v5\n      - name: Use the" in result.new_text


# ---------------------------------------------------------------- text helpers


def test_text_lines_and_newlines() -> None:
    t = Text("a\r\nb\r\nc")
    assert t.newline == "\r\n" and not t.ends_with_newline and t.nlines == 3
    assert t.content(1) == "b" and t.position(4) == (2, 2)
    # deleting the last line of a file without final newline keeps it without one
    e = t.delete_lines(2, 2)
    assert t.keep_final_newline(driver.apply_edits(t.text, [e])) == "a\r\nb"
    e = t.insert_lines(3, ["d"])
    assert driver.apply_edits(t.text, [e]) == "a\r\nb\r\nc\r\nd"
    t2 = Text("a\nb\n")
    assert t2.nlines == 2
    assert driver.apply_edits(t2.text, [t2.insert_lines(2, ["c"])]) == "a\nb\nc\n"
    assert driver.apply_edits(t2.text, [t2.delete_lines(0, 0)]) == "b\n"
    assert t2.keep_final_newline("b") == "b"


def test_insert_next_to_a_removed_last_step_without_final_newline() -> None:
    text = (
        "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n"
        "      - uses: actions/setup-python@v5\n      - uses: actions/cache@v4\n"
        "        with:\n          path: ~/.cache/pip"
    )
    result = migrate_text(text)
    assert result.error is None and result.findings == ()
    assert result.new_text == (
        "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n"
        "      - uses: actions/setup-python@v5\n      - name: Use the in-cluster PyPI proxy\n"
        "        id: pipnexus\n        uses: pipnexus/pipnexus@v1"
    ).replace("pipnexus/pipnexus@v1", DEFAULT_ACTION_REF)


def test_insertions_at_one_point_keep_their_order() -> None:
    assert driver.apply_edits("ab", [Edit(1, 1, "x"), Edit(1, 1, "y"), Edit(0, 1, "")]) == "xyb"


@pytest.mark.parametrize(
    ("value", "flow", "expected"),
    [
        ("steps.pipnexus.outputs.source != 'nexus'", False,
         "steps.pipnexus.outputs.source != 'nexus'"),
        ("${{ a }}", False, "${{ a }}"),
        ("${{ a }}", True, '"${{ a }}"'),
        ("a: b", False, '"a: b"'),
        ("true", False, '"true"'),
        ("x # y", False, '"x # y"'),
        ("*alias", False, '"*alias"'),
        ('say "hi" \\', False, 'say "hi" \\'),
        ('-say "hi" \\', False, '"-say \\"hi\\" \\\\"'),
    ],
)
def test_yaml_scalar(value: str, flow: bool, expected: str) -> None:
    assert yaml_scalar(value, flow) == expected


def test_apply_ops() -> None:
    shared = {"k": 1, "j": 2}
    data = {"a": [10, 11, 12], "b": shared, "c": shared}
    driver.apply_ops(data, [
        DataOp("delete", ("a", 1)),
        DataOp("insert", ("a", 1), "new"),
        DataOp("insert", ("a", 3), "end"),
        DataOp("set", ("a", 0), 0),
        DataOp("delete", ("b", "k")),
    ])
    assert data == {"a": [0, "new", 12, "end"], "b": {"j": 2}, "c": {"j": 2}}


def test_fast_check_accepts_without_the_ruamel_reparse(monkeypatch: pytest.MonkeyPatch) -> None:
    if driver._fast_load() is None:
        pytest.skip("PyYAML's C loader is not installed: only the ruamel check runs")

    def no_ruamel(*args: object) -> None:
        raise AssertionError("the ruamel re-parse ran although PyYAML agreed")

    monkeypatch.setattr(driver, "verify", no_ruamel)
    assert migrate_text(SIMPLE).changed


def test_pure_ruamel_check_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = migrate_text(SIMPLE)
    monkeypatch.setenv("PIPNEXUS_MIGRATE_PURE", "1")
    assert driver._fast_load() is None
    assert migrate_text(SIMPLE) == fast


def test_non_ascii_text_before_the_edits() -> None:
    """Offsets are characters, not bytes: multi-byte and astral characters do not shift edits."""
    text = SIMPLE.replace("on: push\n", "name: \"🐍 tests — ünïcode\"\non: push\n").replace(
        "      - run: pip install .\n", "      - run: echo \"ü 🐍\" && pip install .\n"
    )
    result = migrate_text(text)
    assert result.error is None
    assert result.new_text == (
        'name: "🐍 tests — ünïcode"\non: push\njobs:\n  test:\n    runs-on: arc-runner-set\n'
        "    steps:\n      - uses: actions/setup-python@v5\n        with:\n"
        '          python-version: "3.12"\n      - name: Use the in-cluster PyPI proxy\n'
        "        id: pipnexus\n        uses: pipnexus/pipnexus@v1\n"
        '      - run: echo "ü 🐍" && pip install .\n'
    ).replace("pipnexus/pipnexus@v1", DEFAULT_ACTION_REF)


def test_comment_between_dash_and_step_is_left_alone() -> None:
    text = (
        "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n"
        "      - uses: actions/setup-python@v5\n"
        "      - # restore\n        uses: actions/cache@v4\n        with: {path: ~/.cache/pip}\n"
        "      - run: pip install .\n"
    )
    result = migrate_text(text)
    assert result.error is None
    assert "uses: actions/cache@v4" in result.new_text
    assert "unsupported-shape" in [f.code for f in result.findings]


def test_composite_outputs_reading_a_removed_cache_are_reported() -> None:
    text = """\
name: setup
description: d
outputs:
  cache-hit:
    description: whether the cache was restored
    value: ${{ steps.pip-cache.outputs.cache-hit }}
runs:
  using: composite
  steps:
    - uses: actions/setup-python@v5
    - id: pip-cache
      uses: actions/cache@v4
      with:
        path: ~/.cache/pip
        key: k
"""
    result = migrate_text(text, options=Options(all_jobs=True))  # the remove strategy
    assert result.error is None
    assert [(f.line, f.col, f.code) for f in result.findings] == [(6, 16, "cache-hit-reference")]


def test_a_hosted_job_with_nothing_to_migrate_gets_no_note() -> None:
    """The note says what --all-jobs would change: a job without Python gets none."""
    text = ("on: push\njobs:\n  docs:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: make html\n  py:\n    runs-on: windows-latest\n    steps:\n"
            "      - run: pip install .\n")
    result = migrate_text(text)
    assert result.new_text == text
    assert [(f.line, f.code, f.severity) for f in result.findings] == [
        (8, "hosted-job-skipped", "note")]
    assert migrate_text(text, options=Options(all_jobs=True)).changed
