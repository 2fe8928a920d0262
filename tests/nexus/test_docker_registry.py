"""``nexus status --docker-url`` against a real registry: Debian's ``docker-registry`` (the
``distribution`` server, https://distribution.github.io/distribution/) on 127.0.0.1.

A stand-in Docker Hub (a plain registry with a tiny OCI image pushed by ``skopeo``), a
pull-through cache of it (``proxy.remoteurl``), the same cache with a dead remote, and a
registry behind htpasswd. Skipped, with the reason, where ``docker-registry``, ``skopeo`` or
``htpasswd`` is missing (``.ci/run`` installs them with apt).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.nexus.conftest import Admin
from tests.nexus.test_status import docker_line

pytestmark = pytest.mark.slow

CANARY = "library/hello-world:latest"
START_TIMEOUT = 20.0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install docker-registry skopeo apache2-utils)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry(NamedTuple):
    url: str
    process: subprocess.Popen[bytes]


def _start(work: Path, name: str, extra: dict[str, object]) -> Registry:
    """``docker-registry serve`` with a config of ``extra`` on a free 127.0.0.1 port."""
    port = _free_port()
    config = {
        "version": 0.1,
        "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(work / name)}},
        "http": {"addr": f"127.0.0.1:{port}"},
        **extra,
    }
    path = work / f"{name}.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    log = (work / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [_tool("docker-registry"), "serve", str(path)], stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(url + "/v2/", timeout=1).close()
            return Registry(url, proc)
        except urllib.error.HTTPError:  # 401 behind htpasswd: it is up
            return Registry(url, proc)
        except OSError:
            time.sleep(0.1)
    _stop(proc)
    pytest.fail(f"docker-registry did not start: {(work / f'{name}.log').read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def oci_layout(layout: Path) -> None:
    """A one-layer OCI image (a text file) in an OCI layout, tagged ``latest``."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        content = b"hello from the stand-in Docker Hub\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    raw = tar_bytes.getvalue()
    layer, layer_size = _blob(layout, gzip.compress(raw, mtime=0))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        "config": {},
    }
    config_digest, config_size = _blob(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer,
                "size": layer_size,
            }
        ],
    }
    manifest_digest, manifest_size = _blob(layout, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))


class Hub(NamedTuple):
    registry: Registry
    work: Path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A plain registry with ``library/hello-world:latest`` pushed by skopeo."""
    skopeo = _tool("skopeo")
    work = tmp_path_factory.mktemp("registries")
    registry = _start(work, "hub", {})
    try:
        oci_layout(work / "oci")
        subprocess.run(
            [
                skopeo, "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
                f"oci:{work / 'oci'}:latest",
                f"docker://{registry.url.removeprefix('http://')}/{CANARY}",
            ],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield Hub(registry, work)
    finally:
        _stop(registry.process)


@pytest.fixture
def served(admin: Admin) -> Admin:
    admin.double.add_pypi_proxy("pypi-proxy", admin.upstream_url)
    return admin


@pytest.fixture
def cache(hub: Hub, request: pytest.FixtureRequest) -> Iterator[Registry]:
    """A pull-through cache of the hub (``request.param``: "up"), or of a remote that stops
    once the cache has started ("down": distribution 2.8 does not start while its remote is
    unreachable, it asks the remote's /v2/ for its challenge first)."""
    name = f"cache-{request.param}-{_free_port()}"
    remote = hub.registry if request.param == "up" else _start(hub.work, f"{name}-remote", {})
    registry = _start(hub.work, name, {"proxy": {"remoteurl": remote.url}})
    if request.param == "down":
        _stop(remote.process)
    try:
        yield registry
    finally:
        _stop(registry.process)


def test_plain_registry_with_the_canary(
    served: Admin, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, line = docker_line(capsys, served, hub.registry.url)
    assert (rc, line) == (
        0,
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
        f"error: docker {cache.url}/v2/: 200 without authentication, but HEAD "
        "/v2/library/hello-world/manifests/latest answers 404"
    )
    assert line.endswith("[docker-remote-down]")


def test_htpasswd_registry(
    served: Admin, hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = subprocess.run(
        [_tool("htpasswd"), "-Bbn", "puller", "pull-pw"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    (tmp_path / "htpasswd").write_text(entry + "\n")
    auth = {"htpasswd": {"realm": "test-registry", "path": str(tmp_path / "htpasswd")}}
    registry = _start(tmp_path, "private", {"auth": auth})
    try:
        rc, line = docker_line(capsys, served, registry.url)
    finally:
        _stop(registry.process)
    assert rc == 1
    assert line.startswith(
        f"error: docker {registry.url}/v2/: 401 with a Basic challenge: anonymous docker "
        "pulls fail"
    )
    assert line.endswith("[docker-force-basic-auth]")
