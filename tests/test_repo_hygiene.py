"""The project's own GitHub CI and supply chain: zizmor finds nothing, the schemas hold,
third-party actions are pinned by SHA, permissions are minimal, the CI covers Python 3.9-3.13
for the action's modules and uses the action from the repository itself. And the code's
layers depend one way: tests/ and bench/ use testbed/, never the other way round, tests/
never import bench/ (a benchmark may change its output; a test must not depend on it), and
pipnexus/ imports none of them. Within pipnexus/ no two modules import each other, not even
for type hints only: a cycle means a type sits in the wrong module."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
SHA_PIN = re.compile(r"[^@\s]+@[0-9a-f]{40}\Z")


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing from the test environment (pip install -e '.[test]')")
    return str(path)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_zizmor_offline_finds_nothing() -> None:
    proc = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "action.yml", ".github"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-actions", [ROOT / "action.yml"]),
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.dependabot", [ROOT / ".github" / "dependabot.yml"]),
    ],
    ids=["action", "workflows", "dependabot"],
)
def test_schemas(schema: str, files: list[Path]) -> None:
    assert files and all(f.is_file() for f in files)
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _steps(workflow: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items()
            for step in job.get("steps", [])]


def test_third_party_actions_are_pinned_by_sha() -> None:
    uses = [step["uses"] for wf in WORKFLOWS for _, step in _steps(load(wf)) if "uses" in step]
    uses += [step["uses"] for step in load(ROOT / "action.yml")["runs"]["steps"]
             if "uses" in step]
    remote = [u for u in uses if not u.startswith(("./", "docker://"))]
    assert all(SHA_PIN.match(u) for u in remote), remote


# The only write permissions: the release publishes to PyPI (OIDC token for trusted
# publishing) and creates the GitHub release; each in its own job, nowhere else.
RELEASE_WRITES = {("release.yml", "pypi"): {"id-token": "write"},
                  ("release.yml", "github-release"): {"contents": "write"}}


def test_permissions_are_minimal() -> None:
    for wf in WORKFLOWS:
        data = load(wf)
        assert data.get("permissions") in ({"contents": "read"}, {}), wf.name
        for job_id, job in data["jobs"].items():
            granted = job.get("permissions", {})
            if (wf.name, job_id) in RELEASE_WRITES:
                assert granted == RELEASE_WRITES[wf.name, job_id], (wf.name, job_id)
                continue
            assert granted in ({}, {"contents": "read"}) or all(
                v in ("read", "none") for v in granted.values()
            ), (wf.name, job_id, granted)
        for _, step in _steps(data):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False


def test_ci_covers_the_supported_pythons_and_uses_the_action_itself() -> None:
    ci = load(ROOT / ".github" / "workflows" / "ci.yml")
    pythons: set[str] = set()
    for job in ci["jobs"].values():
        matrix = job.get("strategy", {}).get("matrix", {})
        pythons.update(str(p) for p in matrix.get("python", []))
    assert {"3.9", "3.10", "3.11", "3.12", "3.13"} <= pythons
    runs = [step.get("run", "") for _, step in _steps(ci)]
    assert any(".ci/run" in run for run in runs)  # the whole suite, ruff, mypy and zizmor
    assert any(step.get("uses") == "./" for _, step in _steps(ci))
    script = (ROOT / ".ci" / "run").read_text()
    assert "zizmor --offline" in script
    assert "targets=(action.yml)" in script and "targets+=(.github)" in script


def test_the_action_modules_job_runs_tests_that_exist() -> None:
    """The job that runs the hot path's tests on every Python names paths: they follow the
    tests when those move (tests/probe, tests/configure mirror the packages)."""
    ci = load(ROOT / ".github" / "workflows" / "ci.yml")
    runs = " ".join(step.get("run", "") for step in ci["jobs"]["action-modules"]["steps"])
    paths = re.findall(r"\btests/\S+", runs)
    assert {"tests/probe", "tests/configure"} <= set(paths), paths
    assert all((ROOT / path).exists() for path in paths), paths


def test_dependabot_watches_actions_and_python() -> None:
    config = load(ROOT / ".github" / "dependabot.yml")
    ecosystems = {u["package-ecosystem"] for u in config["updates"]}
    assert {"github-actions", "pip"} <= ecosystems


def _imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a Python file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [("tests", {"bench"}), ("testbed", {"tests", "bench"}),
     ("pipnexus", {"tests", "testbed", "bench", "scripts"})],
)
def test_layers_import_one_way(layer: str, forbidden: set[str]) -> None:
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        bad += [f"{rel}:{line}: imports {pkg}" for line, pkg in _imported_packages(path)
                if pkg in forbidden]
    assert not bad, "\n".join(bad)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports anywhere: at the top, inside functions
    and under ``if TYPE_CHECKING:``. ``from pkg import mod`` counts as importing ``pkg.mod``."""
    paths = {_module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                deps.update(f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base
                            for a in node.names)
        graph[name] = {d for d in deps if d in paths and d != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_in_the_package() -> None:
    graph = import_graph("pipnexus")
    assert "pipnexus.probe.classify" in graph["pipnexus.probe.engine"]  # the graph is real
    assert not cycles(graph), cycles(graph)


def test_the_cycle_check_finds_type_only_and_function_level_cycles(tmp_path: Path) -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    # render <-> summary as they were before Report moved: one import only for type hints,
    # the other inside a function; and a relative import
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "render.py").write_text(
        "def f():\n    from pkg.sub.summary import g\n    return g\n")
    (pkg / "sub" / "summary.py").write_text(
        "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from pkg.sub.render import Report\n")
    (pkg / "sub" / "main.py").write_text("from . import render\nfrom .summary import g\n")
    graph = import_graph("pkg", tmp_path)
    assert graph["pkg.sub.main"] == {"pkg.sub.render", "pkg.sub.summary"}
    assert cycles(graph) == [["pkg.sub.render", "pkg.sub.summary"]]
