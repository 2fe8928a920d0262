"""bench/realprojects.json, the real projects' manifest, is also their provenance record: every
entry names its repository, the pinned commit, its licence and the SHA-256 of each file used,
and the files kept in bench/realprojects-files/ are those bytes. The manifest is read as data
(tests never import bench/). The kept files of the projects with an extra index or a Pipfile are
scanned by ``pipnexus configure``'s bypass scan, as the bench's pipnexus jobs do."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipnexus.configure import scan

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "bench" / "realprojects.json"
KEPT = REPO / "bench" / "realprojects-files"
PROJECTS: list[dict[str, Any]] = json.loads(MANIFEST.read_text(encoding="utf-8"))["projects"]
HEX = re.compile(r"[0-9a-f]+\Z")


def _kept_dir(project: dict[str, Any]) -> Path:
    return KEPT / str(project["repository"]).replace("/", "+")


@pytest.mark.parametrize("project", PROJECTS, ids=[p["name"] for p in PROJECTS])
def test_every_entry_records_its_provenance(project: dict[str, Any]) -> None:
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", project["repository"])
    assert len(project["commit"]) == 40 and HEX.match(project["commit"])
    assert project["licence"] and project["kind"] and project["ci"]
    files: dict[str, str] = project["files"]
    assert all(len(sha) == 64 and HEX.match(sha) for sha in files.values())
    # the licence travels with the files kept of it
    assert any(re.match(r"(LICEN[CS]E|COPYING)", Path(f).name) for f in files)
    assert project["workflows"] and set(project["workflows"]) <= set(files)
    assert all(w.startswith(".github/workflows/") for w in project["workflows"])
    assert set(project.get("lock_urls", [])) <= set(files)
    assert project["steps"] and all(step and all(isinstance(a, str) for a in step)
                                    for step in project["steps"])
    extra = project.get("extra_index")
    if extra is not None:
        assert extra["url"].startswith("https://") and set(extra["files"]) <= set(files)


def test_names_are_unique_and_the_issue_kinds_are_covered() -> None:
    names = [p["name"] for p in PROJECTS]
    assert len(names) == len(set(names))
    tools = {step[0] for p in PROJECTS for step in p["steps"]}
    assert {"uv", "poetry", "pdm", "pipenv", "tox", "nox"} <= tools
    assert any(p.get("extra_index") for p in PROJECTS)


@pytest.mark.parametrize("project", [p for p in PROJECTS if _kept_dir(p).is_dir()],
                         ids=lambda p: p["name"])
def test_kept_files_are_the_manifests_bytes_and_nothing_else(project: dict[str, Any]) -> None:
    root = _kept_dir(project)
    kept = {f.relative_to(root).as_posix() for f in root.rglob("*")
            if f.is_file() and ".ruff_cache" not in f.parts}
    assert kept == set(project["files"])
    for path, sha in project["files"].items():
        assert hashlib.sha256((root / path).read_bytes()).hexdigest() == sha, path
    extra: dict[str, Any] = project.get("extra_index") or {"files": []}
    for path in extra["files"]:
        # the bench replaces the URL exactly as written: it must be there
        assert extra["url"] in (root / path).read_text(encoding="utf-8"), path


def _codes(project: str) -> list[tuple[str, int | None, str]]:
    (entry,) = [p for p in PROJECTS if p["name"] == project]
    root = _kept_dir(entry)
    return [(Path(d.path).relative_to(root).as_posix() if d.path else "", d.line, d.code)
            for d in scan.bypass_warnings(str(root), {"PATH": "/nonexistent"})]


def test_configure_warns_about_the_real_extra_index() -> None:
    # zsrl/pywencai's [[tool.pdm.source]] tsinghua: pdm searches it besides PDM_PYPI_URL
    assert _codes("pywencai") == [("pyproject.toml", 9, "pdm-source")]


def test_a_pipfile_with_pypi_only_is_left_silent() -> None:
    # PIPENV_PYPI_MIRROR replaces its one source: nothing bypasses the proxy
    assert _codes("mkdocs-boilerplate") == []
