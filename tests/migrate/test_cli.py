"""`pipnexus migrate` on disk: modes, exit codes, reports, errors, atomic writes."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipnexus.cli import main
from pipnexus.migrate import DEFAULT_ACTION_REF
from pipnexus.migrate.diff import unified_diff
from tests.migrate.helpers import file_error_code

WORKFLOW = """\
on: push
jobs:
  test:
    runs-on: [self-hosted, linux]
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: pip install .
"""
MIGRATED = """\
on: push
jobs:
  test:
    runs-on: [self-hosted, linux]
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Use the in-cluster PyPI proxy
        id: pipnexus
        uses: pipnexus/pipnexus@v1
      - run: pip install .
""".replace("pipnexus/pipnexus@v1", DEFAULT_ACTION_REF)
NOTHING_TO_DO = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: make\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text(WORKFLOW)
    (wf / "node.yaml").write_text(NOTHING_TO_DO)
    (wf / "README.md").write_text("not a workflow: pip")
    action = tmp_path / ".github" / "actions" / "setup"
    action.mkdir(parents=True)
    (action / "action.yml").write_text(
        "name: s\ndescription: d\nruns:\n  using: composite\n  steps:\n"
        "    - uses: actions/setup-python@v5\n      with: {cache: pip}\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_rewrites_dot_github(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    out, err = capsys.readouterr()
    # a composite action runs on its callers' runners, which may be GitHub-hosted: its cache
    # gets the conditional form (the step goes first, so it is named first)
    assert out.splitlines() == [
        "pipnexus migrate: "
        "rewrote .github/actions/setup/action.yml (insert-step, setup-python-cache)",
        "pipnexus migrate: rewrote .github/workflows/ci.yml (setup-python-cache, insert-step)",
    ]
    assert "[runner-unknown]" in err
    assert (repo / ".github/workflows/ci.yml").read_text() == MIGRATED
    assert (repo / ".github/workflows/node.yaml").read_text() == NOTHING_TO_DO
    action = (repo / ".github/actions/setup/action.yml").read_text()
    assert "uses: " + DEFAULT_ACTION_REF in action
    assert "steps.pipnexus.outputs.source != 'nexus' && 'pip'" in action
    assert main(["migrate", "--check"]) == 0  # idempotent


def test_check_exit_1_and_changes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--check", ".github/workflows"]) == 1
    assert capsys.readouterr().out == (
        "pipnexus migrate: "
        "would rewrite .github/workflows/ci.yml (setup-python-cache, insert-step)\n"
    )
    assert (repo / ".github/workflows/ci.yml").read_text() == WORKFLOW
    assert main(["migrate", "--check", ".github/workflows/node.yaml"]) == 0


def test_diff_prints_and_changes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--diff", ".github/workflows/ci.yml"]) == 0
    out = capsys.readouterr().out
    assert out == unified_diff(".github/workflows/ci.yml", WORKFLOW, MIGRATED)
    assert out.startswith("--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n")
    assert "-          cache: pip\n" in out
    assert "\033[" not in out  # not a terminal: no colour
    assert (repo / ".github/workflows/ci.yml").read_text() == WORKFLOW
    assert main(["migrate", "--diff", "--check", ".github/workflows/ci.yml"]) == 1


def test_colour_diff() -> None:
    coloured = unified_diff("x.yml", WORKFLOW, MIGRATED, color=True)
    assert "\033[31m-          cache: pip\033[0m\n" in coloured
    assert "\033[32m+        id: pipnexus\033[0m\n" in coloured


def test_diff_of_file_without_final_newline() -> None:
    diff = unified_diff("x.yml", "a\nb", "a\nc")
    assert diff.endswith("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")


def test_json_report(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / ".github/workflows/ci.yml").write_text(
        WORKFLOW + "      - run: pip install --index-url https://x.example/simple y\n"
    )
    assert main(["migrate", "--format", "json", "--check", ".github/workflows"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {"files": 2, "changed": 1, "errors": 0, "written": 0}
    ci = next(f for f in report["files"] if f["path"].endswith("ci.yml"))
    assert ci["changed"] is True and ci["written"] is False and ci["error"] is None
    assert [c["rule"] for c in ci["changes"]] == ["setup-python-cache", "insert-step"]
    assert ci["changes"][0]["line"] == 9
    assert ci["findings"] == [{
        "path": ".github/workflows/ci.yml", "line": 11, "col": 26, "severity": "warning",
        "code": "index-url-in-run",
        "message": "`--index-url` in a run script bypasses the index pipnexus configures",
    }]
    assert "diff" not in ci


def test_warnings_go_to_stderr(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "uv.lock").write_text("")
    (repo / ".github/workflows/ci.yml").write_text(WORKFLOW + "      - run: uv sync --frozen\n")
    assert main(["migrate", "--check", ".github/workflows/ci.yml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        ".github/workflows/ci.yml:11:14: warning: `uv sync --frozen` with a uv.lock"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"jobs: [pip\n", "2:1: invalid YAML: while parsing a flow sequence"),
        (b"on: push\njobs:\n  a: {steps: [pip: x: y]}\n", "3:21: invalid YAML"),
        (b"on: push\njobs: {}\n\xff\xfe pip\n", "3:1: not UTF-8 (byte 0xff)"),
        (b"pip\x00\x01", "1:1: binary file"),
        (b"", "1:1: empty file"),
        (b"# only a comment about pip\n", "1:1: empty file"),
        (b"name: pip\nsteps: []\n", "1:1: not a GitHub Actions workflow or action"),
        (b"- pip\n", "1:1: not a GitHub Actions workflow or action"),
        (b"a: pip\n---\nb: c\n", "2:1: invalid YAML: expected a single document in the stream, "
                                "but found another document"),
    ],
)
def test_bad_files_exit_2_untouched_others_processed(
    repo: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    bad = repo / ".github/workflows/bad.yml"
    bad.write_bytes(content)
    assert main(["migrate", ".github/workflows"]) == 2
    captured = capsys.readouterr()
    location, problem = message.split(": ", 1)
    assert f".github/workflows/bad.yml:{location}: error: {problem}" in captured.err
    assert captured.err.endswith(f" [{file_error_code(problem)}]\n")
    assert len(captured.err.splitlines()) == 1
    assert "Traceback" not in captured.err
    assert bad.read_bytes() == content
    # the good file was still migrated
    assert (repo / ".github/workflows/ci.yml").read_text() == MIGRATED


def test_missing_path_is_an_error_but_others_run(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "nope.yml", ".github/workflows/ci.yml"]) == 2
    assert "nope.yml: error: no such file or directory [unreadable-file]" in capsys.readouterr().err
    assert (repo / ".github/workflows/ci.yml").read_text() == MIGRATED


def test_no_dot_github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["migrate"]) == 2
    assert "no .github/ directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["--caches", "pip,npm"], ["--caches", ""], ["--action-ref", "not a ref"],
     ["--action-ref", "owner/repo"], ["--strategy", "maybe"]],
)
def test_bad_options(repo: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) if args[0] == "--strategy" else contextlib.nullcontext():
        assert main(["migrate", *args]) == 2
    assert capsys.readouterr().err
    assert (repo / ".github/workflows/ci.yml").read_text() == WORKFLOW


def test_action_ref_and_caches_options(repo: Path) -> None:
    assert main(["migrate", "--action-ref", "acme/pypi-proxy@v2.1", "--caches", "poetry",
                 ".github/workflows/ci.yml"]) == 0
    text = (repo / ".github/workflows/ci.yml").read_text()
    assert "uses: acme/pypi-proxy@v2.1" in text
    assert "cache: pip" in text  # pip was not selected


def test_write_keeps_mode_and_is_atomic(repo: Path) -> None:
    ci = repo / ".github/workflows/ci.yml"
    os.chmod(ci, 0o640)
    inode = ci.stat().st_ino
    assert main(["migrate", str(ci)]) == 0
    assert stat.S_IMODE(ci.stat().st_mode) == 0o640
    assert ci.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert ci.read_text() == MIGRATED
    assert sorted(p.name for p in ci.parent.iterdir()) == ["README.md", "ci.yml", "node.yaml"]


def test_read_only_file_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ci = repo / ".github/workflows/ci.yml"
    os.chmod(ci, 0o444)
    assert main(["migrate", str(ci)]) == 2
    expected = f"{ci}:1:1: error: file is read-only: left unchanged [unwritable-file]"
    assert expected in capsys.readouterr().err
    assert ci.read_text() == WORKFLOW
    assert main(["migrate", "--check", str(ci)]) == 1  # checking a read-only file is fine


def test_symlink_written_through(repo: Path) -> None:
    target = repo / "shared.yml"
    target.write_text(WORKFLOW)
    link = repo / ".github/workflows/link.yml"
    link.symlink_to(target)
    assert main(["migrate", str(link)]) == 0
    assert link.is_symlink()
    assert target.read_text() == MIGRATED


def test_crlf_and_bom_survive_the_cli(repo: Path) -> None:
    ci = repo / ".github/workflows/ci.yml"
    ci.write_bytes(b"\xef\xbb\xbf" + WORKFLOW.replace("\n", "\r\n").encode())
    assert main(["migrate", str(ci)]) == 0
    assert ci.read_bytes() == b"\xef\xbb\xbf" + MIGRATED.replace("\n", "\r\n").encode()


def test_many_files_use_the_process_pool(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = repo / ".github/workflows"
    for i in range(60):
        (wf / f"w{i:02}.yml").write_text(WORKFLOW if i % 2 else NOTHING_TO_DO)
    (wf / "w99.yml").write_text("jobs: [pip\n")
    assert main(["migrate", "--check", "--format", "json", str(wf)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {"files": 63, "changed": 31, "errors": 1, "written": 0}
    assert [f["path"] for f in report["files"]] == sorted(f["path"] for f in report["files"])


def test_command_module_imports_only_stdlib() -> None:
    code = (
        "import sys, pipnexus.migrate.main, pipnexus.migrate;"
        "bad = [m for m in sys.modules if m.startswith(('ruamel', 'yaml', 'requests'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_python_dash_m_entry_point(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pipnexus", "migrate", "--check", ".github/workflows/ci.yml"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("pipnexus migrate: would rewrite .github/workflows/ci.yml")


def test_pre_commit_hooks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped hooks select workflows and actions and run as pre-commit runs them."""
    import re
    import shlex

    import yaml

    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"pipnexus-migrate", "pipnexus-migrate-check"}
    for hook in hooks:
        files = re.compile(hook["files"])
        assert files.search(".github/workflows/ci.yml")
        assert files.search(".github/workflows/release.yaml")
        assert files.search(".github/actions/setup/action.yml")
        assert files.search("action.yaml")
        assert not files.search(".github/dependabot.yml")
        assert not files.search("docs/conf.yml")
        assert hook["language"] == "python"
    # pre-commit appends the staged file names to the entry
    ci = ".github/workflows/ci.yml"
    check = shlex.split(by_id["pipnexus-migrate-check"]["entry"])
    assert check[0] == "pipnexus"
    assert main([*check[1:], ci]) == 1
    fix = shlex.split(by_id["pipnexus-migrate"]["entry"])
    assert main([*fix[1:], ci]) == 0
    assert (repo / ci).read_text() == MIGRATED
    assert main([*check[1:], ci]) == 0


