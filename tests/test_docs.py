"""The documentation a clone gets is complete and self-contained.

* docs/diagnostics.md documents every code of ``pipnexus.diagnostics.CODES`` (a section with an
  example line in the one diagnostic format and a fix), and no code that does not exist; the
  codes that name migrate's changes (its rules' names) are not printed as diagnostics, so their
  example is the summary line or the ``--format json`` change that names them;
* README.md stays short (the depth is in docs/) and its action tables list exactly the inputs
  and outputs of action.yml;
* docs, README, CONTRIBUTING, CHANGELOG, bench/README.md and pyproject.toml name no machine
  path, no design note outside the repository and no bare issue number: a reader has only the
  clone and public sources (``owner/repo#N`` of an upstream issue is fine);
* relative links in them point at files that exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipnexus.diagnostics import CODES
from pipnexus.migrate.plugin import registered
from tests.messages import LINE

ROOT = Path(__file__).resolve().parents[1]
DIAGNOSTICS = ROOT / "docs" / "diagnostics.md"
README = ROOT / "README.md"
README_LIMIT = 15 * 1024
SECTION = re.compile(r"^### `([^`]+)`\s*$", re.M)
# codes that name a change of `pipnexus migrate` (a rule), not a diagnostic
CHANGE_CODES = {rule.name for rule in registered()} & set(CODES)


def _docs() -> list[Path]:
    files = [README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", ROOT / "bench" / "README.md",
             ROOT / "pyproject.toml", ROOT / "examples" / "arc" / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    return [f for f in files if f.is_file()]


def _sections() -> dict[str, str]:
    text = DIAGNOSTICS.read_text(encoding="utf-8")
    parts = SECTION.split(text)
    # parts: [before, code1, body1, code2, body2, ...]; a body ends at the next heading
    return {code: re.split(r"^#{1,3} ", body, flags=re.M)[0]
            for code, body in zip(parts[1::2], parts[2::2])}


def test_every_code_has_a_section_and_every_section_is_a_code() -> None:
    documented = list(_sections())
    assert len(documented) == len(set(documented)), "a code is documented twice"
    assert not set(CODES) - set(documented), f"undocumented: {sorted(set(CODES) - set(documented))}"
    assert not set(documented) - set(CODES), f"no such code: {sorted(set(documented) - set(CODES))}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_has_an_example_line_and_a_fix(code: str) -> None:
    body = _sections().get(code, "")
    name = re.escape(code)
    if code in CHANGE_CODES:
        summary = re.compile(
            rf"^pipnexus migrate: (rewrote|would rewrite) \S+ \((.+, )?{name}( x\d+)?(, .+)?\)$",
            re.M)
        assert summary.search(body), f"{code}: no example `pipnexus migrate: rewrote PATH ({code})`"
        assert f'"rule": "{code}"' in body, f"{code}: no example of its --format json change"
    else:
        # a place (path:line:col), or the command (pipnexus nexus apply): the one form
        examples = [m for m in map(LINE.fullmatch, body.splitlines()) if m and m["code"] == code]
        wanted = f"path:line:col: severity: message [{code}]` or `pipnexus COMMAND: …"
        assert examples, f"{code}: no example `{wanted}`"
    assert re.search(r"^Fix:", body, re.M), f"{code}: no `Fix:` paragraph"


def test_readme_is_short() -> None:
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move the depth to docs/"


def _table_names(text: str, header: str) -> set[str]:
    """First-column names of the Markdown table whose header starts with ``| header |``."""
    block = text.split(f"| {header} |", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([a-z-]+)` \|", block, re.M))


@pytest.mark.parametrize("page", [README, ROOT / "docs" / "action.md"], ids=["README", "action"])
def test_action_tables_match_action_yml(page: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    text = page.read_text(encoding="utf-8")
    assert _table_names(text, "Input") == set(action["inputs"])
    assert _table_names(text, "Output") == set(action["outputs"])


FORBIDDEN = [
    (re.compile(r"/work/|/root/|/home/"), "a machine path"),
    (re.compile(r"\.\./shared|shared/design"), "a design note outside the repository"),
    (re.compile(r"(?i)(?<![\w/#-])issues?\s*#?\d+\b"), "a bare issue number"),
]


@pytest.mark.parametrize("path", _docs(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_cite_only_what_a_reader_has(path: Path) -> None:
    bad = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        bad += [f"{path.relative_to(ROOT)}:{n}: {why}: {line.strip()}"
                for pattern, why in FORBIDDEN if pattern.search(line)]
    assert not bad, "\n".join(bad)


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("path", [p for p in _docs() if p.suffix == ".md"],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path: Path) -> None:
    missing = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        resolved = (path.parent / target).resolve()
        if not resolved.exists():
            missing.append(target)
    assert not missing, f"{path.relative_to(ROOT)}: broken links {missing}"


def test_the_forbidden_patterns_catch_what_they_should() -> None:
    for text in ("see ../shared/design/nexus-facts.md", "(issue 7)", "Issue #12",
                 "/work/main/.venv/bin/python", "/root/.cache", "/home/runner"):
        assert any(p.search(text) for p, _ in FORBIDDEN), text
    for text in ("astral-sh/uv#6349", "actions/cache#928", "GitHub issues", "nexus-public#296"):
        assert not any(p.search(text) for p, _ in FORBIDDEN), text


# --- one description of each code, one list of reasons ----------------------------------

CODE_LINK = re.compile(r"\[`([a-z0-9-]+)`\]\(diagnostics\.md#([a-z0-9-]+)\)")
TABLE_CELL = re.compile(r"(?<=\|) *`([a-z0-9-]+)`( \((?:note|error|warning)\))? *(?=\|)")


@pytest.mark.parametrize("path", [p for p in _docs() if p.suffix == ".md" and p != DIAGNOSTICS],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_codes_are_described_only_in_diagnostics_md(path: Path) -> None:
    """Other pages name a code as a link to its section, never in a table of their own."""
    text = path.read_text(encoding="utf-8")
    bare = [f"{path.name}:{n}: `{m.group(1)}`"
            for n, line in enumerate(text.splitlines(), 1) if line.startswith("|")
            for m in TABLE_CELL.finditer(line)
            if m.group(1) in CODES and m.group(1) not in CHANGE_CODES]
    why = "a code in a table cell: link it to docs/diagnostics.md instead"
    assert not bare, "\n".join([why, *bare])
    sections = _sections()
    for code, anchor in CODE_LINK.findall(text):
        link = f"{path.name}: [{code}](diagnostics.md#{anchor})"
        assert code == anchor and code in sections, link


def test_the_code_table_check_catches_a_copied_table() -> None:
    assert TABLE_CELL.search("| `yaml-syntax` | error | not valid YAML |")
    assert TABLE_CELL.search("| 404 | `docker-not-registry` | that port |")
    assert TABLE_CELL.search("| 5xx | `docker-pull` (note) |")
    assert not TABLE_CELL.search("| [`yaml-syntax`](diagnostics.md#yaml-syntax) | error |")


def _reasons_in(text: str, first: str, last: str) -> list[str]:
    """The slugs from ``first`` to ``last`` in a written list such as
    'dns, refused, ... bad-response; not-configured when ...' (backticks or not)."""
    start = text.index(first)
    end = text.index(last, start) + len(last)
    return re.findall(r"[a-z]+(?:-[a-z]+)*", text[start:end])


def _reason_places() -> dict[str, str]:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    row = re.compile(r"^\| `reason` \|.*$", re.M)

    def found(pattern: re.Pattern[str], text: str) -> str:
        match = pattern.search(text)
        assert match, pattern.pattern
        return match.group(0)

    return {
        "action.yml outputs.reason": action["outputs"]["reason"]["description"],
        "README.md outputs table": found(row, README.read_text(encoding="utf-8")),
        "docs/action.md outputs table": found(
            row, (ROOT / "docs" / "action.md").read_text(encoding="utf-8")),
    }


@pytest.mark.parametrize("place", sorted(_reason_places()))
def test_reason_lists_are_classify_reasons(place: str) -> None:
    """``probe.classify.REASONS`` is the one list; every place a user reads it in agrees."""
    from pipnexus.probe.classify import REASONS

    listed = _reasons_in(_reason_places()[place], REASONS[0], REASONS[-1])
    assert listed == list(REASONS), f"{place} lists {listed}"


def test_probe_help_lists_the_probe_reasons() -> None:
    from pipnexus.cli import COMMANDS
    from pipnexus.probe.classify import PROBE_REASONS

    probe = next(c for c in COMMANDS if c.name == "probe")
    listed = _reasons_in(probe.description, PROBE_REASONS[0], PROBE_REASONS[-1])
    assert listed == list(PROBE_REASONS)


def test_action_md_explains_every_reason() -> None:
    from pipnexus.probe.classify import PROBE_REASONS, REASONS

    text = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    table = text.split("| `reason` | What happened |", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^\| `([a-z-]+)` \|", table, re.M) == list(PROBE_REASONS)
    # the one reason that is not the probe's has its own section
    (configure_only,) = set(REASONS) - set(PROBE_REASONS)
    assert "## Not configured" in text and f"`reason: {configure_only}`" in text


def test_the_reason_list_reader_sees_a_missing_or_extra_reason() -> None:
    assert _reasons_in("(dns, refused, tls; x)", "dns", "tls") == ["dns", "refused", "tls"]
    assert _reasons_in("`dns`, `refused`, `extra`, `tls`", "dns", "tls") == [
        "dns", "refused", "extra", "tls"]


def test_action_md_lists_every_variable_configure_sets() -> None:
    """docs/action.md's "What it sets" table and its extra-source list follow
    ``configure.installers`` (the one table of variables)."""
    from pipnexus.configure import installers

    text = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    table = text.split("| Variable | Value | For |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", "\n".join(
        line.split("|")[1] for line in table.splitlines()[2:])))
    written = {v.name for v in installers.VARIABLES} | {installers.PYTHON_MIRROR_VARIABLE.name}
    assert documented == written | {"PIP_CONFIG_FILE"}  # the last only with pip-conf: file
    extra = text.split("Extra sources already set in the runner's environment", 1)[1]
    listed = re.findall(r"`([A-Z][A-Z0-9_]+)`", extra.split(":", 1)[0])
    assert listed == list(installers.EXTRA_SOURCE_VARS)


def test_nexus_md_names_the_known_versions() -> None:
    """docs/nexus.md's "Which Nexus version" follows ``nexus.schema``: the newest and oldest
    known, and every version the table was checked against."""
    from pipnexus.nexus import schema

    text = (ROOT / "docs" / "nexus.md").read_text(encoding="utf-8")
    section = text.split("### Which Nexus version", 1)[1].split("\n#", 1)[0]
    assert f"the newest known ({schema.NEWEST})" in section
    assert f"the oldest known rules ({schema.OLDEST})" in section
    named = set(re.findall(r"\b3\.\d+\.\d+\b", section))
    assert {str(v) for v in schema.KNOWN_VERSIONS} <= named
