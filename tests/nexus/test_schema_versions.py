"""The version table's own rules: parsing versions, ranges, and what each version requires."""

from __future__ import annotations

import pytest

from pipnexus.nexus import schema
from pipnexus.nexus.answers import server_version

V = schema.parse_version


@pytest.mark.parametrize(
    "text, version",
    [
        ("3.95.1-01", (3, 95, 1)),
        ("3.95.1", (3, 95, 1)),
        ("3.95", (3, 95, 0)),
        ("Nexus/3.70.1-02 (OSS)", (3, 70, 1)),
    ],
)
def test_parse_version(text: str, version: tuple[int, int, int]) -> None:
    assert schema.parse_version(text) == version


@pytest.mark.parametrize("text", ["", "latest", "3", "3.x.1", "v3.95.1", "3.95.1.7"])
def test_parse_version_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError):
        schema.parse_version(text)


@pytest.mark.parametrize(
    "tag, version",
    [("3.95.1", V("3.95.1")), ("3.70.1-java17-ubi", V("3.70.1")), ("latest", None), ("", None)],
)
def test_version_from_image_tag(tag: str, version: schema.Version | None) -> None:
    assert schema.version_from_tag(tag) == version


def test_server_header() -> None:
    found = server_version("Nexus/3.95.1-01 (OSS)")
    assert found is not None and found.version == V("3.95.1")
    assert found.text == "3.95.1-01 (OSS)"
    assert server_version("nginx/1.25") is None
    assert server_version(None) is None
    assert server_version("Nexus/unknown (OSS)") is None


def test_known_versions_are_ordered() -> None:
    assert list(schema.KNOWN_VERSIONS) == sorted(schema.KNOWN_VERSIONS)
    assert schema.NEWEST == schema.KNOWN_VERSIONS[-1] >= schema.CHART_NEXUS_VERSION


def paths(fmt: str, rtype: str, version: str) -> set[str]:
    return {f.path for f in schema.required_fields(fmt, rtype, V(version))}


def test_http_client_requirements_by_version() -> None:
    for version in ("3.67.1", "3.90.1"):
        assert {"httpClient", "httpClient.blocked", "httpClient.autoBlock"} <= paths(
            "pypi", "proxy", version
        )
    for version in ("3.93.2", "3.94.0"):
        assert "httpClient" in paths("pypi", "proxy", version)
        assert "httpClient.blocked" not in paths("pypi", "proxy", version)
    # the current chart's Nexus: a pypi proxy needs no httpClient; docker and raw still do
    for version in ("3.95.1", "3.96.3"):
        assert not any(p.startswith("httpClient") for p in paths("pypi", "proxy", version))
        assert "httpClient" in paths("docker", "proxy", version)
        assert "httpClient" in paths("raw", "proxy", version)


def test_remove_quarantined_is_required_up_to_3_93_only() -> None:
    assert "pypi.removeQuarantined" in paths("pypi", "proxy", "3.93.2")
    assert "pypi.removeQuarantined" not in paths("pypi", "proxy", "3.94.0")
    # never the pypi block itself
    assert not any(
        p == "pypi" for v in schema.KNOWN_VERSIONS for p in paths("pypi", "proxy", str(v))
    )


def test_default_is_the_newest_and_old_versions_get_the_oldest_rules() -> None:
    assert schema.required_fields("pypi", "proxy") == schema.required_fields(
        "pypi", "proxy", schema.NEWEST
    )
    assert schema.required_fields("pypi", "proxy", V("3.13.0")) == schema.required_fields(
        "pypi", "proxy", schema.OLDEST
    )


def test_every_version_rules_are_the_intersection() -> None:
    every = set(schema.required_in_every_version("pypi", "proxy"))
    for v in schema.KNOWN_VERSIONS:
        assert every <= set(schema.required_fields("pypi", "proxy", v))
    assert "httpClient" not in {f.path for f in every}


def test_messages_name_the_versions() -> None:
    (blocked,) = [
        f for f in schema.field_history("pypi", "proxy") if f.path == "httpClient.blocked"
    ]
    assert blocked.versions == "Nexus 3.90 and earlier"
    (index_path,) = [k for k in schema.VERSIONED_KEYS if k.key == "indexPath"]
    assert index_path.versions == "Nexus 3.91 and later"
    assert schema.version_range(V("3.91"), V("3.94")) == "Nexus 3.91-3.93"
    assert schema.version_range(None, None) == "every Nexus version"


def test_accepted_keys() -> None:
    assert schema.accepted_keys("pypi", V("3.90.1")) == ("removeQuarantined",)
    assert schema.accepted_keys("pypi", V("3.93.2")) == ("removeQuarantined", "indexPath")
    assert schema.accepted_keys("pypi", V("3.94.0")) == ("indexPath",)
    assert "firewall" in schema.accepted_keys("", V("3.94.0"))
    assert "firewall" not in schema.accepted_keys("", V("3.93.2"))


def test_server_header_keeps_only_version_and_edition() -> None:
    found = server_version("Nexus/3.95.1-01 (s3cr3t; evil)")
    assert found is not None and found.text == "3.95.1-01"
    found = server_version("Nexus/3.95.1-01 (PRO) and more text")
    assert found is not None and found.text == "3.95.1-01 (PRO)"
