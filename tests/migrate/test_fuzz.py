"""The rewriter under fire: generated workflows, property-based.

Hypothesis draws workflows from realistic parts (setup-python, actions/cache with a pip-cache-dir
helper, setup-uv, install commands, unrelated steps) rendered with random comments, quoting
(plain, single, double), block and flow styles, anchors and aliases, 2/4-space indentation,
indented or flush sequences, CRLF, a BOM and a missing final newline. For each, `migrate_text`
must not raise, must not report an error (the input is valid), its output must parse, the
independent PyYAML oracle (tests/migrate/oracle.py) must hold, and a second run must change
nothing. Derandomized and database-free, so CI runs the same examples every time.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipnexus.migrate import ALL_CACHES, Options, migrate_text
from tests.migrate import oracle
from tests.migrate.helpers import oracle_options, pyyaml_load

FUZZ = settings(
    max_examples=70, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# A value is a scalar (already quoted as drawn), a list of (key, value) pairs (a mapping), a
# list of scalars (a sequence) or (anchor, collection). Collections render in block or flow style.
Value = Any


class Doc:
    """Renders mappings/sequences with the layout choices drawn once per document."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.ind = draw(st.sampled_from([2, 4]))
        self.flush = draw(st.booleans())  # `steps:\n- a` instead of `steps:\n  - a`
        self.lines: list[str] = []

    def q(self, text: str) -> str:
        """A safe scalar in a drawn quoting style."""
        return str(self.draw(st.sampled_from([text, f"'{text}'", f'"{text}"'])))

    def comment(self) -> str:
        return str(self.draw(st.sampled_from(["", "", "", "  # pip", "  # why: speed", " #x"])))

    def full_comment(self, indent: int) -> None:
        if self.draw(st.integers(0, 5)) == 0:
            self.lines.append(" " * indent + self.draw(st.sampled_from(
                ["# cache pip downloads", "# setup", "#", "# uses: actions/cache@v4"])))

    def flow(self, value: Value) -> str:
        if isinstance(value, str):
            return value
        if value and isinstance(value[0], tuple):
            return "{" + ", ".join(f"{k}: {self.flow(v)}" for k, v in value) + "}"
        return "[" + ", ".join(self.flow(v) for v in value) + "]"

    def block_value(self, value: Value) -> bool:
        """Whether to render a collection in block style (scalars never are)."""
        if isinstance(value, str) or not value:
            return False
        literal = any(isinstance(v, tuple) and isinstance(v[1], str) and v[1].startswith("|")
                      for v in value)  # a `|` block cannot sit inside a flow mapping
        return literal or self.draw(st.integers(0, 3)) > 0

    def mapping(self, pairs: list[tuple[str, Value]], indent: int, first: str = "") -> None:
        """Lines for `pairs` at `indent`; `first` prefixes the first line (a dash)."""
        for i, (key, value) in enumerate(pairs):
            lead = first if i == 0 and first else " " * indent
            anchor = ""
            if isinstance(value, tuple):  # (anchor name, collection)
                anchor, value = f" &{value[0]}", value[1]
            if isinstance(value, str) and value.startswith("|"):
                self.lines.append(f"{lead}{key}: |{self.comment()}")
                self.lines += [" " * (indent + self.ind) + x for x in value[1:].split("\n")]
            elif self.block_value(value):
                self.lines.append(f"{lead}{key}:{anchor}{self.comment()}")
                self.value(value, indent + self.ind)
            else:
                self.lines.append(f"{lead}{key}:{anchor} {self.flow(value)}{self.comment()}")

    def value(self, value: Value, indent: int) -> None:
        assert not isinstance(value, str)
        if isinstance(value[0], tuple):
            self.mapping(value, indent)
        else:
            dash = indent - self.ind if self.flush else indent
            self.lines += [f"{' ' * dash}- {self.flow(v)}" for v in value]

    def steps(self, steps: list[list[tuple[str, Value]] | str], indent: int) -> None:
        dash = indent - self.ind if self.flush else indent
        for step in steps:
            self.full_comment(dash)
            if isinstance(step, str):  # an alias or an anchored step, pre-rendered head
                self.lines.append(f"{' ' * dash}- {step}")
                continue
            gap = self.draw(st.sampled_from([1, 1, 1, 3]))
            self.mapping(step, dash + 1 + gap, first=" " * dash + "-" + " " * gap)


