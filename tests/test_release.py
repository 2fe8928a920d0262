"""A release users can pin: one version, the references to it in step, a release workflow with
least privilege, and the action working from the tree GitHub hands an action user.

The workflow itself is also checked by tests/test_repo_hygiene.py (zizmor, the workflow schema,
SHA pins, permissions), which covers every file in .github/workflows.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

import pipnexus
from testbed.httpbase import closed_url
from tests.cli_process import run_pipnexus

ROOT = Path(__file__).resolve().parents[1]
VERSION = pipnexus.__version__
MAJOR = VERSION.split(".")[0]
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
# `uses: pipnexus/pipnexus@REF` and a trailing `# vX.Y.Z` comment, if any
ACTION_REF = re.compile(r"pipnexus/pipnexus@([^\s`'\")]+)(?:\s*#\s*(v[^\s`'\")\]]+))?")
HOOK_REV = re.compile(r"\brev:\s*['\"]?(v[^\s'\"]+)")


def _user_facing_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / ".pre-commit-hooks.yaml"]
    files += sorted((ROOT / "docs").glob("*.md"))
    files += sorted(p for p in (ROOT / "examples").rglob("*") if p.is_file())
    return [p for p in files if p.is_file()]


def test_version_is_defined_once_and_is_semver() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION
    tomllib = pytest.importorskip("tomllib", reason="tomllib is new in Python 3.11")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"], "a second version in pyproject.toml"
    assert pyproject["project"]["dynamic"] == ["version"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "pipnexus.__version__"}


def test_cli_version_is_the_package_version() -> None:
    proc = run_pipnexus("--version", module=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"pipnexus {VERSION}"


def test_migrate_inserts_the_major_tag_of_this_version() -> None:
    from pipnexus.migrate import model

    assert f"pipnexus/pipnexus@v{MAJOR}" == model.DEFAULT_ACTION_REF


def test_every_reference_to_a_release_matches_the_version() -> None:
    """`@v1`, `@v1.0.0` and `@<sha> # v1.0.0` name this release; `rev:` of the
    pre-commit hook is the full tag."""
    seen = 0
    bad: list[str] = []
    for path in _user_facing_files():
        rel = path.relative_to(ROOT).as_posix()
        fixture = False  # inside a fenced block quoting a test fixture's before/after
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            if line.startswith("```"):
                following = lines[n] if n < len(lines) else ""
                fixture = not fixture and following.startswith("# before (fixture ")
                continue
            if fixture:
                continue  # a fixture's old refs are the point of the example
            for m in ACTION_REF.finditer(line):
                ref, comment = m.groups()
                seen += 1
                # a SHA (or the docs' `<sha>` placeholder for one) carries the version comment
                if re.fullmatch(r"[0-9a-f]{40}|<sha>", ref):
                    ok = comment == f"v{VERSION}"
                else:
                    ok = ref in (f"v{MAJOR}", f"v{VERSION}")
                if not ok:
                    bad.append(f"{rel}:{n}: {m.group(0)}")
            for m in HOOK_REV.finditer(line):
                seen += 1
                if m.group(1) != f"v{VERSION}":
                    bad.append(f"{rel}:{n}: {m.group(0)}")
    assert seen >= 3, "README, examples and the hook docs name a release"
    assert not bad, "\n".join(bad)


def test_changelog_starts_at_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in text
    assert re.search(rf"(?m)^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text)


def _release() -> Any:
    return yaml.safe_load(RELEASE.read_text(encoding="utf-8"))


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def test_release_workflow_builds_once_tests_the_wheel_and_publishes() -> None:
    wf = _release()
    # PyYAML reads the key `on` as True
    trigger = wf.get("on", wf.get(True))
    assert trigger == {"workflow_dispatch": None}  # run on main; the tag is made for the release
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    builds = [name for name, job in jobs.items() if "python -m build" in _runs(job)]
    assert builds == ["build"], "sdist and wheel are built exactly once"
    assert "twine check" in _runs(jobs["build"])
    assert "pytest" in _runs(jobs["test"]) and jobs["test"]["needs"] == "build"
    publish = [name for name, job in jobs.items()
               if any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")
                      for s in job["steps"])]
    assert publish == ["pypi"]
    assert set(jobs["pypi"]["needs"]) == {"build", "test", "bytecode"}
    assert jobs["pypi"]["environment"]["name"] == "pypi"
    text = RELEASE.read_text(encoding="utf-8")
    assert re.search(r"pypa/gh-action-pypi-publish@[0-9a-f]{40} # v\d+\.\d+\.\d+", text)
    assert "gh release create" in _runs(jobs["github-release"])
    assert "git/refs/tags/$major" in _runs(jobs["github-release"])  # the major tag moves


def test_release_commit_carries_the_actions_bytecode_for_every_supported_python() -> None:
    """The tag and the major tag point at the main commit plus checked-hash bytecode compiled
    (and checked) by every CPython from the oldest action.yml accepts to the newest listed."""
    jobs = _release()["jobs"]
    pythons = jobs["bytecode"]["strategy"]["matrix"]["python"]
    minors = [int(v.split(".")[1]) for v in pythons]
    assert all(v.startswith("3.") for v in pythons) and minors == list(range(9, minors[-1] + 1))
    action = (ROOT / "action.yml").read_text(encoding="utf-8")
    assert "sys.version_info < (3, 9)" in action  # the oldest version the action runs on
    assert minors[-1] >= 14
    runs = _runs(jobs["bytecode"])
    assert runs.index("scripts/action_bytecode.py compile .") < runs.index(
        "scripts/action_bytecode.py check .")
    release = _runs(jobs["github-release"])
    assert "git add -f" in release and 'git tag "$TAG"' in release
    assert 'refs/tags/$TAG' in release
    steps = jobs["github-release"]["steps"]
    (move,) = [s for s in steps if "git/refs/tags/$major" in s.get("run", "")]
    assert move["env"]["SHA"] == "${{ steps.commit.outputs.sha }}"  # not the main commit


def _github_tree(tmp_path: Path, *paths: str) -> Path:
    """``git archive`` of HEAD (what GitHub serves a runner for a ref; ``paths`` narrow it),
    extracted into ``tmp_path / "action"``."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: no committed tree to archive")
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD", *paths], cwd=ROOT,
                             check=True, capture_output=True, timeout=60).stdout
    tree = tmp_path / "action"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="tar")
    return tree


