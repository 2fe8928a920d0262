"""``nexus status --docker-url`` against a real registry: Debian's ``docker-registry`` (the
``distribution`` server, https://distribution.github.io/distribution/) on 127.0.0.1.

A stand-in Docker Hub (a plain registry with a tiny OCI image pushed by ``skopeo``), a
pull-through cache of it (``proxy.remoteurl``), the same cache with a dead remote, and a
registry behind htpasswd. Skipped, with the reason, where ``docker-registry``, ``skopeo`` or
``htpasswd`` is missing (``.ci/run`` installs them with apt).
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from testbed.registry import Registry, missing, push, write_image
from tests.nexus.conftest import Admin
from tests.nexus.test_status import docker_line

pytestmark = pytest.mark.slow

CANARY = "library/hello-world:latest"


def _require(*tools: str) -> None:
    why = missing(*tools)
    if why is not None:
        pytest.skip(why)


class Hub(NamedTuple):
    registry: Registry
    work: Path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A plain registry with ``library/hello-world:latest`` pushed by skopeo."""
    _require()
    work = tmp_path_factory.mktemp("registries")
    with Registry(work, name="hub") as registry:
        write_image(work / "oci", {"hello.txt": b"hello from the stand-in Docker Hub\n"})
        name, _, tag = CANARY.partition(":")
        push(work / "oci", registry.host, name, tag)
        yield Hub(registry, work)


@pytest.fixture
def served(admin: Admin) -> Admin:
    admin.double.add_pypi_proxy("pypi-proxy", admin.upstream_url)
    return admin


@pytest.fixture
def cache(hub: Hub, request: pytest.FixtureRequest) -> Iterator[Registry]:
    """A pull-through cache of the hub (``request.param``: "up"), or of a remote that stops
    once the cache has started ("down": distribution 2.8 does not start while its remote is
    unreachable, it asks the remote's /v2/ for its challenge first)."""
    name = f"cache-{request.param}"
    if request.param == "up":
        with Registry(hub.work, upstream=hub.registry.url, name=name) as registry:
            yield registry
        return
    with Registry(hub.work, name=f"{name}-remote") as remote:
        registry = Registry(hub.work, upstream=remote.url, name=name).start()
    try:
        yield registry
    finally:
        registry.stop()


def test_plain_registry_with_the_canary(
    served: Admin, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, line = docker_line(capsys, served, hub.registry.url)
    assert (rc, line) == (
        0,
        "pipnexus nexus status: "
        f"note: docker {hub.registry.url}/v2/: 200 without authentication; manifest of "
        f"{CANARY}: 200 [docker-pull]",
    )


def test_plain_registry_without_the_canary(
    served: Admin, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, line = docker_line(capsys, served, hub.registry.url, "--docker-canary", "busybox:1")
    assert rc == 1
    assert "HEAD /v2/library/busybox/manifests/1 answers 404" in line
    assert line.endswith("[docker-remote-down]")


@pytest.mark.parametrize("cache", ["up"], indirect=True)
def test_pull_through_cache_with_its_remote_up(
    served: Admin, cache: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, line = docker_line(capsys, served, cache.url)
    assert (rc, line) == (
        0,
        "pipnexus nexus status: "
        f"note: docker {cache.url}/v2/: 200 without authentication; manifest of {CANARY}: "
        "200 [docker-pull]",
    )


@pytest.mark.parametrize("cache", ["down"], indirect=True)
def test_pull_through_cache_with_its_remote_down(
    served: Admin, cache: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    # /v2/ answers 200 as ever: only the manifest tells
    with urllib.request.urlopen(cache.url + "/v2/", timeout=5) as v2:
        assert v2.status == 200
        assert v2.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    rc, line = docker_line(capsys, served, cache.url)
    assert rc == 1
    assert line.startswith(
        "pipnexus nexus status: "
        f"error: docker {cache.url}/v2/: 200 without authentication, but HEAD "
        "/v2/library/hello-world/manifests/latest answers 404"
    )
    assert line.endswith("[docker-remote-down]")


def test_htpasswd_registry(
    served: Admin, hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _require("htpasswd")
    entry = subprocess.run(
        [shutil.which("htpasswd") or "htpasswd", "-Bbn", "puller", "pull-pw"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    (tmp_path / "htpasswd").write_text(entry + "\n")
    with Registry(tmp_path, htpasswd=tmp_path / "htpasswd", name="private") as registry:
        rc, line = docker_line(capsys, served, registry.url)
    assert rc == 1
    assert line.startswith(
        "pipnexus nexus status: "
        f"error: docker {registry.url}/v2/: 401 with a Basic challenge: anonymous docker "
        "pulls fail"
    )
    assert line.endswith("[docker-force-basic-auth]")