@st.composite
def workflows(draw: Any) -> str:
    d = Doc(draw)
    q = d.q
    caches = draw(st.lists(st.sampled_from(["pip", "pipenv", "poetry"]), min_size=1, max_size=3))
    with_anchor = draw(st.booleans())
    anchored: list[bool] = []

    def setup_python() -> list[tuple[str, Value]]:
        with_: list[tuple[str, Value]] = [("python-version", q("3.12"))]
        if draw(st.booleans()):
            with_.append(("cache", q(draw(st.sampled_from(caches)))))
        if draw(st.booleans()):
            with_.append(("cache-dependency-path", q("requirements.txt")))
        draw(st.randoms()).shuffle(with_)
        step: list[tuple[str, Value]] = [
            ("uses", q("actions/setup-python@" + draw(st.sampled_from(
                ["v5", "a26af69be951a213d495a4c3e4e4022e16d87065"]))))]
        if draw(st.booleans()):
            step.insert(0, ("name", q("Set up Python")))
        # a `with:` mapping anchored once and reused by alias in later setup-python steps
        if with_anchor and not anchored:
            anchored.append(True)
            step.append(("with", ("pyw", with_)))
        elif anchored and draw(st.booleans()):
            step.append(("with", "*pyw"))
        else:
            step.append(("with", with_))
        return step

    def cache_step(helper: bool) -> list[tuple[str, Value]]:
        paths = draw(st.sampled_from([
            ["~/.cache/pip"], ["~/.cache/pip", "~/.cache/pypoetry"],
            ["~/.cache/pip", "node_modules"], ["~/.cache/uv"], [".tox"],
        ]))
        if helper:
            paths = ["${{ steps.pipdir.outputs.dir }}"]
        path: Value = q(paths[0]) if len(paths) == 1 and "${{" not in paths[0] else (
            "|" + "\n".join(paths))
        step: list[tuple[str, Value]] = [
            ("uses", q(draw(st.sampled_from(
                ["actions/cache@v4", "actions/cache/restore@v4", "actions/cache/save@v4"])))),
            ("with", [("path", path), ("key", q("pip-key"))]),
        ]
        if draw(st.booleans()):
            step.insert(0, ("id", q("cache")))
        return step

    def setup_uv() -> list[tuple[str, Value]]:
        # enable-cache (or none: `auto`), cache-python and inputs only the cache reads, with
        # cache-local-path (read whether the cache is on or not) and python-version
        with_: list[tuple[str, Value]] = []
        inputs: list[tuple[str, list[str]]] = [
            ("enable-cache", ["true", "'true'", "false", "auto", "${{ inputs.cache }}"]),
            ("cache-python", ["true", "'true'", "false", "${{ inputs.python }}"]),
            ("cache-dependency-glob", [q("uv.lock"), "|**/uv.lock\n**/pyproject.toml"]),
            ("cache-suffix", [q("py312")]), ("save-cache", ["false"]),
            ("prune-cache", ["'false'"]), ("cache-local-path", [q("/tmp/uv")]),
            ("python-version", [q("3.12")]),
        ]
        for key, values in inputs:
            if draw(st.booleans()):
                value = draw(st.sampled_from(values))
                if value.startswith("$"):  # (quoted: `{` would open a flow mapping)
                    value = draw(st.sampled_from([f"'{value}'", f'"{value}"']))
                with_.append((key, value))
        draw(st.randoms()).shuffle(with_)
        step: list[tuple[str, Value]] = [("uses", q("astral-sh/setup-uv@v6"))]
        return [*step, ("with", with_)] if with_ else step

    pool: dict[str, Any] = {
        "checkout": lambda: [("uses", q("actions/checkout@v4"))],
        "setup-python": setup_python,
        "cache": lambda: cache_step(False),
        "helper+cache": None,  # two steps, below
        "setup-uv": setup_uv,
        "install": lambda: [("run", draw(st.sampled_from(
            ["pip install -r requirements.txt", "python -m pip install .",
             "|pip install .\npytest", "uv pip install ."])))],
        "other": lambda: [("uses", q("actions/upload-artifact@v4")),
                          ("with", [("name", q("dist")), ("path", q("dist/"))])],
        "make": lambda: [("run", q("make test"))],
    }

    def job_steps() -> list[list[tuple[str, Value]] | str]:
        kinds = draw(st.lists(st.sampled_from(list(pool)), min_size=1, max_size=6))
        out: list[list[tuple[str, Value]] | str] = []
        for kind in kinds:
            if kind == "helper+cache":
                out.append([("id", "pipdir"),
                            ("run", 'echo "dir=$(pip cache dir)" >> "$GITHUB_OUTPUT"')])
                out.append(cache_step(True))
            else:
                out.append(pool[kind]())
        return out

    on = draw(st.sampled_from(["on: push", '"on": [push, pull_request]', "on:\n  push:",
                               "'on': {push: {branches: [main]}}"]))
    d.lines += ([q("name") + ": " + q("CI") + d.comment()] if draw(st.booleans()) else [])
    d.lines += on.replace("\n  ", "\n" + " " * d.ind).split("\n")
    d.lines.append("jobs:" + d.comment())
    anchor_step = draw(st.booleans())
    n_jobs = draw(st.integers(1, 3))
    for j in range(n_jobs):
        d.full_comment(d.ind)
        d.lines.append(" " * d.ind + f"job{j}:")
        inner = 2 * d.ind
        # GitHub-hosted, an ARC scale set, self-hosted labels, a matrix value, an expression
        runs_on: Value = draw(st.sampled_from([
            q("ubuntu-latest"), q("arc-runner-set"), ["self-hosted", "linux"],
            q("${{ matrix.os }}"), q("${{ inputs.runner }}"),
        ]))
        d.mapping([("runs-on", runs_on)], inner)
        matrix: list[tuple[str, Value]] = []
        if draw(st.booleans()):
            matrix.append(("python", ["'3.11'", "'3.12'"]))
        if "matrix.os" in str(runs_on) and draw(st.integers(0, 3)):
            matrix.append(("os", draw(st.sampled_from([
                ["ubuntu-latest", "windows-2022"], ["arc-a", "arc-b"],
                ["ubuntu-24.04-arm", "arc-runner-set"]]))))
        if matrix:
            d.mapping([("strategy", [("matrix", matrix)])], inner)
        steps = job_steps()
        if anchor_step and j == 0:
            # an anchored setup-python step, reused by alias in the later jobs
            d.lines.append(" " * inner + "steps:")
            d.steps(steps, inner + d.ind)
            dash = inner + d.ind - (d.ind if d.flush else 0)
            head = f"{' ' * dash}- &setup"
            d.lines.append(head)
            d.mapping(setup_python(), dash + 2)
        elif anchor_step:
            d.lines.append(" " * inner + "steps:")
            d.steps(["*setup", *steps], inner + d.ind)
        else:
            d.lines.append(" " * inner + "steps:" + d.comment())
            d.steps(steps, inner + d.ind)
    text = "\n".join(d.lines) + "\n"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.integers(0, 3)) == 0:
        text = text.rstrip("\r\n")
    if draw(st.integers(0, 3)) == 0:
        text = "\ufeff" + text
    return text


