"""The Docker Hub examples in examples/docker/, checked against the real ARC chart and the
formats their readers define.

* ``arc-dind-values.yaml`` is rendered by the real gha-runner-scale-set chart with ``helm`` and
  compared with the chart's own ``containerMode.type=dind`` rendering: the pod spec must be the
  chart's dind layout plus only the lines the example marks ``pipnexus:``.
* ``buildkitd.toml`` and ``hosts.toml`` are parsed as TOML and checked against the keys that
  moby/buildkit's docs/buildkitd.toml.md and containerd's docs/hosts.md define.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_buildkitd_toml_mirrors_docker_hub_over_plain_http() -> None:
    registry = _toml("buildkitd.toml")["registry"]
    assert registry["docker.io"] == {"mirrors": [MIRROR_HOST]}
    assert registry[MIRROR_HOST] == {"http": True, "insecure": True}


def test_containerd_hosts_toml_keeps_docker_hub_as_the_fallback() -> None:
    hosts = _toml("hosts.toml")
    assert hosts["server"] == "https://registry-1.docker.io"
    (mirror,) = hosts["host"].items()
    url, config = mirror
    assert url.startswith("http://") and url.endswith(":8082")
    assert ".svc" not in url  # the node's resolver does not know cluster names
    assert config == {"capabilities": ["pull", "resolve"]}