def _bytecode(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "action_bytecode.py"), *args],
                          capture_output=True, text=True, timeout=180)


@pytest.mark.slow  # compiles and checks the release bytecode: 1.3 s of CPU
def test_the_release_trees_bytecode_is_loaded_and_never_runs_for_another_source(
        tmp_path: Path, nexus: Any) -> None:
    """scripts/action_bytecode.py as the release workflow runs it, on the tree GitHub serves:
    after `compile` the action's command (healthy Nexus, and the fallback) compiles none of its
    modules from source; a source changed after compiling is compiled from source again (PEP
    552 checked-hash), `check` names it, and the action still works."""
    tree = _github_tree(tmp_path, "pipnexus")
    before = _bytecode("check", str(tree))
    assert before.returncode == 1 and "cli.py: compiled from source" in before.stderr

    compiled = _bytecode("compile", str(tree))
    assert compiled.returncode == 0, compiled.stderr
    assert not list((tree / "pipnexus" / "migrate").rglob("*.pyc"))  # never imported
    for index in (nexus.index_url(), None):
        checked = _bytecode("check", str(tree), *(["--index-url", index] if index else []))
        assert checked.returncode == 0, checked.stderr
        assert "bytecode matches and the action's command loaded it" in checked.stdout

    urls = tree / "pipnexus" / "urls.py"
    urls.write_text(urls.read_text(encoding="utf-8") + "# edited after compiling\n",
                    encoding="utf-8")
    after = _bytecode("check", str(tree), "--index-url", nexus.index_url())
    assert after.returncode == 1
    problems = after.stderr.splitlines()
    assert any(line.endswith("pipnexus/urls.py: urls." + sys.implementation.cache_tag
                             + ".pyc was compiled from another source") for line in problems)
    assert any(line.endswith("pipnexus/urls.py: compiled from source") for line in problems)
    assert not any("exited" in line for line in problems)  # the command itself succeeded


