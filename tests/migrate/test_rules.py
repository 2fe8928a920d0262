"""Each registered rule on its own (the driver run with that one rule), and the registry."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipnexus.diagnostics import CODES
from pipnexus.migrate import DEFAULT_ACTION_REF, MigrateResult, Options, driver
from pipnexus.migrate.plugin import RULE_MODULES, Context, Item, Rule, registered
from pipnexus.migrate.strategy import STRATEGIES
from tests.migrate.helpers import decode, fixtures

RULES = {rule.name: rule for rule in registered()}
RULES_DIR = Path(driver.__file__).parent / "rules"
JOB = "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n"


def run(rule: str, steps: str, **options: Any) -> MigrateResult:
    return driver.migrate_text(JOB + steps, "ci.yml", Options()._replace(**options),
                               rules=[RULES[rule]])


def codes(result: MigrateResult) -> list[str]:
    return [d.code for d in result.findings]


# ---------------------------------------------------------------- the registry


def test_registry_order_and_names() -> None:
    assert [r.name for r in registered()] == [
        "setup-python-cache", "setup-uv-cache", "actions-cache", "insert-step", "repin", "report",
    ]
    assert [r.module.rsplit(".", 1)[-1] for r in registered()] == list(RULE_MODULES)


def test_every_code_is_documented_in_diagnostics() -> None:
    changes = {r.name for r in registered() if r.name != "report"}
    emitted = {c for r in registered() for c in r.codes} | set(driver.CODES)
    assert changes <= set(CODES)
    assert emitted <= set(CODES)


@pytest.mark.slow  # every rule alone over every golden fixture: 2 s of CPU
def test_rules_emit_only_their_declared_codes() -> None:
    """Over every golden fixture, a rule run alone emits only the codes it registered."""
    for fx in fixtures():
        for rule in registered():
            result = driver.migrate_text(decode(fx.before), fx.name, fx.options, rules=[rule])
            assert set(codes(result)) <= set(rule.codes) | set(driver.CODES), (fx.name, rule)
            assert {c.rule for c in result.changes} <= {rule.name}


def test_no_rule_module_imports_another_or_tests_the_strategy_name() -> None:
    names = set(STRATEGIES)
    for path in RULES_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("pipnexus.migrate.rules"), path.name
            if isinstance(node, ast.Constant):
                assert node.value not in names, (path.name, node.value)


def test_a_custom_rule_gets_the_context() -> None:
    seen: list[str] = []

    def fix(ctx: Context) -> Iterator[Item]:
        seen.append(type(ctx).__name__)
        yield from ()

    driver.migrate_text(JOB + "      - run: pip install .\n", rules=[Rule("x", (), fix, "t")])
    assert seen == ["Context"]


# ---------------------------------------------------------------- setup-python-cache

SETUP_PYTHON = (
    "      - uses: actions/setup-python@v5\n        with:\n          cache: {value}\n"
    "          cache-dependency-path: req.txt\n          python-version: '3.12'\n"
)


def test_setup_python_removes_cache_and_dependency_path() -> None:
    result = run("setup-python-cache", SETUP_PYTHON.format(value="poetry"))
    assert "cache" not in result.new_text.split("with:")[1].replace("python-version", "")
    assert [c.message for c in result.changes] == ["setup-python: removed `cache: poetry`"]


def test_setup_python_conditional_gates_and_remove_undoes_it() -> None:
    gated = run("setup-python-cache", SETUP_PYTHON.format(value="pip"), strategy="conditional")
    assert "cache: ${{ steps.pipnexus.outputs.source != 'nexus' && 'pip' || '' }}" in (
        gated.new_text)
    assert "cache-dependency-path: req.txt" in gated.new_text
    again = driver.migrate_text(gated.new_text, rules=[RULES["setup-python-cache"]],
                                options=Options(strategy="conditional"))
    assert again.changes == ()
    undone = driver.migrate_text(gated.new_text, rules=[RULES["setup-python-cache"]])
    assert "cache" not in undone.new_text.split("with:")[1].replace("python-version", "")


def test_setup_python_expression_is_reported_not_changed() -> None:
    result = run("setup-python-cache", SETUP_PYTHON.format(value="${{ matrix.cache }}"))
    assert result.changes == () and codes(result) == ["cache-expression"]
    (d,) = result.findings
    assert (d.path, d.line, d.col, d.severity) == ("ci.yml", 8, 18, "warning")


def test_setup_python_respects_caches() -> None:
    result = run("setup-python-cache", SETUP_PYTHON.format(value="pip"), caches=frozenset({"uv"}))
    assert result.changes == () and result.findings == ()


# ---------------------------------------------------------------- setup-uv-cache

SETUP_UV = "      - uses: astral-sh/setup-uv@v6\n        with:\n          enable-cache: {value}\n" \
    "          cache-dependency-glob: uv.lock\n"


def test_setup_uv_removes_the_whole_with() -> None:
    result = run("setup-uv-cache", SETUP_UV.format(value="true"))
    assert result.new_text == JOB + "      - uses: astral-sh/setup-uv@v6\n"


def test_setup_uv_false_keeps_the_key_but_drops_the_inputs_it_disables() -> None:
    result = run("setup-uv-cache", SETUP_UV.format(value="false"))
    assert result.new_text == JOB + (
        "      - uses: astral-sh/setup-uv@v6\n        with:\n          enable-cache: false\n")
    assert [c.message for c in result.changes] == [
        "setup-uv: removed `cache-dependency-glob` (only used while the GitHub cache is on, "
        "and it is off)"]
    assert run("setup-uv-cache", SETUP_UV.format(value="false"), strategy="conditional"
               ).changes == ()


SETUP_UV_ALL = (
    "      - uses: astral-sh/setup-uv@v6\n        with:\n{enable}"
    "          cache-python: {python}\n"
    "          python-version: '3.13'\n"
    "          restore-cache: true\n"
    "          save-cache: ${{{{ github.ref == 'refs/heads/main' }}}}\n"
    "          cache-suffix: py313\n          cache-local-path: /tmp/uv-cache\n"
    "          prune-cache: false\n          ignore-nothing-to-cache: true\n"
    "      - run: uv sync\n"
)
KEPT = (
    "      - uses: astral-sh/setup-uv@v6\n        with:\n{enable}"
    "          python-version: '3.13'\n          cache-local-path: /tmp/uv-cache\n"
    "      - run: uv sync\n"
)


@pytest.mark.parametrize("enable", [
    "          enable-cache: true\n", "          enable-cache: 'false'\n",
    "          enable-cache: auto\n", "",
])
def test_setup_uv_cache_python_and_the_cache_only_inputs(enable: str) -> None:
    """Once the cache is off, every input only the cache reads goes; cache-local-path stays
    (setup-uv exports it as UV_CACHE_DIR either way)."""
    result = run("setup-uv-cache", SETUP_UV_ALL.format(enable=enable, python="true"))
    left = "" if "true" in enable else enable
    assert result.new_text == JOB + KEPT.format(enable=left)
    (change,) = result.changes
    removed = ("`cache-python: true`, `restore-cache`, `save-cache`, `cache-suffix`, "
               "`prune-cache`, `ignore-nothing-to-cache`")
    first = "`enable-cache: true`, " if "true" in enable else ""
    assert change.message == f"setup-uv: removed {first}{removed}"
    again = driver.migrate_text(result.new_text, rules=[RULES["setup-uv-cache"]])
    assert again.changes == ()


def test_setup_uv_an_expression_or_another_cache_keeps_the_inputs() -> None:
    steps = SETUP_UV_ALL.format(enable="          enable-cache: ${{ inputs.cache }}\n",
                                python="${{ inputs.python-cache }}")
    result = run("setup-uv-cache", steps)
    assert result.changes == () and codes(result) == ["cache-expression", "cache-expression"]
    assert [(d.line, d.col) for d in result.findings] == [(8, 25), (9, 25)]
    assert "`cache-python: ${{ inputs.python-cache }}` is an expression" in (
        result.findings[1].message)
    # the cache is off, but an expression in cache-python is still only reported
    off = run("setup-uv-cache", SETUP_UV_ALL.format(enable="", python="${{ inputs.p }}"))
    assert codes(off) == ["cache-expression"]
    assert "cache-python: ${{ inputs.p }}" in off.new_text and "cache-suffix" not in off.new_text
    # --caches without uv: the whole rule is off
    steps = SETUP_UV_ALL.format(enable="          enable-cache: true\n", python="true")
    assert run("setup-uv-cache", steps, caches=frozenset({"pip"})).changes == ()


def test_setup_uv_conditional_gates_cache_python_and_keeps_the_rest() -> None:
    steps = SETUP_UV_ALL.format(enable="          enable-cache: true\n", python="'true'")
    gated = run("setup-uv-cache", steps, strategy="conditional")
    gate = "${{ steps.pipnexus.outputs.source != 'nexus' }}"
    assert [c.message for c in gated.changes] == [
        "setup-uv: `enable-cache: true` only when the job is not using Nexus",
        "setup-uv: `cache-python: true` only when the job is not using Nexus",
    ]
    assert f"enable-cache: {gate}\n" in gated.new_text
    assert f"cache-python: {gate}\n" in gated.new_text
    assert "cache-suffix: py313" in gated.new_text and "prune-cache: false" in gated.new_text
    again = driver.migrate_text(gated.new_text, rules=[RULES["setup-uv-cache"]],
                                options=Options(strategy="conditional"))
    assert again.changes == ()
    # `remove` undoes the gates and drops what only the cache read
    undone = driver.migrate_text(gated.new_text, rules=[RULES["setup-uv-cache"]])
    assert undone.new_text == JOB + KEPT.format(enable="")
    (change,) = undone.changes
    assert change.message.startswith("setup-uv: removed `enable-cache`, `cache-python`, ")


def test_setup_uv_only_cache_inputs_remove_the_with() -> None:
    flow = ("      - uses: astral-sh/setup-uv@v6\n"
            "        with: {cache-python: true, cache-suffix: x}\n")
    result = run("setup-uv-cache", flow)
    assert result.new_text == JOB + "      - uses: astral-sh/setup-uv@v6\n"
    block = ("      - uses: astral-sh/setup-uv@v6\n        with:\n"
             "          # only with the cache\n          save-cache: false  # PRs\n")
    assert run("setup-uv-cache", block).new_text == JOB + "      - uses: astral-sh/setup-uv@v6\n"


def test_setup_uv_conditional() -> None:
    result = run("setup-uv-cache", SETUP_UV.format(value="true"), strategy="conditional")
    assert "enable-cache: ${{ steps.pipnexus.outputs.source != 'nexus' }}" in result.new_text


# ---------------------------------------------------------------- actions-cache

CACHE = (
    "      - id: pip-dir\n        run: echo \"dir=$(pip cache dir)\" >> $GITHUB_OUTPUT\n"
    "      - id: c\n        uses: actions/cache@v4\n"
    "        with:\n          path: ${{ steps.pip-dir.outputs.dir }}\n          key: k\n"
    "      - if: steps.c.outputs.cache-hit != 'true'\n        run: pip install .\n"
)


def test_actions_cache_removes_the_step_and_its_helper() -> None:
    unread = CACHE.replace("if: steps.c.outputs.cache-hit != 'true'", "if: github.ref")
    result = run("actions-cache", unread)
    assert [c.message for c in result.changes] == [  # in the order of the lines
        "removed step `pip-dir` that only fed the removed cache",
        "actions/cache: removed the step caching ${{ steps.pip-dir.outputs.dir }}",
    ]
    assert codes(result) == []
    assert result.new_text == JOB + "      - if: github.ref\n        run: pip install .\n"


def test_actions_cache_keeps_gated_a_step_whose_outputs_another_step_reads() -> None:
    """Removed, `steps.c` would name no step: GitHub reads '' but actionlint reports
    `property "c" is not defined`. So `remove` keeps it, skipped when using Nexus (this used
    to remove it with a cache-hit-reference warning)."""
    result = run("actions-cache", CACHE)
    assert [c.message for c in result.changes] == [
        "actions/cache: restore ${{ steps.pip-dir.outputs.dir }} only when not using Nexus "
        "(kept: another step reads its outputs)",
    ]
    assert codes(result) == []
    assert "        if: steps.pipnexus.outputs.source != 'nexus'\n" in result.new_text
    assert "pip cache dir" in result.new_text  # its helper stays: the step still reads it


def test_actions_cache_conditional_gates_and_keeps_the_helper() -> None:
    result = run("actions-cache", CACHE, strategy="conditional")
    assert [c.rule for c in result.changes] == ["actions-cache"]
    assert "        if: steps.pipnexus.outputs.source != 'nexus'\n" in result.new_text
    assert "pip cache dir" in result.new_text and codes(result) == []


def test_actions_cache_trims_a_mixed_block_and_keeps_venvs() -> None:
    steps = (
        "      - uses: actions/cache@v4\n        with:\n          path: |\n"
        "            ~/.cache/pip\n            .venv\n            node_modules\n          key: k\n"
        "      - run: pip install .\n"
    )
    result = run("actions-cache", steps)
    assert "~/.cache/pip" not in result.new_text and "node_modules" in result.new_text
    assert codes(result) == ["venv-cache-kept"]
    assert run("actions-cache", steps, strategy="conditional").changes == ()
    assert codes(run("actions-cache", steps, strategy="conditional")) == [
        "mixed-cache-kept", "venv-cache-kept"]  # one place: by code


# ---------------------------------------------------------------- insert-step

INSTALL = "      - uses: actions/setup-python@v5\n      - run: pip install .\n"


def test_insert_step_after_setup_with_a_comment_ref() -> None:
    result = run("insert-step", INSTALL, action_ref="o/r@" + "a" * 40, action_comment="v1.0.0")
    assert result.new_text == JOB + (
        "      - uses: actions/setup-python@v5\n"
        "      - name: Use the in-cluster PyPI proxy\n        id: pipnexus\n"
        f"        uses: o/r@{'a' * 40} # v1.0.0\n"
        "      - run: pip install .\n"
    )


def test_insert_step_not_when_nothing_installs() -> None:
    assert run("insert-step", "      - run: make\n").changes == ()


# ---------------------------------------------------------------- repin

PINNED = "      - id: pipnexus\n        uses: pipnexus/pipnexus@v1 # v1.0.0\n" + INSTALL


def test_repin_only_with_an_explicit_action_ref() -> None:
    assert run("repin", PINNED, action_ref="pipnexus/pipnexus@v2").changes == ()
    result = run("repin", PINNED, action_ref="pipnexus/pipnexus@v2", repin=True)
    assert "        uses: pipnexus/pipnexus@v2\n" in result.new_text  # stale version comment
    assert [c.rule for c in result.changes] == ["repin"]


def test_repin_idempotent_and_updates_the_comment() -> None:
    sha = "pipnexus/pipnexus@" + "b" * 40
    result = run("repin", PINNED, action_ref=sha, action_comment="v2.0.0", repin=True)
    assert f"        uses: {sha} # v2.0.0\n" in result.new_text
    again = driver.migrate_text(
        result.new_text, options=Options(action_ref=sha, action_comment="v2.0.0", repin=True),
        rules=[RULES["repin"]],
    )
    assert again.changes == ()


def test_repin_leaves_other_actions_and_same_ref_alone() -> None:
    steps = "      - uses: actions/checkout@v4 # v4.2.2\n" + PINNED
    result = run("repin", steps, action_ref="pipnexus/pipnexus@v1", repin=True)
    assert result.changes == ()


@pytest.mark.parametrize("strategy", ["remove", "conditional"])  # (`hook` inserts no step)
def test_default_ref_is_this_versions_major_tag(strategy: str) -> None:
    from pipnexus import ACTION_REPOSITORY, __version__

    assert f"{ACTION_REPOSITORY}@v{__version__.split('.')[0]}" == DEFAULT_ACTION_REF
    assert run("insert-step", INSTALL, strategy=strategy).new_text.count(DEFAULT_ACTION_REF) == 1


# ---------------------------------------------------------------- report


def test_report_findings_are_diagnostics_of_the_file() -> None:
    steps = "      - run: pip install -i https://x.example/simple .\n"
    result = run("report", steps)
    assert result.changes == ()
    (d,) = result.findings
    assert (d.severity, d.code, d.path, d.line) == ("warning", "index-url-in-run", "ci.yml", 6)


def test_a_fork_ref_re_pins_and_never_inserts_a_second_step() -> None:
    steps = "      - uses: pipnexus/pipnexus@v1\n" + INSTALL
    options = Options(action_ref="acme/pypi-proxy@v2", repin=True)
    result = driver.migrate_text(JOB + steps, options=options)
    assert [c.rule for c in result.changes] == ["repin"]
    assert result.new_text == JOB + steps.replace("pipnexus/pipnexus@v1", "acme/pypi-proxy@v2")


def test_strategy_objects_match_the_cli_choices() -> None:
    from pipnexus.migrate import model

    assert tuple(STRATEGIES) == model.STRATEGIES
    assert all(name == strategy.name for name, strategy in STRATEGIES.items())


@pytest.mark.parametrize(
    "uses", [">-\n          pipnexus/pipnexus@v1", "|\n          pipnexus/pipnexus@v1\n"]
)
def test_repin_a_block_scalar(uses: str) -> None:
    steps = f"      - id: pipnexus\n        uses: {uses}\n" + INSTALL
    result = run("repin", steps, action_ref="pipnexus/pipnexus@v2", action_comment="v2.0.0",
                 repin=True)
    assert result.error is None
    assert "        uses: pipnexus/pipnexus@v2 # v2.0.0\n" in result.new_text
