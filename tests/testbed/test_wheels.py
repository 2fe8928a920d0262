"""The stdlib wheel/sdist builders make valid, reproducible distributions."""

from __future__ import annotations

import base64
import hashlib
import importlib
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from testbed.wheels import BACKEND_MODULE, make_backend_wheel, make_sdist, make_wheel


def test_wheel_contents_and_record(tmp_path: Path) -> None:
    path = make_wheel(
        tmp_path, "My.Demo_pkg", "2.1", requires=["dep>=1"], requires_python=">=3.8",
        files={"my_demo_pkg/data.txt": "hello"},
    )
    assert path.name == "my_demo_pkg-2.1-py3-none-any.whl"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        meta = zf.read("my_demo_pkg-2.1.dist-info/METADATA").decode()
        record = zf.read("my_demo_pkg-2.1.dist-info/RECORD").decode().splitlines()
        wheel = zf.read("my_demo_pkg-2.1.dist-info/WHEEL").decode()
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            if name.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = zf.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode() and int(size) == len(data)
    assert len(record) == len(names)
    assert "Name: My.Demo_pkg\nVersion: 2.1\n" in meta
    assert "Requires-Python: >=3.8" in meta and "Requires-Dist: dep>=1" in meta
    assert "Tag: py3-none-any" in wheel and "Root-Is-Purelib: true" in wheel
    sys.path.insert(0, str(path))
    try:
        module = importlib.import_module("my_demo_pkg")
        assert module.__version__ == "2.1"
    finally:
        sys.path.remove(str(path))
        sys.modules.pop("my_demo_pkg", None)
    assert make_wheel(tmp_path / "again", "My.Demo_pkg", "2.1", requires=["dep>=1"],
                      requires_python=">=3.8", files={"my_demo_pkg/data.txt": "hello"}
                      ).read_bytes() == path.read_bytes()


def test_sdist_names_backend_and_backend_builds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdist = make_sdist(tmp_path, "demo-sdist", "1.0", requires=["dep"])
    assert sdist.name == "demo_sdist-1.0.tar.gz"
    with tarfile.open(sdist) as tf:
        assert sorted(tf.getnames()) == [
            "demo_sdist-1.0/PKG-INFO",
            "demo_sdist-1.0/demo_sdist/__init__.py",
            "demo_sdist-1.0/pyproject.toml",
        ]
        pyproject = tf.extractfile("demo_sdist-1.0/pyproject.toml").read().decode()  # type: ignore[union-attr]
        tf.extractall(tmp_path / "src", filter="data")
    assert 'requires = ["pipnexus-test-backend"]' in pyproject
    assert f'build-backend = "{BACKEND_MODULE}"' in pyproject

    backend_whl = make_backend_wheel(tmp_path / "backend")
    monkeypatch.syspath_prepend(str(backend_whl))
    monkeypatch.chdir(tmp_path / "src" / "demo_sdist-1.0")
    backend = importlib.import_module(BACKEND_MODULE)
    try:
        out = tmp_path / "out"
        out.mkdir()
        built = backend.build_wheel(str(out))
        assert built == "demo_sdist-1.0-py3-none-any.whl"
        with zipfile.ZipFile(out / built) as zf:
            assert "demo_sdist/__init__.py" in zf.namelist()
            assert b"Requires-Dist: dep" in zf.read("demo_sdist-1.0.dist-info/METADATA")
        assert backend.build_sdist(str(out)) == "demo_sdist-1.0.tar.gz"
    finally:
        sys.modules.pop(BACKEND_MODULE, None)
