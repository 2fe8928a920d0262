"""Real ``uv python install`` through UV_PYTHON_INSTALL_MIRROR against the miniature
python-build-standalone releases of testbed/pbs.py: uv accepts the archive, and exactly one
request goes to the mirror."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.pbs import Build, Releases, make_archive, write_downloads_json

BUILD = Build()


def _uv() -> str:
    found = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (the test extra installs it)")
    return found


def _install(tmp_path: Path, mirror: str, downloads: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "UV_CACHE_DIR": str(tmp_path / "cache"),
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "pythons"),
        "UV_PYTHON_BIN_DIR": str(tmp_path / "bin"),
        "UV_PYTHON_INSTALL_MIRROR": mirror,
        "UV_PYTHON_DOWNLOADS_JSON_URL": str(downloads),
        "UV_NO_CONFIG": "1",
    }
    return subprocess.run(
        [_uv(), "python", "install", BUILD.version],
        capture_output=True, text=True, timeout=120, env=env,
    )


def test_uv_installs_the_tiny_archive_from_the_mirror(tmp_path: Path) -> None:
    archive = make_archive(BUILD)
    downloads = write_downloads_json(tmp_path / "downloads.json", {BUILD: archive})
    with Releases({BUILD: archive}) as releases:
        done = _install(tmp_path, releases.base_url, downloads)
        assert done.returncode == 0, done.stderr
        assert releases.requests == [("GET", BUILD.path, 200)]
        again = _install(tmp_path, releases.base_url, downloads)
        assert again.returncode == 0, again.stderr
        assert len(releases.requests) == 1  # installed: nothing fetched again
    assert (tmp_path / "pythons" / BUILD.key / "bin" / f"python{BUILD.minor}").is_file()


def test_uv_checks_the_archive_against_the_download_list(tmp_path: Path) -> None:
    archive = make_archive(BUILD)
    downloads = write_downloads_json(tmp_path / "downloads.json", {BUILD: archive})
    tampered = make_archive(BUILD, padding=1)
    with Releases({BUILD: tampered}) as releases:
        done = _install(tmp_path, releases.base_url, downloads)
    assert done.returncode != 0
    assert "hash" in done.stderr.lower() or "sha256" in done.stderr.lower(), done.stderr


def test_padding_makes_an_interpreter_sized_incompressible_archive() -> None:
    small = make_archive(BUILD)
    big = make_archive(BUILD, padding=2_000_000)
    assert len(big) - len(small) > 1_990_000
    assert make_archive(BUILD, padding=2_000_000) == big  # deterministic
