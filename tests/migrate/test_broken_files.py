"""Broken and odd files through the real CLI (`python -m pipnexus migrate`).

Complements test_cli.py (invalid YAML, invalid UTF-8, binary, empty, not a workflow, read-only,
symlink): deep nesting, duplicate keys, tabs, custom tags, merge keys (GitHub rejects them),
UTF-16, "billion laughs" aliases, 5 MB files, CR-only line endings, odd workflow shapes,
dangling and looping symlinks, a FIFO and a directory named like a workflow. Each gives one
`path:line:col: error: message [code]` line and exit 2 with the file's bytes and mode untouched,
or the documented behaviour; never a traceback, and every run ends (a generous bound that only
catches hangs).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipnexus.migrate import DEFAULT_ACTION_REF
from tests.migrate.helpers import file_error_code

REPO = Path(__file__).resolve().parents[2]
HANG_BOUND = 120  # seconds; catches a hang or an exponential blow-up, not a slow machine
DEEP = 10_000
STEP = ("      - uses: actions/setup-python@v5\n        with:\n          cache: pip\n"
        "      - run: pip install .\n")
HEAD = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"


def migrate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PIPNEXUS_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipnexus", "migrate", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=HANG_BOUND,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    return proc


def laughs(depth: int) -> str:
    lines = ["on: push", "x0: &a0 [pip, pip, pip, pip, pip, pip, pip, pip, pip, pip]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, depth)]
    return "\n".join(lines) + "\njobs:\n  a:\n    runs-on: x\n    steps:\n" + STEP


ERRORS: dict[str, tuple[bytes, str]] = {
    "deep-flow-sequences": (
        (HEAD + "      - run: " + "[" * DEEP + "pip" + "]" * DEEP + "\n").encode(),
        "1:1: invalid YAML: nested too deeply"),
    "deep-flow-mappings": (
        (HEAD + "      - run: " + "{a: " * DEEP + "pip" + "}" * DEEP + "\n").encode(),
        "1:1: invalid YAML: nested too deeply"),
    "deep-block-sequences": (
        (HEAD + "      - " + "- " * DEEP + "pip\n").encode(),
        "1:1: invalid YAML: nested too deeply"),
    "duplicate-job": (
        (HEAD + STEP + "  a:\n    runs-on: y\n").encode(),
        '10:3: invalid YAML: while constructing a mapping, found duplicate key "a"'),
    "duplicate-key-in-step": (
        (HEAD + "      - uses: actions/setup-python@v5\n        with:\n          cache: pip\n"
         "          cache: poetry\n").encode(),
        '9:11: invalid YAML: while constructing a mapping, found duplicate key "cache"'),
    "tab-indentation": (
        b"on: push\njobs:\n\ta:\n\t\tsteps: [pip]\n",
        "3:1: invalid YAML: while scanning for the next token, found character '\\t'"),
    "custom-tag": (
        (HEAD.replace("  a:", "  a: !custom") + STEP).encode(),
        "3:6: invalid YAML: could not determine a constructor for the tag '!custom'"),
    "merge-key": (
        b"on: push\nx: &w {cache: pip}\njobs:\n  a:\n    runs-on: x\n    steps:\n"
        b"      - uses: actions/setup-python@v5\n        with:\n          <<: *w\n",
        "9:11: invalid YAML: merge keys (`<<`) are not supported by GitHub Actions"),
    "utf-16": ((HEAD + STEP).encode("utf-16"), "1:1: binary file (contains NUL bytes)"),
    "bom-only": (b"\xef\xbb\xbf", "1:1: empty file"),
    "bom-then-latin-1": (b"\xef\xbb\xbf" + (HEAD + "# caf\xe9 pip\n").encode("latin-1"),
                         "6:6: not UTF-8 (byte 0xe9)"),
    "nul-late": ((HEAD + STEP).encode() * 100 + b"\x00", "1:1: binary file (contains NUL bytes)"),
}


@pytest.mark.slow  # one subprocess per broken file
def test_broken_files_are_one_line_exit_2_and_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    before = {}
    for name, (content, _) in ERRORS.items():
        path = folder / f"{name}.yml"
        path.write_bytes(content)
        os.chmod(path, 0o640)
        before[name] = path.stat()
    for mode in ([], ["--check"], ["--diff"], ["--format", "json"]):
        proc = migrate(tmp_path, *mode, "workflows")
        assert proc.returncode == 2, (mode, proc.stdout[-500:], proc.stderr[-500:])
        if mode == ["--format", "json"]:
            reports = {Path(f["path"]).stem: f for f in json.loads(proc.stdout)["files"]}
            assert set(reports) == set(ERRORS)
            for name, (_, message) in ERRORS.items():
                error = reports[name]["error"]
                shown = f"{error['line']}:{error['col']}: {error['message']}"
                assert shown.startswith(message), (name, shown)
                assert reports[name]["written"] is False
        else:
            assert proc.stdout == ""
            lines = sorted(proc.stderr.splitlines())
            assert len(lines) == len(ERRORS), proc.stderr[-3000:]
            for line, (name, (_, message)) in zip(lines, sorted(ERRORS.items())):
                location, problem = message.split(": ", 1)
                assert line.startswith(f"workflows/{name}.yml:{location}: error: {problem}"), (
                    name, line)
                assert line.endswith(f" [{file_error_code(problem)}]"), line
        for name, (content, _) in ERRORS.items():
            path = folder / f"{name}.yml"
            assert path.read_bytes() == content, name
            after = path.stat()
            assert (after.st_mode, after.st_ino, after.st_mtime_ns) == (
                before[name].st_mode, before[name].st_ino, before[name].st_mtime_ns), name


def _migrated_twice(tmp_path: Path, content: bytes) -> bytes:
    path = tmp_path / "ci.yml"
    path.write_bytes(content)
    proc = migrate(tmp_path, "ci.yml")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("pipnexus migrate: rewrote ci.yml")
    again = migrate(tmp_path, "--check", "ci.yml")
    assert again.returncode == 0 and again.stdout == "", again.stdout + again.stderr
    return path.read_bytes()


def test_billion_laughs_aliases_are_migrated_without_blowing_up(tmp_path: Path) -> None:
    text = laughs(12)  # 10**12 leaves when expanded
    new = _migrated_twice(tmp_path, text.encode()).decode()
    assert new.startswith(text.split("jobs:")[0])  # the alias tree is untouched
    assert "cache: pip" not in new and f"uses: {DEFAULT_ACTION_REF}" in new


@pytest.mark.slow
def test_five_megabytes(tmp_path: Path) -> None:
    script = "".join(f"          echo {i} && pip install pkg-{i}\n" for i in range(150_000))
    text = HEAD + STEP + "      - run: |\n" + script
    assert len(text) > 5_000_000
    new = _migrated_twice(tmp_path, text.encode()).decode()
    assert new.endswith(script)  # every byte of the script kept
    assert "cache: pip" not in new and new.count(f"uses: {DEFAULT_ACTION_REF}") == 1


def test_cr_only_line_endings(tmp_path: Path) -> None:
    text = (HEAD + STEP).replace("\n", "\r")
    new = _migrated_twice(tmp_path, text.encode()).decode()
    assert "\n" not in new and "cache: pip" not in new
    assert f"\r        uses: {DEFAULT_ACTION_REF}\r" in new


@pytest.mark.parametrize(
    "text",
    [
        "on: push\njobs:\n  - a\n  - steps: [pip]\n",
        "on: push\njobs:\n  a:\n    steps:\n      uses: actions/setup-python@v5\n"
        "      with: {cache: pip}\n",
        HEAD + "      - uses: [actions/setup-python@v5]\n        with: [cache, pip]\n"
        "      - uses: actions/cache@v4\n        with:\n          path: [~/.cache/pip]\n"
        "      - pip\n      - null\n      - run: [pip install]\n      - {}\n",
        "on: push\njobs:\n  a: pip\n  b: null\n  c: [pip]\n",
        "on: push\njobs: pip\n",
        "runs: pip\n",
        "runs:\n  using: composite\n  steps: pip\n",
    ],
    ids=["jobs-list", "steps-mapping", "wrong-types", "job-scalars", "jobs-scalar",
         "runs-scalar", "steps-scalar"],
)
def test_odd_workflow_shapes_are_left_alone(text: str, tmp_path: Path) -> None:
    path = tmp_path / "ci.yml"
    path.write_text(text)
    proc = migrate(tmp_path, "ci.yml")
    assert proc.returncode == 0, proc.stderr
    assert path.read_text() == text


def _repo(tmp_path: Path) -> Path:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "good.yml").write_text(HEAD + STEP)
    return wf


def test_special_files_in_a_walk_are_skipped_and_named_ones_refused(tmp_path: Path) -> None:
    wf = _repo(tmp_path)
    (wf / "dangling.yml").symlink_to(tmp_path / "nowhere.yml")
    (wf / "loop-a.yml").symlink_to(wf / "loop-b.yml")
    (wf / "loop-b.yml").symlink_to(wf / "loop-a.yml")
    os.mkfifo(wf / "fifo.yml")  # reading it would block forever
    (wf / "dir.yml").mkdir()
    (wf / "dir.yml" / "inner.yml").write_text(HEAD + STEP)

    walked = migrate(tmp_path, "--check")
    assert walked.returncode == 1, walked.stderr  # only good.yml would change
    assert walked.stdout.splitlines() == [
        "pipnexus migrate: "
        "would rewrite .github/workflows/good.yml (setup-python-cache, insert-step)"]
    assert walked.stderr == ""

    for name in ("dangling.yml", "loop-a.yml", "fifo.yml"):
        proc = migrate(wf, name)
        assert proc.returncode == 2
        assert proc.stderr.splitlines() == [
            f"{name}: error: not a regular file or directory [unreadable-file]"]
    assert stat.S_ISFIFO(os.lstat(wf / "fifo.yml").st_mode)

    # a directory is walked as a directory: named like a workflow, its own YAML files count
    proc = migrate(wf, "--check", "dir.yml")
    assert proc.returncode == 1
    assert proc.stdout.startswith("pipnexus migrate: would rewrite dir.yml/inner.yml")


def test_read_only_file_in_a_walk(tmp_path: Path) -> None:
    wf = _repo(tmp_path)
    locked = wf / "locked.yml"
    locked.write_text(HEAD + STEP)
    os.chmod(locked, 0o444)
    proc = migrate(tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        ".github/workflows/locked.yml:1:1: error: file is read-only: left unchanged "
        "[unwritable-file]"]
    assert locked.read_text() == HEAD + STEP
    assert stat.S_IMODE(locked.stat().st_mode) == 0o444
    assert "cache: pip" not in (wf / "good.yml").read_text()  # the others are still migrated
