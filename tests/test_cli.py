from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pipnexus import __version__
from pipnexus.cli import COMMANDS, main
from tests.cli_process import run_pipnexus
from tests.pythons import action_pythons

ROOT = Path(__file__).resolve().parents[1]
# the modules the composite action runs: standard library only, Python >= 3.9
ACTION_MODULES = (
    "pipnexus.cli",
    "pipnexus.probe",
    "pipnexus.probe.cli",
    "pipnexus.options",
    "pipnexus.diagnostics",
    "pipnexus.urls",
    "pipnexus.configure",
    "pipnexus.gha",
    "pipnexus.fsutil",
    "pipnexus.demo",
    "pipnexus.migrate.main",
    "pipnexus.nexus.main",
)


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("probe", "configure", "migrate", "nexus"):
        assert name in out
    for command in COMMANDS:
        assert command.help in " ".join(out.split())


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_each_command_has_real_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: pipnexus {command}" in out
    description = next(c.description for c in COMMANDS if c.name == command)
    assert description.split()[0] in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"pipnexus {__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    # one error line that points at the help, not the help itself
    assert "(see 'pipnexus --help')" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "--no-such-option"],
        ["configure", "--index-url"],
        ["migrate", "--strategy", "sometimes"],
        ["nexus", "lint"],
    ],
)
def test_usage_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("pipnexus")
    assert "--help" in err


@pytest.mark.parametrize("python", action_pythons())
def test_action_modules_need_only_the_standard_library(python: str) -> None:
    # -S: no site-packages at all, so any third-party import fails; -I would also drop
    # PYTHONPATH, which the action replaces by inserting its own path explicitly
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import importlib\n"
        "assert sys.version_info >= (3, 9), sys.version\n"
        f"for m in {ACTION_MODULES!r}: importlib.import_module(m)\n"
        "from pipnexus.cli import main\n"
        "sys.exit(main(['--version']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run(
        [python, "-I", "-S", "-c", code, str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"pipnexus {__version__}"


def test_python_dash_m_runs_the_cli() -> None:
    proc = run_pipnexus("--version", module=True, cwd=ROOT)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"pipnexus {__version__}"


def test_unexpected_errors_are_one_line_and_hide_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pipnexus.probe.cli  # the module 'pipnexus probe' runs

    def boom(args: object) -> int:
        raise RuntimeError("cannot reach http://admin:s3cret@nexus:8081/x\nand hunter2 too")

    monkeypatch.setattr(pipnexus.probe.cli, "run", boom)
    monkeypatch.setenv("PIPNEXUS_PASSWORD", "hunter2")
    monkeypatch.delenv("PIPNEXUS_DEBUG", raising=False)
    assert main(["probe", "--index-url", "http://nexus:8081/simple/"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "internal error: RuntimeError" in err
    assert "s3cret" not in err
    assert "hunter2" not in err
    assert "Traceback" not in err
