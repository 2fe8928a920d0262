"""One voice beyond the failures: every command's other paths (notes, warnings, a fallback,
summaries, informational lines) print every stderr line, and every line of their own in the
Actions log, in one of the forms of ``tests/messages.py`` (CONTRIBUTING.md, "Messages").

tests/test_error_path.py runs the failures; this runs the rest, in process, against loopback
servers. Each case also names what its output must contain, so it cannot pass by printing
nothing, and the checker itself is shown to refuse each way a line can break the form.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipnexus.cli import main
from testbed.httpbase import closed_url
from testbed.nexus_double import NexusDouble
from tests.messages import problem, problems

MIGRATED = """\
on: push
jobs:
  hosted:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
        with:
          cache: pip
  arc:
    runs-on: arc-runner-set
    steps:
      - uses: actions/setup-python@v5
        with:
          cache: pip
      - run: pip install .
"""
# config.enabled false and a repository without its required fields: errors and a summary
VALUES = """\
config:
  enabled: false
  repos:
    - name: pypi-proxy
      format: pypi
      type: proxy
"""


class Case:
    """``argv`` and ``env`` (``{closed}``, ``{index}``, ``{tmp}`` filled in), what the
    output must contain, and what stdout is: ``log`` the Actions log (the github format, the
    hook: the runner's protocol lines too), ``lines`` messages or findings (all but a last
    verdict word of nexus status), "" a result in a format of its own (exports, JSON)."""

    def __init__(self, argv: list[str], expect: list[str], env: dict[str, str] | None = None,
                 rc: int = 0, stdout: str = "") -> None:
        self.argv, self.expect, self.env, self.rc = argv, expect, env or {}, rc
        self.stdout = stdout


RUNNER = {"GITHUB_ACTIONS": "true", "GITHUB_ENV": "{tmp}/env", "GITHUB_OUTPUT": "{tmp}/out",
          "GITHUB_STEP_SUMMARY": "{tmp}/summary", "RUNNER_TEMP": "{tmp}"}
CONFIGURE = ["configure", "--index-url", "{closed}/simple {index}", "--python-mirror",
             "{closed}/mirror", "--pip-conf", "file", "--project-dir", "{tmp}/project"]
EXTRA = {"PIP_EXTRA_INDEX_URL": "https://pypi.org/simple"}
# what configure says about the candidates, the mirror, the cleared source and the project
CONFIGURE_SAYS = ["note: {closed}/simple: unhealthy", "[refused]", "{index}: healthy (",
                  "interpreter mirror {closed}/mirror: unhealthy", "[public-pypi-cleared]"]
CASES = {
    "probe-note-and-fallback": Case(
        ["probe", "--nexus-url", "{closed}/repository/pypi-proxy/simple/", "--timeout", "5"],
        ["pipnexus probe: note: --nexus-url is a whole index URL", "[nexus-url-is-index]"],
        rc=1),
    "configure-shell": Case(
        [*CONFIGURE, "--format", "shell"],
        [*CONFIGURE_SAYS, "[requirements-index]", "[python-mirror-unhealthy]",
         "pipnexus configure: wrote pip config "], env=EXTRA),
    "configure-json-fallback": Case(
        ["configure", "--index-url", "{closed}/simple", "--format", "json",
         "--project-dir", "{tmp}/project"],
        ["pipnexus configure: warning: Nexus is unhealthy", "[fallback]",
         "[requirements-index]"]),
    "configure-not-configured": Case(
        ["configure", "--format", "dotenv"], ["pipnexus configure: note: ", "[not-configured]"]),
    "configure-github": Case(
        [*CONFIGURE, "--format", "github"],
        [*CONFIGURE_SAYS, "pipnexus configure: using the Nexus proxy {index}",
         "::warning file=requirements.txt,line=1,title=pipnexus [requirements-index]::"],
        env={**RUNNER, **EXTRA}, stdout="log"),
    "hook-off": Case(
        ["hook"], ["pipnexus hook: note: the job-started hook is off", "[hook-off]"],
        env={**RUNNER, "PIPNEXUS_HOOK": "off", "PIPNEXUS_INDEX_URL": "{index}"}, stdout="log"),
    "hook-on": Case(
        ["hook"], ["pipnexus hook: using the Nexus proxy {index}"],
        env={**RUNNER, "PIPNEXUS_INDEX_URL": "{index}"}, stdout="log"),
    "hook-not-configured": Case(
        ["hook"], ["pipnexus hook: note: no PIPNEXUS_INDEX_URL", "[not-configured]"],
        env=RUNNER, stdout="log"),
    "hook-bad-setting": Case(
        ["hook"], ["::warning title=pipnexus hook [hook-error]::"],
        env={**RUNNER, "PIPNEXUS_INDEX_URL": "{index}", "PIPNEXUS_TIMEOUT": "soon"}, stdout="log"),
    "hook-build-zipapp": Case(
        ["hook", "--build-zipapp", "{tmp}/hook.pyz"], ["pipnexus hook: wrote {tmp}/hook.pyz ("]),
    "lint-findings-and-summary": Case(
        ["nexus", "lint", "{tmp}/values.yaml"],
        ["[config-disabled]", "pipnexus nexus lint: {tmp}/values.yaml: "], rc=1, stdout="lines"),
    "values-written": Case(
        ["nexus", "values", "-o", "{tmp}/nexus-values.yaml"],
        ["pipnexus nexus values: wrote {tmp}/nexus-values.yaml"]),
    "apply-lint-errors": Case(
        ["nexus", "apply", "--url", "{closed}", "--values", "{tmp}/values.yaml", "--dry-run"],
        ["{tmp}/values.yaml:", "[values-lint-errors]"], rc=2),
    "status-unhealthy": Case(
        ["nexus", "status", "--url", "{closed}", "--retries", "0"],
        ["pipnexus nexus status: error: cannot reach", "[nexus-unreachable]"],
        rc=1, stdout="lines"),
    "migrate-changes-and-skips": Case(
        ["migrate", "{tmp}/.github/workflows"],
        ["pipnexus migrate: rewrote {tmp}/.github/workflows/ci.yml (", "[hosted-job-skipped]",
         "broken.yml:", "[yaml-syntax]"], rc=2, stdout="lines"),
}


def _setup(tmp: Path) -> None:
    (tmp / "project").mkdir()
    (tmp / "project" / "requirements.txt").write_text("--index-url http://other.example/simple\n")
    workflows = tmp / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(MIGRATED)
    (workflows / "broken.yml").write_text("on: push\njobs: [pip\n")
    (tmp / "values.yaml").write_text(VALUES)
    for name in ("env", "out", "summary"):
        (tmp / name).write_text("")


@pytest.mark.parametrize("name", list(CASES))
def test_every_line_of_every_path_has_the_one_form(
    name: str,
    nexus: NexusDouble,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = CASES[name]
    closed = closed_url()

    def fill(text: str) -> str:
        return (text.replace("{closed}", closed).replace("{index}", nexus.index_url())
                .replace("{tmp}", str(tmp_path)))

    for var in ("GITHUB_ACTIONS", "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
                "GITHUB_WORKSPACE", "RUNNER_TEMP", "PIPNEXUS_INDEX_URL", "PIPNEXUS_NEXUS_URL",
                "PIPNEXUS_HOOK", "PIPNEXUS_HOOK_SKIP", "PIPNEXUS_HOOK_SOURCE",
                "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE", "PIPNEXUS_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    for var, value in case.env.items():
        monkeypatch.setenv(var, fill(value))
    monkeypatch.chdir(tmp_path)
    _setup(tmp_path)
    try:
        rc = main([fill(a) for a in case.argv])
    except SystemExit as e:
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    assert rc == case.rc, out + err
    checked = err
    if case.stdout == "log":
        checked += out
    elif case.stdout == "lines":
        lines = out.splitlines()
        if lines and lines[-1] in ("healthy", "unhealthy"):
            lines.pop()
        checked += "".join(f"{line}\n" for line in lines)
    assert problems(checked, log=case.stdout == "log") == []
    for want in case.expect:
        assert fill(want) in checked, f"{fill(want)!r} not in:\n{checked}"


# each way a line can break the form, through the same checker
BAD = [
    "warning: Nexus is unhealthy (…); using the fallback index [fallback]",  # no command
    "pipnexus: the job-started hook is off for this job",  # no command, no severity
    "values.yaml: 2 errors",  # neither form
    "pipnexus configure: error: can't write GITHUB_ENV",  # a severity without a code
    "pipnexus configure: note: http://x/simple: unhealthy [refused-ish]",  # an unknown code
    "pipnexus configure: Nexus is unhealthy [fallback]",  # a code without a severity
    "rewrote ci.yml (setup-python-cache, insert-step)",  # migrate's line without its command
    "pipnexus probe: Note: x [nexus-url-is-index]",  # not a severity
    "::warning title=pipnexus [fallback]::Nexus is unhealthy",  # protocol, outside a log
]
GOOD: list[tuple[str, bool]] = [
    ("pipnexus configure: note: http://x/simple: unhealthy (3 ms) [refused]", False),
    ("pipnexus configure: http://x/simple: healthy (3 ms)", False),
    ("ci.yml:3:5: note: job `hosted` runs on GitHub-hosted runners [hosted-job-skipped]", False),
    ("pipnexus migrate: rewrote ci.yml (setup-python-cache, insert-step)", False),
    ("pipnexus: error: a command is required (see 'pipnexus --help') [usage]", False),
    ("::warning title=pipnexus [fallback]::Nexus is unhealthy", True),
    ("::add-mask::secret", True),
]


@pytest.mark.parametrize("line", BAD)
def test_the_checker_refuses_a_line_that_breaks_the_form(line: str) -> None:
    assert problem(line) is not None
    assert problems(f"pipnexus probe: fine\n{line}\n") != []


@pytest.mark.parametrize(("line", "log"), GOOD)
def test_the_checker_takes_each_form(line: str, log: bool) -> None:
    assert problem(line, log) is None
