from __future__ import annotations

import pytest

from pipnexus.cli import main


def test_nexus_without_subcommand_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nexus"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    for sub in ("values", "lint", "apply", "status"):
        assert sub in captured.err


@pytest.mark.parametrize("sub", ["values", "lint", "apply", "status"])
def test_subcommand_help(sub: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["nexus", sub, "--help"])
    assert exc.value.code == 0
    assert f"usage: pipnexus nexus {sub}" in capsys.readouterr().out


def test_apply_needs_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["nexus", "apply"])
    assert exc.value.code == 2
    assert "--url" in capsys.readouterr().err


@pytest.mark.parametrize("sub", ["apply", "status"])
def test_connection_options_are_the_option_layers(
    sub: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # no prefix matching: --password-e is not --password-env
    with pytest.raises(SystemExit) as exc:
        main(["nexus", sub, "--url", "http://127.0.0.1:1", "--password-e", "VAR"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "VAR" not in err
    # --password is refused before parsing, its value never echoed
    assert main(["nexus", sub, "--url", "http://127.0.0.1:1", "--password", "hunter2"]) == 2
    err = capsys.readouterr().err
    assert "--password is refused" in err and "hunter2" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--timeout", "0"], "--timeout must be more than 0"),
        (["--timeout", "x"], "--timeout must be a number"),
        (["--retries", "11"], "--retries must be a whole number from 0 to 10"),
        (["--repository", "_bad"], "repository"),
    ],
)
def test_status_input_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nexus", "status", "--url", "http://127.0.0.1:1", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