def check(text: str, options: Options) -> None:
    pyyaml_load(text)  # the generator makes valid YAML
    result = migrate_text(text, "fuzz.yml", options)
    assert result.error is None, (result.error, text)
    new = result.new_text
    got = pyyaml_load(new)
    want = oracle.expected(pyyaml_load(text), text, set(options.caches), options.strategy,
                           **oracle_options(options))
    assert got == want, (text, new)
    again = migrate_text(new, "fuzz.yml", options)
    assert again.error is None and again.changes == () and again.new_text == new, (text, new)
    assert new.startswith("\ufeff") == text.startswith("\ufeff")
    assert new.endswith("\n") == text.endswith("\n")
    if "\r\n" in text:
        assert "\n" not in new.replace("\r\n", "")


@pytest.mark.slow
@FUZZ
@given(text=workflows())
def test_fuzz_remove(text: str) -> None:
    check(text, Options())


@pytest.mark.slow
@FUZZ
@given(text=workflows(), runners=st.sampled_from([None, ["arc-runner-set"], ["arc-a", "linux"]]))
def test_fuzz_all_jobs_and_runners(text: str, runners: list[str] | None) -> None:
    check(text, Options(all_jobs=True))
    check(text, Options(runners=None if runners is None else frozenset(runners),
                        step_inputs=(("nexus-url", "http://nexus.ops.svc:8081"),)))


