"""python-build-standalone releases in miniature, for ``uv python install`` on loopback.

uv downloads managed interpreters from python-build-standalone's GitHub releases
(``<releases>/<tag>/cpython-<version>+<tag>-<triple>-install_only_stripped.tar.gz``) and reads
``UV_PYTHON_INSTALL_MIRROR`` to fetch the same path from a mirror instead (uv's docs:
https://docs.astral.sh/uv/reference/environment/#uv_python_install_mirror). It checks every
archive against the sha256 in its built-in download list, so a test archive comes with its own
list, given to uv as ``UV_PYTHON_DOWNLOADS_JSON_URL`` (a file path works); uv still rewrites the
list's GitHub URLs to the mirror.

The archive is tiny but real enough for uv 0.13 to install it: ``python/bin/python3.X`` is a
shell script that runs an existing interpreter (uv refuses absolute symlinks in archives), and
``python/lib/python3.X/_sysconfigdata_*.py`` starts with the header uv patches. ``padding``
adds incompressible bytes to make it interpreter-sized for the egress benchmark.

Like the real releases, :class:`Releases` always has the ``SHA256SUMS`` of the old release
that pipnexus's mirror probe fetches (``MIRROR_PROBE_PATH`` in pipnexus/probe/engine.py), in
the release tooling's format (``<sha256 hex>  <file name>`` lines, sorted:
astral-sh/python-build-standalone: src/github.rs).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import sys
import tarfile
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

from pipnexus.probe.engine import MIRROR_PROBE_PATH, MIRROR_PROBE_TAG
from testbed.httpbase import LoopbackServer, QuietHandler, Response

RELEASES = "https://github.com/astral-sh/python-build-standalone/releases/download"
SYSCONFIG_HEADER = "# system configuration generated and used by the sysconfig module\n"


class Build(NamedTuple):
    version: str = "3.12.7"
    tag: str = "20241016"
    arch: str = platform.machine() or "x86_64"

    @property
    def triple(self) -> str:
        return f"{self.arch}-unknown-linux-gnu"

    @property
    def asset(self) -> str:
        return f"cpython-{self.version}+{self.tag}-{self.triple}-install_only_stripped.tar.gz"

    @property
    def key(self) -> str:
        """uv's name for the build (``uv python list`` shows it)."""
        return f"cpython-{self.version}-linux-{self.arch}-gnu"

    @property
    def path(self) -> str:
        """The path below the releases URL (and below a mirror), as uv requests it."""
        return f"/{self.tag}/{self.asset.replace('+', '%2B')}"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def make_archive(build: Build, interpreter: str | None = None, padding: int = 0) -> bytes:
    """The install-only archive of ``build`` (deterministic for the same arguments)."""
    real = os.path.realpath(interpreter or sys.executable)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add(tar, f"python/bin/python{build.minor}",
             f'#!/bin/sh\nexec "{real}" "$@"\n'.encode(), 0o755)
        _add(tar, f"python/lib/python{build.minor}/_sysconfigdata__linux_{build.triple}.py",
             (SYSCONFIG_HEADER + "build_time_vars = {}\n").encode())
        if padding:
            # incompressible and deterministic: a hash chain
            chunks: list[bytes] = []
            block = hashlib.sha256(build.asset.encode()).digest()
            while len(chunks) * 32 < padding:
                block = hashlib.sha256(block).digest()
                chunks.append(block)
            _add(tar, "python/share/padding.bin", b"".join(chunks)[:padding])
    return gzip.compress(buf.getvalue(), compresslevel=1, mtime=0)


def downloads_json(builds: dict[Build, bytes]) -> str:
    """uv's download list (``UV_PYTHON_DOWNLOADS_JSON_URL``) for ``builds`` and their archives."""
    entries = {}
    for build, archive in builds.items():
        major, minor, patch = (int(x) for x in build.version.split("."))
        entries[build.key] = {
            "name": "cpython",
            "arch": {"family": build.arch, "variant": None},
            "os": "linux",
            "libc": "gnu",
            "major": major,
            "minor": minor,
            "patch": patch,
            "prerelease": "",
            "url": RELEASES + build.path,
            "sha256": hashlib.sha256(archive).hexdigest(),
            "variant": None,
            "build": build.tag,
        }
    return json.dumps(entries, indent=2)


def checksum_list(tag: str = MIRROR_PROBE_TAG) -> bytes:
    """A ``SHA256SUMS`` of a few made-up assets of release ``tag``, in the real format."""
    names = sorted(
        f"cpython-{version}+{tag}-{triple}-install_only.tar.gz"
        for version in ("3.8.13", "3.9.11", "3.10.3")
        for triple in ("aarch64-apple-darwin", "x86_64-unknown-linux-gnu")
    )
    lines = (f"{hashlib.sha256(name.encode()).hexdigest()}  {name}\n" for name in names)
    return "".join(lines).encode()


class Releases(LoopbackServer):
    """Plays python-build-standalone's release downloads: ``GET /<tag>/<asset>``, the
    ``SHA256SUMS`` of the mirror probe's release included."""

    def __init__(self, builds: dict[Build, bytes]) -> None:
        self.assets = {f"/{b.tag}/{b.asset}": data for b, data in builds.items()}
        self.assets["/" + MIRROR_PROBE_PATH] = checksum_list()
        super().__init__()

    def handle(self, handler: QuietHandler) -> Response | None:
        if handler.command not in ("GET", "HEAD"):
            return Response(405, [("Content-Type", "text/plain")], b"Method Not Allowed\n")
        data = self.assets.get(unquote(handler.path.split("?", 1)[0]))
        if data is None:
            return Response(404, [("Content-Type", "text/plain")], b"Not Found\n")
        return Response(200, [("Content-Type", "application/octet-stream")], data)


def write_downloads_json(path: Path, builds: dict[Build, bytes]) -> Path:
    path.write_text(downloads_json(builds), encoding="utf-8")
    return path
