"""The chart keys the linter carries (pipnexus.nexus.chart_keys) against the real chart.

Reads ``stevehipwell/helm-charts: charts/nexus3`` from the optional third-party folder that
``testbed.thirdparty`` finds (skips when absent): ``values.yaml`` for the keys, ``Chart.yaml``
for the versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipnexus.nexus import chart_keys, lint, schema, values
from testbed import thirdparty


def load(name: str) -> Any:
    path: Path = thirdparty.chart_dir("nexus3") / name
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_top_level_keys_are_the_charts() -> None:
    assert set(load("values.yaml")) == set(chart_keys.CHART_KEYS)


def test_config_keys_are_the_charts() -> None:
    doc = load("values.yaml")
    assert set(doc["config"]) == set(chart_keys.CONFIG_KEYS)
    assert set(doc["rootPassword"]) == set(chart_keys.ROOT_PASSWORD_KEYS)


def test_versions_are_the_charts() -> None:
    chart = load("Chart.yaml")
    assert chart["version"] == chart_keys.CHART_VERSION
    assert schema.parse_version(str(chart["appVersion"])) == schema.CHART_NEXUS_VERSION


# every version of the table, and the chart's own Nexus
VERSIONS = sorted({*schema.KNOWN_VERSIONS, schema.CHART_NEXUS_VERSION})


@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_the_charts_own_values_lint_silent(version: schema.Version) -> None:
    chart = thirdparty.chart_dir("nexus3")
    text = (chart / "values.yaml").read_text(encoding="utf-8")
    found = lint.lint_text(text, version)
    # the one true remark: the chart's default has no persistent volume
    assert [(d.severity, d.code) for d in found] == [("warning", "no-persistence")], found
    # the chart's CI values: config enabled, a blob store with a path, a raw hosted repository
    text = (chart / "ci" / "ci-values.yaml").read_text(encoding="utf-8")
    assert lint.lint_text(text, version) == []


def test_current_chart_keys_are_known() -> None:
    """Keys added by recent chart versions are no 'unknown key' warnings (no chart needed)."""
    text = values.render(values.Options()) + "".join(
        f"{key}: {{}}\n"
        for key in (
            "automountServiceAccountToken",
            "chownDataDir",
            "initNonRootSecurityContext",
            "initRootSecurityContext",
            "initResources",
            "manualMaintenanceMode",
        )
    )
    assert lint.lint_text(text) == []
