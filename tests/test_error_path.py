"""One error path: every command's failure cases print lines of one shape on stderr,
``pipnexus COMMAND: severity: message [code]`` or ``path:line:col: severity: message [code]``,
with a code of ``diagnostics.CODES``, and describe a failed connection in the probe's words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipnexus.cli import main
from pipnexus.diagnostics import CODES
from pipnexus.probe.classify import network_failure
from testbed.httpbase import closed_url
from tests.messages import LINE

REFUSED = network_failure(ConnectionRefusedError(), "the server", 1.0)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's usage errors
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def _files(tmp: Path) -> None:
    (tmp / "bad.yml").write_text("on: push\njobs: [pip\n")
    (tmp / "notes.yml").write_text("name: pip\nsteps: []\n")
    (tmp / "bad.yaml").write_text("config:\n  repos: [\n")


# (argv, where the line says it is, its code, the exit code); {closed} is a port nothing
# listens on
CASES: list[tuple[list[str], str, str, int]] = [
    ([], "pipnexus", "usage", 2),
    (["nexus"], "pipnexus nexus", "usage", 2),
    (["--password", "x", "probe"], "pipnexus", "usage", 2),
    (["probe", "--bogus"], "pipnexus probe", "usage", 2),
    (["probe", "--index-url", "http://127.0.0.1:9/simple", "--timeout", "abc"],
     "pipnexus probe", "usage", 2),
    (["probe"], "pipnexus probe", "usage", 2),
    (["configure", "--format", "github", "--index-url", "http://127.0.0.1:9/simple"],
     "pipnexus configure", "usage", 2),
    (["configure", "--index-url", "ftp://127.0.0.1/simple"], "pipnexus configure", "usage", 2),
    (["hook", "--namespace", "ci"], "pipnexus hook", "usage", 2),
    (["migrate", "missing.yml"], "missing.yml", "unreadable-file", 2),
    (["migrate", "bad.yml"], "bad.yml:3:1", "yaml-syntax", 2),
    (["migrate", "notes.yml"], "notes.yml:1:1", "not-a-workflow", 2),
    (["migrate", "--caches", "nope", "bad.yml"], "pipnexus migrate", "usage", 2),
    (["nexus", "values", "--bogus"], "pipnexus nexus values", "usage", 2),
    (["nexus", "values", "--blob-store", ""], "pipnexus nexus values", "usage", 2),
    (["nexus", "lint", "missing.yaml"], "pipnexus nexus lint", "unreadable-file", 2),
    (["nexus", "lint", "bad.yaml"], "bad.yaml:3:1", "yaml-syntax", 2),
    (["nexus", "apply", "--url", "http://u:p@127.0.0.1:9"], "pipnexus nexus apply", "usage", 2),
    (["nexus", "apply", "--url", "{closed}", "--retries", "0", "--dry-run"],
     "pipnexus nexus apply", "nexus-unreachable", 1),
    (["nexus", "status", "--url", "{closed}", "--retries", "99"],
     "pipnexus nexus status", "usage", 2),
    (["demo", "--bogus"], "pipnexus demo", "usage", 2),
]


@pytest.mark.parametrize(("argv", "where", "code", "rc"), CASES, ids=lambda v: str(v))
def test_every_failure_is_one_line_of_the_one_shape(
    argv: list[str],
    where: str,
    code: str,
    rc: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("GITHUB_ACTIONS", "GITHUB_ENV", "GITHUB_OUTPUT", "PIPNEXUS_INDEX_URL",
                 "PIPNEXUS_NEXUS_URL", "PIPNEXUS_HOOK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    _files(tmp_path)
    closed = closed_url()
    got_rc, out, err = run([a.replace("{closed}", closed) for a in argv], capsys)
    assert got_rc == rc, err
    assert out == ""  # nothing on stdout, not even a second copy as an annotation
    (line,) = err.splitlines()
    m = LINE.fullmatch(line)
    assert m, line
    assert (m["where"], m["severity"], m["code"]) == (where, "error", code), line
    assert m["code"] in CODES
    if code == "usage" and "unrecognized" in line:
        assert f"(see '{where} --help')" in line  # the subcommand's own help
    if code == "nexus-unreachable":
        assert REFUSED is not None and REFUSED.detail in m["message"], line
        assert "Errno" not in line


def _probe(url: str) -> list[str]:
    return ["probe", "--index-url", f"{url}/simple", "--timeout", "5"]


def _status(url: str) -> list[str]:
    return ["nexus", "status", "--url", url, "--retries", "0"]


def _apply(url: str) -> list[str]:
    return ["nexus", "apply", "--url", url, "--retries", "0", "--dry-run"]


@pytest.mark.parametrize("argv", [_probe, _status, _apply], ids=["probe", "status", "apply"])
def test_a_refused_connection_in_the_same_words_everywhere(
    argv: Callable[[str], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe (a result row), nexus status (a finding) and nexus apply (its error line)
    say "refused the connection (nothing listens there)"."""
    assert REFUSED is not None
    words = REFUSED.detail.removeprefix("the server ")  # the probe names host:port instead
    assert words == "refused the connection (nothing listens there)"
    rc, out, err = run(argv(closed_url()), capsys)
    assert rc == 1
    assert words in out + err
    assert "Errno" not in out + err


def test_inside_actions_configure_adds_one_annotation_with_the_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Inside Actions the error line also becomes an annotation (visible in the run view),
    once, with the code in its title as the hook's annotations have it; outside, the
    parametrized case above shows it is not printed at all."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_ENV", raising=False)
    rc, out, err = run(
        ["configure", "--format", "github", "--index-url", "http://127.0.0.1:9/simple"], capsys
    )
    assert rc == 2
    message = "--format github needs GITHUB_ENV (run it inside GitHub Actions)"
    assert err.splitlines() == [f"pipnexus configure: error: {message} [usage]"]
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert errors == [f"::error title=pipnexus configure [usage]::{message}"]