def test_directory_walk_finds_workflows_and_actions_only(repo: Path) -> None:
    from pipnexus.migrate.files import discover

    (repo / "docs" / "workflows").mkdir(parents=True)
    (repo / "docs" / "workflows" / "example.yml").write_text(WORKFLOW)
    (repo / "tools").mkdir()
    (repo / "tools" / "action.yaml").write_text("runs: {using: node20, main: x.js}\n")
    (repo / ".github" / "dependabot.yml").write_text("version: 2\n")
    found, problems = discover(["."])
    assert problems == []
    assert sorted(str(p) for p in found) == [
        ".github/actions/setup/action.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/node.yaml",
        "tools/action.yaml",
    ]
    # naming a folder of workflows directly takes its YAML files
    found, _ = discover(["docs/workflows", "docs/workflows/example.yml"])
    assert [str(p) for p in found] == ["docs/workflows/example.yml"]


def test_internal_error_in_one_file_does_not_stop_the_others(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipnexus.migrate import driver

    real = driver.migrate_text

    def flaky(text: str, path: str = "", options: object = None):
        if path.endswith("node.yaml"):
            raise RuntimeError("boom")
        return real(text, path, options)  # type: ignore[arg-type]

    monkeypatch.setattr(driver, "migrate_text", flaky)
    monkeypatch.delenv("PIPNEXUS_DEBUG", raising=False)
    assert main(["migrate", ".github/workflows"]) == 2
    err = capsys.readouterr().err
    assert ".github/workflows/node.yaml:1:1: error: internal error: RuntimeError: boom" in err
    assert (repo / ".github/workflows/ci.yml").read_text() == MIGRATED


def test_json_with_diff(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--format", "json", "--diff", ".github/workflows/ci.yml"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["files"]
    assert entry["diff"] == unified_diff(".github/workflows/ci.yml", WORKFLOW, MIGRATED)
    assert entry["written"] is False


def test_action_ref_repins_existing_steps(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An explicit --action-ref re-pins a migrated workflow; without it, it is left alone."""
    ci = repo / ".github/workflows/ci.yml"
    ci.write_text(MIGRATED)
    assert main(["migrate", "--check", str(ci)]) == 0
    sha = "pipnexus/pipnexus@" + "0123456789abcdef" * 2 + "01234567"
    ref = f"{sha} # v1.0.0"
    assert main(["migrate", "--action-ref", ref, str(ci)]) == 0
    assert capsys.readouterr().out == f"pipnexus migrate: rewrote {ci} (repin)\n"
    assert ci.read_text() == MIGRATED.replace(f"uses: {DEFAULT_ACTION_REF}", f"uses: {ref}")
    assert main(["migrate", "--check", "--action-ref", ref, str(ci)]) == 0  # idempotent
    assert main(["migrate", "--check", str(ci)]) == 0  # no --action-ref: no re-pinning


@pytest.mark.parametrize("ref", ["a/b@c # x # y", "a/b@c #", "a/b@c # x\ny", "# v1"])
def test_bad_action_ref_comment(repo: Path, ref: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--action-ref", ref]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


# ---------------------------------------------------------------- which jobs, the step's inputs

TWO_RUNNERS = """\
on: push
jobs:
  hosted:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
        with:
          cache: pip
      - run: pip install .
  arc:
    runs-on: arc-runner-set
    steps:
      - uses: actions/setup-python@v5
        with:
          cache: pip
      - run: pip install .
"""


def _jobs(path: Path) -> dict[str, str]:
    """Each job's text, by name (the file's jobs are at two spaces)."""
    out: dict[str, str] = {}
    name = ""
    for line in path.read_text().splitlines(keepends=True)[2:]:
        if line.startswith("  ") and not line.startswith("   "):
            name = line.strip().rstrip(":")
        out[name] = out.get(name, "") + line
    return out


def test_only_self_hosted_jobs_by_default(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    ci = tmp_path / "ci.yml"
    ci.write_text(TWO_RUNNERS)
    before = _jobs(ci)
    assert main(["migrate", str(ci)]) == 0
    err = capsys.readouterr().err
    after = _jobs(ci)
    assert after["hosted"] == before["hosted"]
    assert "cache: pip" not in after["arc"] and "id: pipnexus" in after["arc"]
    assert f"{ci}:4:5: note: job `hosted` runs on GitHub-hosted runners" in err
    assert err.rstrip().endswith("[hosted-job-skipped]")


def test_runners_names_the_self_hosted_labels(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ci = tmp_path / "ci.yml"
    ci.write_text(TWO_RUNNERS)
    assert main(["migrate", "--check", "--runners", "gpu-pool,other", str(ci)]) == 0
    assert "job `arc` runs on arc-runner-set, which --runners does not name" in (
        capsys.readouterr().err)
    assert main(["migrate", "--check", "--runners", "ARC-runner-set", str(ci)]) == 1
    assert main(["migrate", "--runners", " , ", str(ci)]) == 2
    assert "--runners: give at least one runner label" in capsys.readouterr().err
    assert ci.read_text() == TWO_RUNNERS


def test_all_jobs_migrates_the_hosted_job_too(tmp_path: Path) -> None:
    ci = tmp_path / "ci.yml"
    ci.write_text(TWO_RUNNERS)
    assert main(["migrate", "--all-jobs", str(ci)]) == 0
    assert ci.read_text().count("id: pipnexus") == 2
    assert "cache: pip" not in ci.read_text()


def test_hook_strategy_removes_the_caches_and_inserts_no_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ci = tmp_path / "ci.yml"
    ci.write_text(TWO_RUNNERS)
    before = _jobs(ci)
    assert main(["migrate", "--strategy", "hook", str(ci)]) == 0
    after = _jobs(ci)
    assert after["hosted"] == before["hosted"]
    assert after["arc"] == before["arc"].replace("        with:\n          cache: pip\n", "")
    assert "pipnexus" not in ci.read_text()
    assert main(["migrate", "--strategy", "hook", "--check", str(ci)]) == 0  # idempotent
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["migrate", "--help"])
    assert "hook: for runners with the pipnexus job-started hook" in " ".join(
        capsys.readouterr().out.split())


def test_step_inputs_are_written(tmp_path: Path) -> None:
    ci = tmp_path / "ci.yml"
    ci.write_text(TWO_RUNNERS)
    assert main(["migrate", "--nexus-url", "http://nexus3.ops.svc:8081", "--repository",
                 "pypi-all", str(ci)]) == 0
    assert ("        uses: " + DEFAULT_ACTION_REF + "\n        with:\n"
            "          nexus-url: http://nexus3.ops.svc:8081\n"
            "          repository: pypi-all\n") in _jobs(ci)["arc"]
    ci.write_text(TWO_RUNNERS)
    assert main(["migrate", "--index-url", "http://a.svc/simple/ http://b.svc/simple/",
                 str(ci)]) == 0
    assert "          index-url: http://a.svc/simple/ http://b.svc/simple/\n" in ci.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--index-url", "https://user:s3cr3t@nexus.example/simple/"],
         "--index-url has a user name or password"),
        (["--nexus-url", "http://tok3n@nexus.svc:8081"], "--nexus-url has a user name or password"),
        (["--repository", "pypi-all"], "--repository goes with --nexus-url"),
        (["--index-url", "http://a/simple/", "--nexus-url", "http://b:8081"],
         "give --index-url or --nexus-url, not both"),
        (["--nexus-url", "ftp://nexus"], "--nexus-url has scheme 'ftp'"),
        (["--nexus-url", "http://n:8081", "--repository", "_bad"], "repository name is invalid"),
    ],
)
def test_bad_step_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                         message: str) -> None:
    ci = tmp_path / "ci.yml"
    ci.write_text(TWO_RUNNERS)
    assert main(["migrate", *args, str(ci)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1
    assert "s3cr3t" not in err and "tok3n" not in err
    assert ci.read_text() == TWO_RUNNERS


def test_a_named_file_is_always_parsed(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """No trigger word (pip, setup-python, ...) lets a file named on the command line be
    skipped: an invalid one is an error; found by walking a directory, it is still skipped."""
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    bad = wf / "deploy.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: x\n    steps: [run: make\n")
    assert main(["migrate", "--check", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"{bad}:6:1: error: invalid YAML")
    assert main(["migrate", "--check", str(tmp_path / ".github")]) == 0
