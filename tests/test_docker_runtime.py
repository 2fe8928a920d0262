"""The Docker examples run by the real daemons: Debian's containerd 1.6 and dockerd 20.10 (with
its built-in BuildKit) pull a Docker Hub image through a real pull-through cache, configured by
the files in examples/docker/ changed only in the addresses.

A stand-in "Docker Hub" (a plain ``distribution`` registry holding tiny images) sits behind a
``distribution`` registry in proxy mode that plays the Nexus Docker connector
(testbed/registry.py); the daemons run in a network namespace with only loopback and a DNS stub
(testbed/runtimes.py), so a fallback to the real Docker Hub cannot leave the machine and the
stub records the name it would have used. The Nexus double models only the connector's
``/v2/`` and token realm (testbed/docker_connector.py), not manifests or blobs, so it cannot
play the cache here. The standalone ``buildkitd`` that buildkitd.toml configures has no Debian
package: only dockerd's built-in BuildKit runs.

Every step is counted at both registries (blob downloads from their access logs): the first
pull fetches the blobs upstream through the cache, a second pull after removing the image gets
them from the cache and fetches no blob upstream.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed import runtimes
from tests.test_docker_examples import EXAMPLES, MIRROR_HOST, config_snippets

pytestmark = [
    pytest.mark.slow,  # real daemons
    pytest.mark.skipif(runtimes.missing() is not None, reason=runtimes.missing() or ""),
]
# containerd and the pull-through cache ask for no name at all; a Docker pull resolves the
# index name docker.io (a lookup, never a connection: there is no route). registry-1.docker.io,
# the endpoint both daemons fall back to, must not be asked for while the mirror is up.
INDEX_LOOKUPS = {"docker.io"}


def _steps(scenario: str, tmp: Path, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    steps = runtimes.run_isolated(scenario, tmp, params)
    return {s["name"]: s for s in steps}


@pytest.fixture(scope="module")
def containerd_steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    hosts = (EXAMPLES / "hosts.toml").read_text()
    (mirror,) = re.findall(r'^\[host\."([^"]+)"\]', hosts, re.MULTILINE)
    # only the mirror's address changes; `server` stays https://registry-1.docker.io
    adapted = hosts.replace(mirror, "${cache_url}")
    return _steps("containerd", tmp_path_factory.mktemp("containerd"), {"hosts_toml": adapted})


def dind_args() -> list[str]:
    """The dind container's dockerd arguments in arc-dind-values.yaml, with the pod's socket,
    group and the connector's address replaced by the test bed's."""
    values = yaml.safe_load((EXAMPLES / "arc-dind-values.yaml").read_text())
    (dind,) = [c for c in values["template"]["spec"]["initContainers"] if c["name"] == "dind"]
    command, *args = dind["args"]
    assert command == "dockerd"
    replace = {
        "unix:///var/run/docker.sock": "unix://${docker_socket}",
        "$(DOCKER_GROUP_GID)": "0",  # the pod's docker group; root here
        f"http://{MIRROR_HOST}": "${cache_url}",
        MIRROR_HOST: "${cache_host}",
    }
    adapted = []
    for arg in args:
        for old, new in replace.items():
            arg = arg.replace(old, new)
        adapted.append(arg)
    return adapted


@pytest.fixture(scope="module")
def dockerd_steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return _steps("dockerd", tmp_path_factory.mktemp("dockerd"), {"args": dind_args()})


def _ok(step: dict[str, Any]) -> None:
    assert step["rc"] == 0, step["output"]


def _through_mirror(step: dict[str, Any], cold: bool, dns: set[str]) -> None:
    """The step succeeded and got the image's two blobs (the config and the one layer) from the
    mirror, which fetched upstream only when cold (its misses); DNS was asked only ``dns``."""
    _ok(step)
    assert step["cache_blob_gets"] == 2
    if cold:
        assert step["hub_blob_gets"] >= 1
    else:
        assert step["hub_blob_gets"] == 0
    assert set(step["dns"]) <= dns, step["dns"]


def _fell_back_to_docker_hub(step: dict[str, Any]) -> None:
    """With the mirror down the pull failed after asking the DNS stub for Docker Hub's endpoint,
    the fallback, which says no such host."""
    assert step["rc"] != 0
    assert "registry-1.docker.io" in step["dns"]


def test_containerd_pulls_through_the_hosts_toml_mirror(
    containerd_steps: dict[str, dict[str, Any]],
) -> None:
    _through_mirror(containerd_steps["ctr pull (cold)"], cold=True, dns=set())


def test_containerd_second_pull_fetches_no_blob_upstream(
    containerd_steps: dict[str, dict[str, Any]],
) -> None:
    _ok(containerd_steps["ctr rm (cold)"])
    # `images rm --sync` dropped the blobs from the store: both come from the mirror again
    _through_mirror(containerd_steps["ctr pull (warm)"], cold=False, dns=set())


def test_containerd_falls_back_to_docker_hub_when_the_mirror_is_down(
    containerd_steps: dict[str, dict[str, Any]],
) -> None:
    # the example's "When the mirror fails, containerd falls back to `server`"
    down = containerd_steps["ctr pull (mirror down)"]
    _fell_back_to_docker_hub(down)
    assert down["hub_blob_gets"] == 0


def test_dind_daemon_flags_pull_docker_hub_images_through_the_mirror(
    dockerd_steps: dict[str, dict[str, Any]],
) -> None:
    _through_mirror(dockerd_steps["docker pull (cold)"], cold=True, dns=INDEX_LOOKUPS)


def test_dind_second_pull_fetches_no_blob_upstream(
    dockerd_steps: dict[str, dict[str, Any]],
) -> None:
    _ok(dockerd_steps["docker rmi (cold)"])
    _through_mirror(dockerd_steps["docker pull (warm)"], cold=False, dns=INDEX_LOOKUPS)


def test_docker_build_pulls_its_from_image_through_the_mirror(
    dockerd_steps: dict[str, dict[str, Any]],
) -> None:
    _through_mirror(dockerd_steps["docker build (cold)"], cold=True, dns=INDEX_LOOKUPS)
    for step in ("docker rmi (cold build)", "docker builder prune (cold)"):
        _ok(dockerd_steps[step])
    # the prune emptied BuildKit's cache: both blobs come from the mirror again
    _through_mirror(dockerd_steps["docker build (warm)"], cold=False, dns=INDEX_LOOKUPS)


def test_dockerd_falls_back_to_docker_hub_when_the_mirror_is_down(
    dockerd_steps: dict[str, dict[str, Any]],
) -> None:
    _fell_back_to_docker_hub(dockerd_steps["docker pull (mirror down)"])


def test_containerd_1x_reads_the_config_path_the_example_gives(tmp_path: Path) -> None:
    # containerd 1.x decodes the config with unknown keys dropped silently: `config dump`
    # prints what it understood.
    snippet = config_snippets()["1.x"]
    config = tmp_path / "config.toml"
    config.write_text(f'version = 2\nroot = "{tmp_path}/root"\nstate = "{tmp_path}/state"\n'
                      + snippet)
    dump = subprocess.run(["containerd", "--config", str(config), "config", "dump"],
                          capture_output=True, text=True, timeout=60, check=True).stdout
    section = dump.split('[plugins."io.containerd.grpc.v1.cri".registry]', 1)[1]
    assert section.split("\n", 2)[1].strip() == 'config_path = "/etc/containerd/certs.d"'


@pytest.mark.slow
def test_image_jobs_warm_pulls_through_the_cache_fetch_no_blob_upstream(tmp_path: Path) -> None:
    # the egress benchmark's image kind (bench/egress_docker.py), with a small image
    size = 256 * 1024
    steps = _steps("image_jobs", tmp_path, {"size": size, "builds": 3, "cold_runs": 2,
                                            "setups": ["no cache", "GitHub cache", "pipnexus"]})
    for name, step in steps.items():
        _ok(step)
        assert step["dns"] == [], name
    for name in ("no cache|1|1", "no cache|1|2", "no cache|2|0", "no cache|3|0"):
        assert steps[name]["hub_bytes"] >= size  # every ephemeral runner pulls it again
    exported = steps["GitHub cache|1|1"]["archive_up"]
    assert exported >= size
    for name in ("GitHub cache|2|0", "GitHub cache|3|0"):
        assert steps[name]["hub_bytes"] == 0
        assert steps[name]["archive_down"] == exported  # the archive crosses the NAT instead
    for name in ("pipnexus|1|1", "pipnexus|1|2"):  # a fresh cache per cold run
        assert steps[name]["hub_blob_gets"] >= 2 and steps[name]["hub_bytes"] >= size
    for name in ("pipnexus|2|0", "pipnexus|3|0"):
        assert steps[name]["hub_blob_gets"] == 0
        assert steps[name]["hub_bytes"] < 1024  # /v2/ and the manifest's HEAD (revalidation)
        assert steps[name]["inside"] >= size


def test_the_http_mirror_needs_no_insecure_registry_an_image_naming_the_connector_does(
    tmp_path: Path,
) -> None:
    # On 127.0.0.0/8 dockerd treats every registry as insecure: the registries listen on a
    # documentation address (192.0.2.10, on the namespace's loopback) instead.
    # moby v20.10.24 registry/service_v2.go lookupV2Endpoints keeps the mirror's http:// scheme;
    # a registry named in the image is tried over HTTPS, plain HTTP only when insecure.
    args = dind_args()
    insecure = [a for a in args if a.startswith("--insecure-registry=")]
    assert len(insecure) == 1
    without = _steps("dockerd_named", tmp_path / "without", {
        "address": "192.0.2.10", "args": [a for a in args if a not in insecure]})
    _ok(without["docker pull (mirror)"])
    assert without["docker pull (mirror)"]["cache_blob_gets"] == 2
    named = without["docker pull (named)"]
    assert named["rc"] != 0
    assert "server gave HTTP response to HTTPS client" in named["output"]
    with_it = _steps("dockerd_named", tmp_path / "with", {"address": "192.0.2.10", "args": args})
    _ok(with_it["docker pull (mirror)"])
    _ok(with_it["docker pull (named)"])
