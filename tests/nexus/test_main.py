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
