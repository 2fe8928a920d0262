"""Small valid distributions built with the standard library, so tests never need the internet.

* ``make_wheel(dest_dir, name, version, requires=..., requires_python=..., files=...)`` writes
  ``<dist>-<version>-py3-none-any.whl`` with METADATA, WHEEL, RECORD (sha256) and an importable
  module ``<name_with_underscores>/__init__.py`` that sets ``__version__``.
* ``make_sdist(dest_dir, name, version, build_requires=...)`` writes ``<dist>-<version>.tar.gz``
  whose ``pyproject.toml`` names a build backend that exists only in the test index
  (``pipnexus-test-backend`` by default), so pip's build isolation must fetch it from the index.
* ``make_backend_wheel(dest_dir)`` writes that backend: a stdlib-only PEP 517 backend
  (module ``pipnexus_test_backend``) that turns such an sdist into a wheel.
* ``standard_packages(dir)`` builds the default set every bed test uses; see ``StandardPackages``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import textwrap
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

# Fixed timestamp so generated files are byte-for-byte reproducible.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_TAR_MTIME = 1577836800

BACKEND_PROJECT = "pipnexus-test-backend"
BACKEND_MODULE = "pipnexus_test_backend"


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_name(name: str) -> str:
    """Distribution name as used in wheel/sdist file names (PEP 427 / PEP 625 escaping)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def module_name(name: str) -> str:
    return dist_name(name)


