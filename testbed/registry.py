"""A real ``distribution`` registry on 127.0.0.1 (Debian's ``docker-registry``), and tiny images.

* ``Registry(work)``: a plain registry (the stand-in "Docker Hub");
  ``Registry(work, upstream=url)``: a pull-through cache of ``url`` (distribution's proxy mode,
  https://distribution.github.io/distribution/recipes/mirror/); ``htpasswd=path``: basic auth
  from a bcrypt htpasswd file (distribution's ``auth.htpasswd``); ``address``: another local
  address to listen on than 127.0.0.1 (in a network namespace). A context manager; ``url``,
  ``host`` (``127.0.0.1:PORT``). distribution 2.8.2 in proxy mode pings the upstream while it
  starts and exits when that fails: for a cache whose upstream is down, start the upstream,
  then the cache, then ``stop()`` the upstream. ``requests()`` parses its access log (combined
  log format), ``blob_gets()`` keeps the blob downloads.
* ``write_image(layout, files)``: an OCI image layout (one gzip layer holding ``files``) written
  by hand, no Docker needed (https://github.com/opencontainers/image-spec: image-layout.md,
  manifest.md, config.md); ``push(layout, host, name)`` copies it into a registry with
  ``skopeo copy``.
* ``missing()``: why the tools are unavailable (``None`` when they are there).

Every process is bounded (start-up wait, stop with terminate then kill).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import NamedTuple

from testbed.httpbase import HOST, fetch, free_port

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# 127.0.0.1 - - [07/Dec/2026:14:19:28 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"
_ACCESS = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) (\d+)')
_BLOB = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$")


def missing(*tools: str) -> str | None:
    """The reason a registry test cannot run here, or ``None``."""
    wanted = tools or ("docker-registry", "skopeo")
    absent = [t for t in wanted if shutil.which(t) is None]
    if absent:
        return (f"{', '.join(absent)} not installed (apt-get install -y docker-registry skopeo; "
                ".ci/run does it where apt works)")
    return None


class Request(NamedTuple):
    method: str
    path: str
    status: int
    size: int  # response body bytes as logged (a HEAD answer's Content-Length)


class Registry:
    """``docker-registry serve`` on a free loopback port, its storage and log under ``work``."""

    def __init__(self, work: Path, *, upstream: str | None = None,
                 htpasswd: Path | None = None, name: str = "registry",
                 address: str = HOST) -> None:
        self.work = work / name
        self.work.mkdir(parents=True, exist_ok=True)
        self.upstream = upstream
        self.port = free_port()
        self.host = f"{address}:{self.port}"
        self.url = f"http://{self.host}"
        self.log = self.work / "registry.log"
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": str(self.work / "storage")}},
            "http": {"addr": self.host},
        }
        if upstream:
            config["proxy"] = {"remoteurl": upstream}
        if htpasswd:
            config["auth"] = {"htpasswd": {"realm": "pipnexus-test", "path": str(htpasswd)}}
        # JSON is YAML: the registry reads it with its YAML parser
        (self.work / "config.yml").write_text(json.dumps(config, indent=1))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Registry:
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(
                ["docker-registry", "serve", str(self.work / "config.yml")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited ({self._proc.returncode}):\n"
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            try:
                fetch(f"{self.url}/v2/", timeout=2)
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer on {self.url} in {START_TIMEOUT} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> list[Request]:
        """Every request in the access log so far."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [Request(m[1], m[2], int(m[3]), int(m[4])) for m in _ACCESS.finditer(text)]

    def blob_gets(self) -> list[Request]:
        """The blob downloads (``GET /v2/<name>/blobs/sha256:…``, any query: containerd adds
        ``?ns=docker.io`` on a mirror) served so far."""
        return [r for r in self.requests()
                if r.method == "GET" and _BLOB.match(r.path.partition("?")[0])]


def _blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def write_image(layout: Path, files: dict[str, bytes], tag: str = "latest") -> str:
    """An OCI image layout at ``layout`` with one layer holding ``files`` (path -> bytes, mode
    0755); returns the manifest digest. The bytes are reproducible (fixed mtimes, no gzip
    timestamp), so the same files give the same digests."""
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o755, 0
            tf.addfile(info, io.BytesIO(data))
    layer = tar.getvalue()
    layer_digest, layer_size = _blob(layout, gzip.compress(layer, mtime=0))
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers",
                   "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]},
    }
    config_digest, config_size = _blob(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = _blob(layout, json.dumps(manifest).encode())
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest_size,
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (layout / "index.json").write_text(json.dumps(index))
    return manifest_digest


def push(layout: Path, host: str, name: str, tag: str = "latest") -> None:
    """``skopeo copy`` the layout's ``tag`` to ``host`` (plain HTTP) as ``name:tag``."""
    cmd = ["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
           f"oci:{layout}:{tag}", f"docker://{host}/{name}:{tag}"]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)
    if proc.returncode:
        raise RuntimeError(f"skopeo copy failed ({proc.returncode}): {proc.stderr.strip()}")