@pytest.mark.slow
@FUZZ
@given(text=workflows(), caches=st.sets(st.sampled_from(ALL_CACHES), min_size=1))
def test_fuzz_conditional(text: str, caches: set[str]) -> None:
    check(text, Options(strategy="conditional", caches=frozenset(caches)))


@pytest.mark.slow
@FUZZ
@given(text=workflows(), all_jobs=st.booleans())
def test_fuzz_hook(text: str, all_jobs: bool) -> None:
    check(text, Options(strategy="hook", all_jobs=all_jobs))


@pytest.mark.slow
@FUZZ
@given(text=workflows(), first=st.sampled_from(["remove", "conditional", "hook"]),
       then=st.sampled_from(["remove", "conditional", "hook"]), all_jobs=st.booleans())
def test_fuzz_one_strategy_after_another(text: str, first: str, then: str,
                                         all_jobs: bool) -> None:
    """A file migrated with one strategy, then with another (every job, or only some, the
    second time): what the oracle says."""
    migrated = migrate_text(text, "fuzz.yml", Options(strategy=first)).new_text
    check(migrated, Options(strategy=then, all_jobs=all_jobs))


@pytest.mark.slow
@FUZZ
@given(text=workflows())
def test_fuzz_repin_after_migrating(text: str) -> None:
    """A migrated workflow re-pinned to a SHA with its version comment, then pinned back."""
    migrated = migrate_text(text, "fuzz.yml", Options()).new_text
    sha = "pipnexus/pipnexus@" + "0123456789abcdef" * 2 + "01234567"
    check(migrated, Options(action_ref=sha, action_comment="v1.0.0", repin=True))
    check(migrated, Options(action_ref=sha, repin=True, strategy="conditional"))


@pytest.mark.slow  # 60 generated workflows: 1.2 s of CPU, like the other fuzzers
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(text=workflows(), data=st.data())
def test_fuzz_mangled_never_raises(text: str, data: st.DataObject) -> None:
    """Cut, duplicated or corrupted workflows: an error result or a valid rewrite, no raise."""
    cut = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.sampled_from(
        ["", "\t", ":", "- ", "[", "{", "&a ", "*a", "'", "\r", "? ", "&b\n",
         "\x85", "\u2028"]))  # (YAML 1.1 line breaks that YAML 1.2 reads as text)
    mangled = text[:cut] + junk + text[cut:]
    result = migrate_text(mangled, "fuzz.yml", Options())
    try:
        pyyaml_load(mangled)
    except yaml.YAMLError:
        return  # PyYAML (YAML 1.1) can't judge what it can't read
    if result.error is None and result.changes:
        pyyaml_load(result.new_text)
        again = migrate_text(result.new_text, "fuzz.yml", Options())
        assert again.changes == ()
