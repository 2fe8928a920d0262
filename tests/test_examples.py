"""examples/arc/values.yaml renders with the real actions-runner-controller chart and points every
runner at the Nexus that examples/nexus/values.yaml gives.

The charts (actions/actions-runner-controller ``charts/gha-runner-scale-set`` 0.14.2,
stevehipwell/helm-charts ``charts/nexus3`` 5.25.1) are the pinned third-party files
(``testbed/thirdparty.json``) and helm comes from ``.tools/`` (bash .ci/run fetches both); the
tests skip with the reason otherwise.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from testbed import thirdparty
from tests.nexus.test_chart import helm_template

REPO = Path(__file__).resolve().parent.parent
ARC_VALUES = REPO / "examples" / "arc" / "values.yaml"
NEXUS_VALUES = REPO / "examples" / "nexus" / "values.yaml"


def runner_env(tmp_path: Path) -> dict[str, Any]:
    docs = helm_template(
        thirdparty.chart_dir("gha-runner-scale-set"),
        ARC_VALUES,
        tmp_path,
        # without a cluster the chart needs the controller's service account named
        "--set",
        "controllerServiceAccount.name=x",
        "--set",
        "controllerServiceAccount.namespace=y",
    )
    (runner_set,) = [d for d in docs if d["kind"] == "AutoscalingRunnerSet"]
    containers = runner_set["spec"]["template"]["spec"]["containers"]
    (runner,) = [c for c in containers if c["name"] == "runner"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in runner.get("env", [])}


def test_runner_pods_carry_the_pipnexus_variables(tmp_path: Path) -> None:
    env = runner_env(tmp_path)
    pipnexus = {k: v for k, v in env.items() if k.startswith("PIPNEXUS_")}
    assert sorted(pipnexus) == ["PIPNEXUS_NEXUS_URL", "PIPNEXUS_REPOSITORY"]
    nexus = yaml.safe_load(NEXUS_VALUES.read_text())
    (repo,) = [r for r in nexus["config"]["repos"] if r["format"] == "pypi"]
    assert pipnexus["PIPNEXUS_REPOSITORY"] == repo["name"]


def test_the_nexus_url_is_the_service_the_nexus_chart_renders(tmp_path: Path) -> None:
    url = urllib.parse.urlsplit(runner_env(tmp_path)["PIPNEXUS_NEXUS_URL"])
    host = url.hostname or ""
    match = re.fullmatch(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local", host)
    assert match, host
    service_name, namespace = match.groups()
    # the install command the examples document: release nexus3 in namespace nexus
    docs = helm_template(
        thirdparty.chart_dir("nexus3"), NEXUS_VALUES, tmp_path, release="nexus3",
        namespace=namespace,
    )
    services = {
        d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"
    }
    assert service_name in services, sorted(services)
    service = services[service_name]
    assert service["metadata"]["namespace"] == namespace
    assert url.port in [p["port"] for p in service["spec"]["ports"]]


def test_every_pipnexus_variable_named_in_the_example_is_read_by_pipnexus() -> None:
    named = set(re.findall(r"\bPIPNEXUS_[A-Z_]+\b", ARC_VALUES.read_text()))
    assert named
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in (REPO / "pipnexus").rglob("*.py")
    )
    source += (REPO / "action.yml").read_text(encoding="utf-8")
    unread = sorted(name for name in named if name not in source)
    assert unread == []
