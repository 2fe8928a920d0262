"""testbed/registry.py against the real ``docker-registry`` and ``skopeo``: a plain registry
serves a pushed image; a pull-through cache fetches it from its upstream once; a cache whose
upstream is down answers ``/v2/`` but not the manifest."""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path

import pytest

from testbed import registry
from testbed.httpbase import closed_url, fetch
from testbed.registry import Registry

pytestmark = pytest.mark.skipif(registry.missing() is not None,
                                reason=registry.missing() or "")
ACCEPT = {"Accept": registry.OCI_MANIFEST}


def test_a_pushed_image_is_served_and_a_pull_through_cache_fetches_its_blobs_once(
    tmp_path: Path,
) -> None:
    digest = registry.write_image(tmp_path / "oci", {"hello.txt": b"hello\n"})
    with Registry(tmp_path, name="hub") as hub:
        registry.push(tmp_path / "oci", hub.host, "library/tiny")
        got = fetch(f"{hub.url}/v2/library/tiny/manifests/latest", headers=ACCEPT)
        assert got.status == 200
        assert got.headers["Docker-Content-Digest"] == digest
        layers = json.loads(got.body)["layers"]
        assert hub.blob_gets() == []  # skopeo pushed; nothing downloaded yet
        with Registry(tmp_path, upstream=hub.url, name="cache") as cache:
            for _ in range(2):
                blob = f"{cache.url}/v2/library/tiny/blobs/{layers[0]['digest']}"
                assert fetch(blob).status == 200
            fetched = {r.path for r in hub.blob_gets()}
            assert fetched == {f"/v2/library/tiny/blobs/{layers[0]['digest']}"}
            assert [r.status for r in cache.blob_gets()] == [200, 200]


def test_a_pull_through_cache_with_its_upstream_down_answers_v2_but_no_manifest(
    tmp_path: Path,
) -> None:
    with Registry(tmp_path, name="hub") as hub, \
            Registry(tmp_path, upstream=hub.url, name="cache") as cache:
        hub.stop()
        version = fetch(f"{cache.url}/v2/")
        assert version.status == 200
        assert version.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
        manifest = fetch(f"{cache.url}/v2/library/tiny/manifests/latest", "HEAD",
                         headers=ACCEPT)
        assert manifest.status >= 400


def test_a_pull_through_cache_does_not_start_with_its_upstream_down(tmp_path: Path) -> None:
    # distribution 2.8.2's proxy mode pings the upstream's /v2/ for its auth challenges while
    # the app starts and panics when that fails: a "dead upstream" must die after start-up.
    with pytest.raises(RuntimeError, match="connection refused"):
        Registry(tmp_path, upstream=closed_url()).start()


def test_a_registry_with_htpasswd_asks_for_basic_credentials(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt", reason="the crypt module is gone from Python 3.13")
    hashed = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH))
    if not hashed or not hashed.startswith("$2"):
        pytest.skip("this libc's crypt() makes no bcrypt hashes (distribution needs them)")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"ci:{hashed}\n")
    with Registry(tmp_path, htpasswd=htpasswd) as reg:
        anonymous = fetch(f"{reg.url}/v2/")
        assert anonymous.status == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="pipnexus-test"'
        token = base64.b64encode(b"ci:s3cret").decode()
        assert fetch(f"{reg.url}/v2/", headers={"Authorization": f"Basic {token}"}).status == 200