def _metadata(
    name: str, version: str, requires: Iterable[str], requires_python: str | None
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines.append(f"Summary: pipnexus test distribution {name}")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Requires-Dist: {r}" for r in requires)
    return "\n".join(lines) + "\n\n"


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _write_zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in members:
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def make_wheel(
    dest_dir: str | Path,
    name: str,
    version: str,
    *,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    files: Mapping[str, str | bytes] | None = None,
) -> Path:
    """Write a pure-Python wheel and return its path.

    ``files`` maps extra archive paths (e.g. ``"pkg/data.txt"``) to contents; when it names
    ``<module>/__init__.py`` it replaces the default module.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    dist = dist_name(name)
    mod = module_name(name)
    info_dir = f"{dist}-{version}.dist-info"
    payload: dict[str, bytes] = {
        f"{mod}/__init__.py": f'"""{name} (pipnexus test wheel)."""\n__version__ = "{version}"\n'
        .encode(),
    }
    for arcname, data in (files or {}).items():
        payload[arcname] = _as_bytes(data)
    members = sorted(payload.items())
    members.append(
        (f"{info_dir}/METADATA", _metadata(name, version, requires, requires_python).encode())
    )
    members.append(
        (
            f"{info_dir}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: pipnexus-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        )
    )
    record = io.StringIO()
    for arcname, data in members:
        record.write(f"{arcname},{_record_hash(data)},{len(data)}\n")
    record.write(f"{info_dir}/RECORD,,\n")
    members.append((f"{info_dir}/RECORD", record.getvalue().encode()))
    path = dest / f"{dist}-{version}-py3-none-any.whl"
    _write_zip(path, members)
    return path


# The backend is installed into pip's isolated build environment; it only uses the stdlib and
# reads the sdist's PKG-INFO (no tomllib, so it runs on Python 3.9).
BACKEND_SOURCE = textwrap.dedent(
    '''\
    """Minimal PEP 517 build backend used by pipnexus tests (stdlib only)."""
    import base64
    import email.parser
    import hashlib
    import os
    import tarfile
    import zipfile

    __version__ = "1.0"


    def _pkg_info():
        with open("PKG-INFO", encoding="utf-8") as f:
            return email.parser.Parser().parse(f)


    def _dist(name):
        out = []
        prev = False
        for ch in name.lower():
            if ch in "-_.":
                if not prev:
                    out.append("_")
                prev = True
            else:
                out.append(ch)
                prev = False
        return "".join(out)


    def _hash(data):
        d = hashlib.sha256(data).digest()
        return "sha256=" + base64.urlsafe_b64encode(d).rstrip(b"=").decode("ascii")


    def get_requires_for_build_wheel(config_settings=None):
        return []


    def get_requires_for_build_sdist(config_settings=None):
        return []


    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        info = _pkg_info()
        name, version = info["Name"], info["Version"]
        dist = _dist(name)
        info_dir = "%s-%s.dist-info" % (dist, version)
        members = []
        for root, dirs, files in os.walk(dist):
            dirs.sort()
            for fn in sorted(files):
                if fn.endswith(".pyc"):
                    continue
                path = os.path.join(root, fn)
                with open(path, "rb") as f:
                    members.append((path.replace(os.sep, "/"), f.read()))
        with open("PKG-INFO", "rb") as f:
            members.append((info_dir + "/METADATA", f.read()))
        members.append((info_dir + "/WHEEL", b"Wheel-Version: 1.0\\nGenerator: "
                        b"pipnexus-test-backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"))
        record = "".join("%s,%s,%d\\n" % (a, _hash(d), len(d)) for a, d in members)
        record += info_dir + "/RECORD,,\\n"
        members.append((info_dir + "/RECORD", record.encode()))
        filename = "%s-%s-py3-none-any.whl" % (dist, version)
        with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
            for arcname, data in members:
                zf.writestr(arcname, data)
        return filename


    def build_sdist(sdist_directory, config_settings=None):
        info = _pkg_info()
        base = "%s-%s" % (_dist(info["Name"]), info["Version"])
        filename = base + ".tar.gz"
        with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tf:
            for entry in sorted(os.listdir(".")):
                tf.add(entry, arcname=base + "/" + entry)
        return filename
    '''
)


def make_backend_wheel(dest_dir: str | Path, version: str = "1.0") -> Path:
    """The PEP 517 backend ``pipnexus-test-backend`` (module ``pipnexus_test_backend``)."""
    return make_wheel(
        dest_dir,
        BACKEND_PROJECT,
        version,
        files={f"{BACKEND_MODULE}/__init__.py": BACKEND_SOURCE},
    )


def make_sdist(
    dest_dir: str | Path,
    name: str,
    version: str,
    *,
    build_requires: Iterable[str] = (BACKEND_PROJECT,),
    build_backend: str = BACKEND_MODULE,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
) -> Path:
    """Write ``<dist>-<version>.tar.gz`` built by ``build_backend`` from ``build_requires``."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    dist = dist_name(name)
    base = f"{dist}-{version}"
    reqs = ", ".join(f'"{r}"' for r in build_requires)
    pyproject = (
        f'[build-system]\nrequires = [{reqs}]\nbuild-backend = "{build_backend}"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    requires = list(requires)
    if requires:
        pyproject += "dependencies = [" + ", ".join(f'"{r}"' for r in requires) + "]\n"
    if requires_python:
        pyproject += f'requires-python = "{requires_python}"\n'
    members = {
        "PKG-INFO": _metadata(name, version, requires, requires_python),
        "pyproject.toml": pyproject,
        f"{module_name(name)}/__init__.py": f'"""{name} (pipnexus test sdist)."""\n'
        f'__version__ = "{version}"\n',
    }
    path = dest / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for arcname, text in sorted(members.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size = len(data)
            info.mtime = _TAR_MTIME
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return path


class StandardPackages(NamedTuple):
    """The default file set (all in ``directory``), one attribute per file.

    * ``canary``: ``pip-99.0-py3-none-any.whl`` with ``Requires-Python: <3`` - the probe's
      canary project is ``pip``, so the index must list a project ``pip``; the
      ``data-requires-python`` guard means no installer will ever pick this fake pip.
    * ``dep``: ``pipnexus-demo-dep`` 1.0, no dependencies.
    * ``pkg``: ``pipnexus-demo-pkg`` 1.0, ``Requires-Dist: pipnexus-demo-dep>=1.0``.
    * ``pkg_old``: ``pipnexus-demo-pkg`` 0.9, no dependencies (so a project page has 2 files).
    * ``backend``: ``pipnexus-test-backend`` 1.0, the PEP 517 backend (see ``make_backend_wheel``).
    * ``sdist``: ``pipnexus-demo-sdist`` 1.0 sdist, ``build-system.requires =
      ["pipnexus-test-backend"]`` (only installable with build isolation via the index).
    * ``py_only``: ``pipnexus-demo-new`` 1.0 with ``Requires-Python: >=3.8`` (exercises
      ``data-requires-python``).
    """

    directory: Path
    canary: Path
    dep: Path
    pkg: Path
    pkg_old: Path
    backend: Path
    sdist: Path
    py_only: Path


def standard_packages(directory: str | Path) -> StandardPackages:
    d = Path(directory)
    return StandardPackages(
        directory=d,
        canary=make_wheel(d, "pip", "99.0", requires_python="<3"),
        dep=make_wheel(d, "pipnexus-demo-dep", "1.0"),
        pkg=make_wheel(d, "pipnexus-demo-pkg", "1.0", requires=["pipnexus-demo-dep>=1.0"]),
        pkg_old=make_wheel(d, "pipnexus-demo-pkg", "0.9"),
        backend=make_backend_wheel(d),
        sdist=make_sdist(d, "pipnexus-demo-sdist", "1.0"),
        py_only=make_wheel(d, "pipnexus-demo-new", "1.0", requires_python=">=3.8"),
    )
