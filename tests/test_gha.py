"""The runner protocol: escaping and file commands that can't be injected into."""

from __future__ import annotations

import pytest

from pipnexus import gha
from tests.hardening_helpers import runner_parse

HOSTILE_VALUES = [
    "plain",
    "",
    "a=b",
    "x\nLD_PRELOAD=/tmp/evil.so",
    "x\r\nPATH=/tmp",
    "x\rPATH=/tmp",
    "EOF\nINJECTED=1\nEOF",
    "ghadelimiter_\nINJECTED<<X\nX",
    "trailing newline\n",
    "\n",
    "NAME<<EOF",
    "%0A%25::",
    "ünïcödé ☃",
    "a" * 100_000,
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_env_file_round_trips_exactly_one_variable(tmp_path, value):
    path = tmp_path / "env"
    path.write_text("BEFORE=1\n")
    gha.append_env(str(path), "PIP_INDEX_URL", value)
    gha.append_env(str(path), "AFTER", "2")
    pairs = runner_parse(path.read_bytes().decode("utf-8"))
    assert pairs == [("BEFORE", "1"), ("PIP_INDEX_URL", value), ("AFTER", "2")]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_output_file_round_trips(tmp_path, value):
    path = tmp_path / "out"
    gha.append_output(str(path), "index-url", value)
    assert runner_parse(path.read_bytes().decode("utf-8")) == [("index-url", value)]


@pytest.mark.parametrize("name", ["", "1A", "A=B", "A<<B", "A\nB", "A B", "index-url"])
def test_env_rejects_bad_names(tmp_path, name):
    with pytest.raises(ValueError):
        gha.append_env(str(tmp_path / "env"), name, "v")
    assert not (tmp_path / "env").exists()


NAMES = ["", "_", "A", "a_1", "1A", "A=B", "A<<B", "A\nB", "A\n", "A B", "index-url", "-a",
         "a-", "a--b", "\u00e9t\u00e9", "K\u212a", "_-_"]


@pytest.mark.parametrize("dashes", [False, True], ids=["env", "output"])
def test_names_are_the_runner_patterns(tmp_path, dashes):
    """Names are checked without a regex (start-up); they take exactly what these patterns
    take: [A-Za-z_][A-Za-z0-9_]* for variables, dashes too after the first for outputs."""
    import re

    pattern = r"[A-Za-z_][A-Za-z0-9_-]*\Z" if dashes else r"[A-Za-z_][A-Za-z0-9_]*\Z"
    append = gha.append_output if dashes else gha.append_env
    for name in NAMES:
        path = tmp_path / "file"
        try:
            append(str(path), name, "v")
        except ValueError:
            taken = False
        else:
            taken = True
            path.unlink()
        assert taken == bool(re.match(pattern, name)), name


def test_rejects_nul_and_unencodable(tmp_path):
    for value in ("a\0b", "\udcff"):
        with pytest.raises(ValueError):
            gha.append_env(str(tmp_path / "env"), "X", value)
    assert not (tmp_path / "env").exists()


def test_multiline_value_uses_heredoc_with_absent_delimiter():
    text = gha.format_file_command("X", "a\nb")
    first, *_ = text.split("\n")
    name, delimiter = first.split("<<")
    assert name == "X" and delimiter.startswith("ghadelimiter_")
    assert text == f"X<<{delimiter}\na\nb\n{delimiter}\n"


def test_parser_follows_runner_rules():
    # '=' before '<<' means a plain value even if '<<' follows
    assert runner_parse("A=x<<y\n") == [("A", "x<<y")]
    assert runner_parse("A<<E\n=x\nE\n") == [("A", "=x")]
    assert runner_parse("\n\nA=1") == [("A", "1")]
    assert runner_parse("A<<E\nE\n") == [("A", "")]
    with pytest.raises(ValueError):
        runner_parse("A<<E\nno end\n")
    with pytest.raises(ValueError):
        runner_parse("garbage\n")
    with pytest.raises(ValueError):
        runner_parse("<<E\nE\n")


def test_escaping_matches_toolkit():
    assert gha.escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert gha.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_command_line():
    line = gha.command("warning", "bad\n::error::x", file="req:1.txt", line=3, title=None)
    assert line == "::warning file=req%3A1.txt,line=3::bad%0A::error::x"
    assert "\n" not in line
    assert gha.command("endgroup") == "::endgroup::"


def test_add_mask():
    assert gha.add_mask("") == []
    assert gha.add_mask("  ") == []
    assert gha.add_mask("s3cr%t") == ["::add-mask::s3cr%25t"]
    # a multi-line value is masked whole and line by line
    assert gha.add_mask("ab\ncd") == ["::add-mask::ab%0Acd", "::add-mask::ab", "::add-mask::cd"]


def test_summary_appends(tmp_path):
    path = tmp_path / "summary"
    gha.append_summary(str(path), "# one")
    gha.append_summary(str(path), "two\n")
    assert path.read_text() == "# one\ntwo\n"