def test_release_workflow_grants_write_only_where_needed() -> None:
    jobs = _release()["jobs"]
    for name, job in jobs.items():
        granted = job.get("permissions")
        assert granted is not None, f"{name}: permissions are explicit in every job"
        writes = {k for k, v in granted.items() if v == "write"}
        if name == "pypi":
            assert granted == {"id-token": "write"}
        elif name == "github-release":
            assert granted == {"contents": "write"}
            assert "GITHUB_TOKEN" not in _runs(job)  # the token reaches gh through env only
        else:
            assert not writes, (name, granted)
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_the_action_works_from_the_tree_github_downloads(tmp_path: Path) -> None:
    """GitHub gives an action user the repository's files at the ref (no install step): the
    committed tree runs with python3 -I -S, the standard library only, and falls back."""
    tree = _github_tree(tmp_path)
    assert (tree / "action.yml").is_file() and (tree / "pipnexus" / "cli.py").is_file()
    # .gitattributes: what only contributors need is not downloaded by every job
    assert not any((tree / name).exists() for name in ("tests", "testbed", "bench"))
    project = tmp_path / "project"
    project.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path / "home"),
           "PIP_CONFIG_FILE": os.devnull}
    proc = run_pipnexus(
        "configure", "--format", "json", f"--index-url={closed_url()}", "--timeout=2",
        f"--project-dir={project}", "--no-warnings", cwd=tmp_path, env=env, tree=tree,
    )
    assert proc.returncode == 0, proc.stderr
    decision = json.loads(proc.stdout)
    assert decision["source"] == "fallback"
    assert decision["reason"] == "refused"
    assert decision["index_url"] == "https://pypi.org/simple"


@pytest.mark.slow
def test_local_release_dry_run(tmp_path: Path) -> None:
    """What the release workflow does, offline: build the sdist and wheel, `twine check`
    them, check the wheel holds only the package, install the wheel into a fresh venv and
    run `pipnexus --version` and `pipnexus demo` from it.

    The fresh venv gets the wheel with ``--no-index --no-deps`` (no network); its
    dependencies (ruamel.yaml, requests, packaging) are borrowed from this test environment
    through a .pth line, and the test checks that pipnexus itself is imported from the
    fresh venv, not from this checkout.
    """
    for module in ("build", "twine"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[test]')")
    dist = tmp_path / "dist"
    src = tmp_path / "src"
    # build from a copy: setuptools writes build/ and *.egg-info into the source tree
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"))
    build = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    assert [w.name for w in wheels] == [f"pipnexus-{VERSION}-py3-none-any.whl"]
    assert [s.name for s in sdists] == [f"pipnexus-{VERSION}.tar.gz"]
    check = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, wheels + sdists)],
        capture_output=True, text=True, timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr

    names = zipfile.ZipFile(wheels[0]).namelist()
    stray = [n for n in names if not n.startswith(("pipnexus/", f"pipnexus-{VERSION}.dist-info/"))]
    assert not stray, stray
    assert "pipnexus/py.typed" in names and "pipnexus/examples/ci.yml" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    clean = {"PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
             "HOME": str(tmp_path / "home"), "PIP_CONFIG_FILE": os.devnull,
             "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-index", "--no-deps",
         "--find-links", str(dist), f"pipnexus=={VERSION}"],
        env=clean, capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    import packaging
    import requests
    import ruamel.yaml

    deps = {Path(requests.__file__).resolve().parents[1],
            Path(packaging.__file__).resolve().parents[1],
            Path(ruamel.yaml.__file__).resolve().parents[2]}
    (Path(purelib) / "zz_borrowed_deps.pth").write_text("".join(f"{d}\n" for d in deps))

    where = subprocess.run([str(py), "-c", "import pipnexus; print(pipnexus.__file__)"],
                           cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout
    exe = str(env_dir / "bin" / "pipnexus")
    version = subprocess.run([exe, "--version"], cwd=tmp_path, env=clean,
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == f"pipnexus {VERSION}", version.stderr
    demo = subprocess.run([exe, "demo"], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "fallback" in demo.stdout + demo.stderr
    assert "+        uses: pipnexus/pipnexus@v" in demo.stdout
