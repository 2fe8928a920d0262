"""The Docker Hub examples in examples/docker/, checked against the real ARC chart and the
formats their readers define.

* ``arc-dind-values.yaml`` is rendered by the real gha-runner-scale-set chart with ``helm`` and
  compared with the chart's own ``containerMode.type=dind`` rendering: the pod spec must be the
  chart's dind layout plus only the lines the example marks ``pipnexus:``.
* ``buildkitd.toml`` and ``hosts.toml`` are parsed as TOML and read the way their readers'
  source reads them: the struct tags they decode into (both readers drop unknown keys without a
  word) and the rules that turn entries into hosts (moby/buildkit util/resolver,
  containerd core/remotes/docker/config/hosts.go). tests/test_docker_runtime.py runs them with
  the real containerd and dockerd.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from testbed import thirdparty

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "docker"
MIRROR_HOST = "nexus3.nexus.svc.cluster.local:8082"
GITHUB = ["--set", "githubConfigUrl=https://github.com/my-org",
          "--set", "githubConfigSecret=arc-github-app"]
CONTROLLER = ["--set", "controllerServiceAccount.name=arc-gha-rs-controller",
              "--set", "controllerServiceAccount.namespace=arc-systems"]
ADDED_ENV = {"PIPNEXUS_NEXUS_URL", "PIPNEXUS_REPOSITORY", "RUNNER_TOOL_CACHE",
             "AGENT_TOOLSDIRECTORY"}


def _pod_spec(*args: str) -> dict[str, Any]:
    chart = thirdparty.chart_dir("gha-runner-scale-set")
    out = subprocess.run(
        [thirdparty.helm(), "template", "arc", str(chart), "-n", "arc-runners",
         *GITHUB, *CONTROLLER, *args],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    (runner_set,) = [d for d in yaml.safe_load_all(out)
                     if d and d["kind"] == "AutoscalingRunnerSet"]
    spec: dict[str, Any] = runner_set["spec"]["template"]["spec"]
    return spec


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


@pytest.fixture(scope="module")
def rendered() -> tuple[dict[str, Any], dict[str, Any]]:
    ours = _pod_spec("-f", str(EXAMPLES / "arc-dind-values.yaml"))
    chart_dind = _pod_spec("--set", "containerMode.type=dind")
    return ours, chart_dind


def test_dind_example_adds_the_mirror_to_the_charts_own_dind_daemon(
    rendered: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    ours, chart_dind = rendered
    dind = _by_name(ours["initContainers"])["dind"]
    expected = _by_name(chart_dind["initContainers"])["dind"]
    added = [a for a in dind["args"] if a not in expected["args"]]
    assert added == [
        f"--registry-mirror=http://{MIRROR_HOST}",
        f"--insecure-registry={MIRROR_HOST}",
    ]
    assert {**dind, "args": expected["args"]} == expected


def test_dind_example_is_otherwise_the_charts_dind_layout(
    rendered: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    ours, chart_dind = rendered
    assert _by_name(ours["initContainers"])["init-dind-externals"] == _by_name(
        chart_dind["initContainers"])["init-dind-externals"]
    runner = _by_name(ours["containers"])["runner"]
    expected = _by_name(chart_dind["containers"])["runner"]
    env = [e for e in runner["env"] if e["name"] not in ADDED_ENV]
    mounts = [m for m in runner["volumeMounts"] if m["name"] != "tool-cache"]
    assert {**runner, "env": env, "volumeMounts": mounts} == expected
    volumes = _by_name(ours["volumes"])
    assert volumes.pop("tool-cache") == {
        "name": "tool-cache", "persistentVolumeClaim": {"claimName": "arc-tool-cache"}}
    assert volumes == _by_name(chart_dind["volumes"])
    assert {k: v for k, v in ours.items() if k != "securityContext"}.keys() == chart_dind.keys()


def test_dind_example_points_the_runner_at_nexus_and_keeps_the_tool_cache(
    rendered: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    ours, _ = rendered
    runner = _by_name(ours["containers"])["runner"]
    env = {e["name"]: e.get("value") for e in runner["env"]}
    assert env["PIPNEXUS_NEXUS_URL"] == "http://nexus3.nexus.svc.cluster.local:8081"
    assert env["RUNNER_TOOL_CACHE"] == env["AGENT_TOOLSDIRECTORY"] == "/opt/hostedtoolcache"
    mounts = {m["name"]: m["mountPath"] for m in runner["volumeMounts"]}
    assert mounts["tool-cache"] == "/opt/hostedtoolcache"
    assert ours["securityContext"] == {"fsGroup": 123}


def test_mirror_port_is_the_docker_connector_that_nexus_values_creates() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pipnexus", "nexus", "values", "--docker-hub"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    values = yaml.safe_load(out)
    (docker,) = [r for r in values["config"]["repos"] if r["format"] == "docker"]
    assert docker["docker"]["httpPort"] == int(MIRROR_HOST.rsplit(":", 1)[1])
    ports = {p["containerPort"] for p in values["service"]["additionalPorts"]}
    assert docker["docker"]["httpPort"] in ports


def _toml(name: str) -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    with open(EXAMPLES / name, "rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    return data


# BuildKit's registry table: moby/buildkit v0.32.2 cmd/buildkitd/config/config.go
# (`Registries map[string]resolverconfig.RegistryConfig `toml:"registry"``) and the struct tags
# of util/resolver/config/config.go RegistryConfig. BurntSushi/toml drops unknown keys.
BUILDKIT_REGISTRY_KEYS = frozenset({"mirrors", "http", "insecure", "ca", "keypair",
                                    "tlsconfigdir"})


def _buildkit_mirror_host(mirror: str) -> str:
    """The key BuildKit looks the mirror's own settings up under: util/resolver/utils.go
    extractMirrorHostAndPath (a URL's host, or the entry parsed as ``//entry``)."""
    parts = urllib.parse.urlsplit(mirror)
    if not parts.netloc:
        parts = urllib.parse.urlsplit(f"//{mirror}")
    return parts.netloc


def test_buildkitd_toml_uses_only_keys_buildkitd_decodes() -> None:
    config = _toml("buildkitd.toml")
    assert set(config) == {"registry"}
    for host, settings in config["registry"].items():
        assert set(settings) <= BUILDKIT_REGISTRY_KEYS, host


def test_buildkitd_toml_mirrors_docker_hub_over_plain_http_only() -> None:
    registry = _toml("buildkitd.toml")["registry"]
    (mirror,) = registry["docker.io"]["mirrors"]
    assert mirror == MIRROR_HOST
    # util/resolver/resolver.go NewRegistryConfig: the mirror's settings are m[mirrorHost];
    # fillInsecureOpts: `http` alone gives scheme http; with `insecure` as well it keeps https
    # and only falls back to http (docs/buildkitd.toml.md: "Do not enable this together with
    # `http`").
    settings = registry[_buildkit_mirror_host(mirror)]
    assert settings.get("http") is True
    assert not settings.get("insecure")


# containerd's hosts.toml: parseHostsFile and hostFileConfig in containerd/containerd v1.6.20
# remotes/docker/config/hosts.go and v2.2.7 core/remotes/docker/config/hosts.go (go-toml drops
# unknown keys without an error). The example serves both majors: v1.6.20's keys (2.x adds
# dial_timeout) and capabilities (parseHostConfig; 2.x adds referrers).
CONTAINERD_HOST_KEYS = frozenset({"capabilities", "ca", "client", "skip_verify", "header",
                                  "override_path"})
CONTAINERD_CAPABILITIES = frozenset({"pull", "resolve", "push"})


class ContainerdHost(NamedTuple):
    scheme: str
    host: str
    path: str
    capabilities: frozenset[str]


def _containerd_host(server: str, config: dict[str, Any]) -> ContainerdHost:
    """What parseHostConfig makes of a ``[host."…"]`` table or of ``server``."""
    if not server.startswith("http"):
        server = "https://" + server
    parts = urllib.parse.urlsplit(server)
    path = parts.path
    if path:
        path = posixpath.normpath(path)
        if not path.endswith("/v2") and not config.get("override_path"):
            path += "/v2"
    elif not config.get("override_path"):
        path = "/v2"
    caps = frozenset(c.lower() for c in config.get("capabilities", [])) or \
        CONTAINERD_CAPABILITIES
    return ContainerdHost(parts.scheme, parts.netloc, path, caps)


def test_containerd_hosts_toml_uses_only_keys_containerd_decodes() -> None:
    hosts = _toml("hosts.toml")
    assert set(hosts) <= CONTAINERD_HOST_KEYS | {"server", "host"}
    for url, config in hosts.get("host", {}).items():
        assert set(config) <= CONTAINERD_HOST_KEYS, url
        assert {c.lower() for c in config.get("capabilities", [])} <= CONTAINERD_CAPABILITIES


def test_containerd_hosts_toml_tries_the_plain_http_mirror_then_docker_hub() -> None:
    hosts = _toml("hosts.toml")
    # parseHostsFile: the [host] tables in file order, then `server` as the last resort
    tried = [_containerd_host(url, config) for url, config in hosts["host"].items()]
    tried.append(_containerd_host(hosts["server"], hosts))
    mirror, hub = tried
    assert (mirror.scheme, mirror.path) == ("http", "/v2")
    assert mirror.host.endswith(":8082")
    assert ".svc" not in mirror.host  # the node's resolver does not know cluster names
    assert mirror.capabilities == {"pull", "resolve"}  # never push to the proxy
    assert hub == ContainerdHost("https", "registry-1.docker.io", "/v2", CONTAINERD_CAPABILITIES)


# The CRI plugin's registry config_path, per major: containerd v1.6.20 pkg/cri/config/config.go
# (PluginConfig.Registry `toml:"registry"`, Registry.ConfigPath `toml:"config_path"`) in the
# plugin "io.containerd.grpc.v1.cri" (pkg/cri/cri.go: GRPCPlugin, ID "cri"); v2.2.7
# internal/cri/config/config.go (ImageConfig.Registry `toml:"registry"`, same ConfigPath) in
# the plugin "io.containerd.cri.v1.images" (plugins/types.go CRIServicePlugin
# "io.containerd.cri.v1", plugins/cri/images/plugin.go ID "images"). docs/hosts.md shows both.
CONFIG_PATH_KEYS = {
    "1.x": ("plugins", "io.containerd.grpc.v1.cri", "registry", "config_path"),
    "2.x": ("plugins", "io.containerd.cri.v1.images", "registry", "config_path"),
}


def config_snippets() -> dict[str, str]:
    """The config.toml lines the hosts.toml comment gives per major (``# containerd 1.x …:``
    then indented comment lines)."""
    snippets: dict[str, str] = {}
    major = None
    for line in (EXAMPLES / "hosts.toml").read_text().splitlines():
        found = re.match(r"# containerd ([12]\.x) ", line)
        if found:
            major = found[1]
            snippets[major] = ""
        elif major and line.startswith("#   "):
            snippets[major] += line[len("#   "):] + "\n"
        else:
            major = None
    return snippets


def test_containerd_config_snippets_set_each_majors_registry_config_path() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    snippets = config_snippets()
    assert snippets.keys() == CONFIG_PATH_KEYS.keys()
    for major, keys in CONFIG_PATH_KEYS.items():
        value: Any = tomllib.loads(snippets[major])
        for key in keys:
            assert isinstance(value, dict) and key in value, (major, key, snippets[major])
            value = value[key]
        assert value == "/etc/containerd/certs.d"
