"""Shared helpers for the migrate tests: fixture loading, the PyYAML oracle, schema checks.

Run `python -m tests.migrate.helpers regen` to rewrite the golden after.yml/findings.txt files
from the current implementation (then review the diff by hand before committing).
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from pipnexus.migrate import DEFAULT_ACTION_REF, Options, migrate_text
from pipnexus.migrate.model import STEP_ID, STEP_NAME
from testbed.thirdparty import corpus_dir

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
CORPUS = corpus_dir()
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


class Fixture(NamedTuple):
    name: str
    before: bytes
    after: bytes | None
    options: Options
    findings: list[str] | None


# The golden files spell the inserted step's ref like this; tests substitute the current default
# so that changing DEFAULT_ACTION_REF does not mean regenerating every fixture.
GOLDEN_REF = "pipnexus/pipnexus@v1"


def read_bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def with_default_ref(after: bytes, before: bytes) -> bytes:
    """`after` with the golden ref replaced by the default in the lines migrate wrote (a step
    that was already in `before` keeps its ref)."""
    kept = set(before.splitlines())
    return b"".join(
        line if line.rstrip(b"\r\n") in kept
        else line.replace(GOLDEN_REF.encode(), DEFAULT_ACTION_REF.encode())
        for line in after.splitlines(keepends=True)
    )


# options.json keys a fixture may set, and how each JSON value becomes the Options field
# (JSON has no sets or tuples; runner labels compare lower-cased)
_FIXTURE_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "caches": frozenset,
    **dict.fromkeys(("strategy", "uv_lock", "action_ref", "action_comment", "repin", "all_jobs"),
                    lambda value: value),
    "runners": lambda labels: frozenset(x.lower() for x in labels),
    "step_inputs": lambda pairs: tuple((k, v) for k, v in pairs),
}


def fixture_options(raw: dict[str, Any]) -> Options:
    return Options()._replace(
        **{key: convert(raw[key]) for key, convert in _FIXTURE_OPTIONS.items() if key in raw}
    )


def oracle_options(options: Options) -> dict[str, Any]:
    """The keyword arguments of `oracle.expected` for these options."""
    return {
        "action_ref": options.action_ref, "repin": options.repin, "all_jobs": options.all_jobs,
        "runners": None if options.runners is None else set(options.runners),
        "step_inputs": dict(options.step_inputs),
    }


def inserted_lines(options: Options) -> set[str]:
    """The lines (stripped, without `- `) an inserted step may add."""
    lines = {"", f"name: {STEP_NAME}", f"id: {STEP_ID}", f"uses: {options.uses}"}
    if options.step_inputs:
        lines.add("with:")
        lines |= {f"{k}: {v}" for k, v in options.step_inputs}
    return lines


def fixtures() -> list[Fixture]:
    out = []
    for d in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        opts_file = d / "options.json"
        raw = json.loads(opts_file.read_text()) if opts_file.exists() else {}
        findings = read_bytes(d / "findings.txt")
        after = read_bytes(d / "after.yml")
        before = (d / "before.yml").read_bytes()
        out.append(Fixture(
            d.name,
            before,
            None if after is None else with_default_ref(after, before),
            fixture_options(raw),
            None if findings is None else findings.decode().splitlines(),
        ))
    return out


def decode(data: bytes) -> str:
    return data.decode("utf-8")


def finding_lines(result: Any) -> list[str]:
    return [f"{f.line}:{f.col}: {f.code}" for f in result.findings]


def regen() -> None:
    for fx in fixtures():
        result = migrate_text(decode(fx.before), fx.name, fx.options)
        assert result.error is None, (fx.name, result.error)
        d = FIXTURES / fx.name
        new = result.new_text.replace(DEFAULT_ACTION_REF, GOLDEN_REF)
        (d / "after.yml").write_bytes(new.encode("utf-8"))
        (d / "findings.txt").write_text("".join(x + "\n" for x in finding_lines(result)))


# ---------------------------------------------------------------- byte preservation


def foreign_lines(old: str, new: str, allowed: set[str]) -> list[str]:
    """Lines of `new` that are neither copied from `old` nor in `allowed` (stripped, without a
    leading "- "; line endings are compared by the golden bytes). A line changed inside a flow
    collection (`{...}`) counts as copied."""
    old_lines = old.lstrip("\ufeff").splitlines()
    new_lines = new.lstrip("\ufeff").splitlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    out = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag not in ("insert", "replace"):
            continue
        flow_edit = tag == "replace" and any("{" in x for x in old_lines[i1:i2])
        for line in new_lines[j1:j2]:
            content = line.strip().removeprefix("- ").strip()
            if content in allowed or (flow_edit and "{" in line):
                continue
            out.append(line)
    return out


# ---------------------------------------------------------------- PyYAML oracle


def pyyaml_load(text: str) -> Any:
    return yaml.safe_load(text.lstrip("\ufeff"))


def check_jsonschema(files: list[Path], schema: str) -> dict[str, bool]:
    """{file: valid} for every file, in one check-jsonschema run."""
    if not files:
        return {}
    proc = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, "-o", "JSON", *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads(proc.stdout)
    bad = {e["filename"] for e in report.get("errors", [])}
    bad |= {e["filename"] for e in report.get("parse_errors", [])}
    return {str(f): str(f) not in bad for f in files}


# what migrate reports a file it leaves untouched with, by the start of the message
FILE_ERROR_CODES = (
    ("invalid YAML", "yaml-syntax"),
    ("binary file", "unreadable-file"),
    ("not UTF-8", "unreadable-file"),
    ("empty file", "not-a-workflow"),
    ("not a GitHub Actions workflow", "not-a-workflow"),
)


def file_error_code(message: str) -> str:
    """The code of migrate's error line whose message starts with ``message``."""
    return next(code for start, code in FILE_ERROR_CODES if message.startswith(start))


if __name__ == "__main__" and sys.argv[1:] == ["regen"]:
    regen()
