from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipnexus.cli import main
from pipnexus.nexus import lint, values
from pipnexus.nexus.values import Options


def run_lint(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, list[str], str]:
    path = tmp_path / "values.yaml"
    path.write_text(textwrap.dedent(text))
    rc = main(["nexus", "lint", *extra, str(path)])
    captured = capsys.readouterr()
    lines = [line.replace(str(path), "F") for line in captured.out.splitlines()]
    return rc, lines, captured.err.replace(str(path), "F")


# The values the team ended up with: retries/useTrustStore one level too high (lines 22, 23).
TEAM_FINAL = """\
rootPassword:
  secret: nexus-admin
  key: password
persistence:
  enabled: true
config:
  enabled: true
  anonymous:
    enabled: true
  repos:
    - name: pypi-proxy
      format: pypi
      type: proxy
      online: true
      storage:
        blobStoreName: default
        strictContentTypeValidation: true
      proxy:
        remoteUrl: https://pypi.org
        contentMaxAge: 1440
        metadataMaxAge: 1440
      negativeCache:
        enabled: true
        timeToLive: 1440
      httpClient:
        blocked: false
        autoBlock: true
        retries: 3
        useTrustStore: false
"""


def test_team_final_values_misplaced_http_client_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, lines, err = run_lint(tmp_path, TEAM_FINAL, capsys)
    assert rc == 1
    errors = [line for line in lines if ": warning: " not in line]
    assert errors == [
        "F:28:9: error: config.repos[0] (pypi-proxy): httpClient.retries is ignored by Nexus "
        "at this level; did you mean httpClient.connection.retries? [misplaced-key]",
        "F:29:9: error: config.repos[0] (pypi-proxy): httpClient.useTrustStore is ignored by "
        "Nexus at this level; did you mean httpClient.connection.useTrustStore? [misplaced-key]",
    ]
    assert "F: 2 errors" in err


# An earlier version: config nested under rootPassword (line 4) and no required fields.
TEAM_EARLIER = """\
rootPassword:
  secret: nexus-admin
  key: password
  config:
    enabled: true
    repos:
      - name: pypi-proxy
        format: pypi
        type: proxy
        online: true
        storage:
          blobStoreName: default
        proxy:
          remoteUrl: https://pypi.org/simple
persistence:
  enabled: true
"""


def test_team_earlier_values_config_under_root_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, lines, _ = run_lint(tmp_path, TEAM_EARLIER, capsys)
    assert rc == 1
    assert lines[0].startswith("F:4:3: error: 'config' is nested under rootPassword")
    assert "top-level key" in lines[0]
    assert len(lines) == 1  # the misplaced block itself is not linted as the real config


def test_required_fields_reported_at_their_parent_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """\
rootPassword:
  secret: nexus-admin
  key: password
config:
  enabled: true
  repos:
    - name: pypi-proxy
      format: pypi
      type: proxy
      online: true
      storage:
        blobStoreName: default
      proxy:
        remoteUrl: https://pypi.org/simple
"""
    # httpClient is required up to Nexus 3.94 (pypi proxies): lint for a version that needs it
    rc, lines, _ = run_lint(tmp_path, text, capsys, "--quiet", "--nexus-version", "3.90.1")
    assert rc == 1
    got = {(line.split(":")[1], line.split(": ", 3)[3].split(" (required")[0]) for line in lines}
    assert ("11", "storage.strictContentTypeValidation: must not be null") in got
    assert ("13", "proxy.contentMaxAge: must not be null") in got
    assert ("13", "proxy.metadataMaxAge: must not be null") in got
    assert ("7", "negativeCache: must not be null") in got
    assert ("7", "httpClient: must not be null") in got
    assert any(line.startswith("F:14:") and "ends in /simple" in line for line in lines)
    # nothing about the children of missing parents
    assert not any("negativeCache.enabled" in line for line in lines)


def values_with(edit: str, old: str) -> str:
    text = values.render(Options())
    assert old in text
    return text.replace(old, edit, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    "old, new, needle, message",
    [
        (
            "remoteUrl: https://pypi.org",
            "remoteUrl: https://pypi.org/simple/",
            "remoteUrl:",
            "ends in /simple",
        ),
        ("- name: pypi-proxy", "- name: _pypi", "- name:", "may not start with underscore"),
        ("- name: pypi-proxy", "- name: pypi proxy", "- name:", "Only letters"),
        (
            "blobStoreName: default",
            "blobStoreName: pypi",
            "blobStoreName:",
            "neither 'default' nor defined in config.blobStores",
        ),
        (
            "createDefaultBlobStore: true",
            "createDefaultBlobStore: false",
            "blobStoreName:",
            "createDefaultBlobStore is false",
        ),
        (
            "  secret: nexus3-root-password",
            "  secret:",
            "# Needs rootPassword.secret|1",
            "config.enabled needs rootPassword.secret",
        ),
        (
            "  key: password",
            "  key: password\n  password: hunter2",
            "password: hunter2",
            "unknown key rootPassword.password",
        ),
        (
            "  key: password",
            "  key: password\n  name: x",
            "name: x",
            "only rootPassword.secret and rootPassword.key exist",
        ),
        (
            "          retries: 2",
            "          retries: 20",
            "retries: 20",
            "httpClient.connection.retries: must be less than or equal to 10",
        ),
        (
            "        timeToLive: 10",
            "        timeToLive: 10\n        ttl: 5",
            "ttl: 5",
            "did you mean negativeCache.timeToLive",
        ),
        (
            "        metadataMaxAge: 60",
            "        metadataMaxAge: 60\n        timeToLive: 5",
            "timeToLive: 5",
            "did you mean negativeCache.timeToLive",
        ),
        (
            "      online: true",
            "      online: true\n      remote_url: x",
            "remote_url",
            "did you mean proxy.remoteUrl",
        ),
        (
            "      online: true",
            "      online: true\n      blobStoreName: x",
            "blobStoreName: x",
            "did you mean storage.blobStoreName",
        ),
        ("      type: proxy", "      type: pypi-proxy", "type: pypi", "chart 4.x form"),
        (
            "  anonymous:\n",
            "  rootPassword:\n    secret: x\n  anonymous:\n",
            "  rootPassword:",
            "replaced by the top-level rootPassword",
        ),
        ("      format: pypi\n", "", "- name:", "format is missing"),
    ],
)
def test_mistakes_are_caught_at_the_right_line(
    old: str,
    new: str,
    needle: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = values_with(new, old)
    needle, _, offset = needle.partition("|")
    expected_line = line_of(text, needle) + int(offset or 0)
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1, lines
    hits = [line for line in lines if message in line]
    assert hits, lines
    assert hits[0].startswith(f"F:{expected_line}:"), (hits, expected_line)
    assert ": error: " in hits[0] and hits[0].endswith("]"), hits


def test_config_nested_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = values.render(Options()) + "metrics:\n  enabled: false\n  config:\n    repos: []\n"
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1
    n = len(text.splitlines()) - 1
    assert lines == [
        f"F:{n}:3: error: a 'config' block is nested under metrics, so the chart ignores "
        "it; it must be a top-level key [misplaced-key]"
    ]


def test_repos_at_top_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines, _ = run_lint(tmp_path, "persistence:\n  enabled: true\nrepos: []\n", capsys)
    assert rc == 1
    assert lines == [
        "F:3:1: error: 'repos' at the top level is ignored by the chart; it belongs under "
        "config [misplaced-key]"
    ]


def test_duplicate_repository_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = values.render(Options(docker_hub=True)).replace(
        "- name: docker-hub", "- name: PYPI-proxy"
    )
    text = text.replace("8082/library", "x")
    rc, lines, _ = run_lint(tmp_path, text, capsys, "-q")
    assert rc == 1
    dup = [line for line in lines if "already used" in line]
    assert dup and dup[0].startswith(f"F:{line_of(text, '- name: PYPI-proxy')}:")
    assert any("must be lowercase" in line for line in lines)


def test_realms_without_password_realm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = values.render(Options(docker_hub=True)).replace("      - NexusAuthenticatingRealm\n", "")
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1
    assert any("lacks NexusAuthenticatingRealm" in line for line in lines)


def test_warnings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = values.render(Options()).replace(
        "persistence:\n  enabled: true", "persistence:\n  enabled: false"
    )
    text = text.replace(
        "        removeQuarantined: false", "        removeQuarantined: false\n        mode: x"
    )
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 0
    assert len(lines) == 2 and all(": warning: " in line for line in lines)
    assert "unknown key pypi.mode" in lines[1]
    rc, lines, _ = run_lint(tmp_path, text, capsys, "--quiet")
    assert (rc, lines) == (0, [])


@pytest.mark.parametrize(
    "text, line, col",
    [
        ("config:\n  enabled: [true\n  repos: []\n", 3, 8),
        ("a: 1\nb:\n\tc: 2\n", 3, 1),
        ("config: 1\nconfig: 2\n", 2, 1),
    ],
)
def test_invalid_yaml_is_file_line_col_exit_2(
    text: str, line: int, col: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, lines, err = run_lint(tmp_path, text, capsys)
    assert rc == 2
    assert lines == []
    assert err.count("\n") == 1
    assert err.startswith(f"F:{line}:{col}: error: invalid YAML")
    assert err.rstrip().endswith("[yaml-syntax]")


def test_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nexus", "lint", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err


def test_non_mapping_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lint(tmp_path, "", capsys)[:2] == (
        1,
        ["F:1: error: empty values file [invalid-value]"],
    )
    assert run_lint(tmp_path, "- a\n", capsys)[0] == 1
    rc, lines, _ = run_lint(tmp_path, "rootPassword: hunter2\n", capsys)
    assert rc == 1 and "takes no inline password" in lines[0]
    assert "hunter2" not in "\n".join(lines)


def test_lint_text_api() -> None:
    problems = lint.lint_text(TEAM_FINAL)
    assert [d.line for d in problems if d.severity == "error"] == [28, 29]


def test_unknown_chart_keys_are_warnings_with_hints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = values.render(Options()).replace("  repos:\n", "  repo:\n")
    text = text.replace("persistence:\n", "persistance:\n  enabled: true\npersistence:\n")
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 0
    assert (
        f"F:{line_of(text, 'persistance:')}:1: warning: unknown key persistance: the chart "
        "ignores it; did you mean persistence? [unknown-key]" in lines
    )
    assert (
        f"F:{line_of(text, '  repo:')}:3: warning: unknown key config.repo: the chart ignores "
        "it; did you mean config.repos? [unknown-key]" in lines
    )


def test_block_indented_one_level_too_deep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = values.render(Options()).replace(
        "      negativeCache:\n        enabled: true\n        timeToLive: 10\n",
        "        negativeCache:\n          enabled: true\n          timeToLive: 10\n",
    )
    rc, lines, _ = run_lint(tmp_path, text, capsys, "-q")
    assert rc == 1
    n = line_of(text, "negativeCache:")
    assert (
        f"F:{n}:9: error: config.repos[0] (pypi-proxy): proxy.negativeCache is ignored by Nexus "
        "at this level; did you mean negativeCache at the repository level? [misplaced-key]"
        in lines
    )
    assert any("negativeCache: must not be null" in line for line in lines)


# A correct values file for the current chart (stevehipwell/nexus3 5.25.1, Nexus 3.95.1): no
# httpClient (optional for a pypi proxy since Nexus 3.95), no pypi block, and chart keys that
# 5.x added.
CURRENT_CHART = """\
automountServiceAccountToken: false
chownDataDir: true
initResources: {}
manualMaintenanceMode: false
rootPassword:
  secret: nexus-admin
  key: password
persistence:
  enabled: true
config:
  enabled: true
  anonymous:
    enabled: true
  repos:
    - name: pypi-proxy
      format: pypi
      type: proxy
      online: true
      storage:
        blobStoreName: default
        strictContentTypeValidation: true
      proxy:
        remoteUrl: https://pypi.org
        contentMaxAge: -1
        metadataMaxAge: 60
      negativeCache:
        enabled: true
        timeToLive: 10
"""


def test_current_chart_values_are_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lint(tmp_path, CURRENT_CHART, capsys) == (0, [], "")
    assert run_lint(tmp_path, CURRENT_CHART, capsys, "--nexus-version", "3.95.1") == (0, [], "")


@pytest.mark.parametrize("how", ["option", "image-tag"])
def test_current_chart_values_fail_on_nexus_3_90(
    how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if how == "option":
        rc, lines, _ = run_lint(tmp_path, CURRENT_CHART, capsys, "--nexus-version", "3.90.1")
    else:
        text = "image:\n  tag: 3.90.1\n" + CURRENT_CHART
        rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1
    (line,) = lines
    assert (
        "httpClient: must not be null (required by Nexus 3.94 and earlier, linted for 3.90.1;"
        in (line)
    )
    assert line.endswith("[missing-field]")


def test_nexus_version_option_wins_over_image_tag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "image:\n  tag: 3.90.1\n" + CURRENT_CHART
    assert run_lint(tmp_path, text, capsys, "--nexus-version", "3.96.3")[0] == 0


def test_bad_nexus_version_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines, err = run_lint(tmp_path, CURRENT_CHART, capsys, "--nexus-version", "latest")
    assert (rc, lines) == (2, [])
    assert err.count("\n") == 1 and "--nexus-version must be a Nexus version" in err


def with_repo_lines(*lines: str) -> str:
    return CURRENT_CHART + "".join(f"      {line}\n" for line in lines)


@pytest.mark.parametrize("key", ["routingRule", "routingRuleName"])
def test_routing_rule_warns_with_both_facts(
    key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, lines, _ = run_lint(tmp_path, with_repo_lines(f"{key}: github-releases"), capsys)
    assert rc == 0
    (line,) = lines
    assert ": warning: " in line and line.endswith("[routing-rule]")
    assert "up to Nexus 3.77 reads" in line and "3.94 names routingRuleName" in line


@pytest.mark.parametrize(
    "lines, version, warned",
    [
        (("pypi:", "  removeQuarantined: true"), "3.94.0", "pypi.removeQuarantined"),
        (("pypi:", "  removeQuarantined: true"), "3.93.2", None),
        (("pypi:", "  removeQuarantined: false"), "3.96.3", None),  # the default: no effect
        (
            ("pypi:", "  removeQuarantined: false", "  indexPath: /simple"),
            "3.90.1",
            "pypi.indexPath",
        ),
        (("pypi:", "  removeQuarantined: false", "  indexPath: /simple"), "3.93.2", None),
        # 3.93 requires removeQuarantined in a pypi block; 3.94 does not
        (("pypi:", "  indexPath: /simple"), "3.94.0", None),
        (("firewall:", "  mode: AUDIT"), "3.93.2", "firewall"),
        (("firewall:", "  mode: AUDIT"), "3.94.0", None),
    ],
)
def test_keys_of_other_versions_are_warnings(
    lines: tuple[str, ...],
    version: str,
    warned: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = with_repo_lines(*lines)
    # 3.90 requires httpClient: give it so that only the key under test can be reported
    if version < "3.95":
        text += "      httpClient:\n        blocked: false\n        autoBlock: true\n"
    rc, found, _ = run_lint(tmp_path, text, capsys, "--nexus-version", version)
    assert rc == 0, found
    if warned is None:
        assert found == []
    else:
        (line,) = found
        assert f"{warned} is read by Nexus" in line and f"Nexus {version} ignores it" in line
        assert line.endswith("[version-specific]")


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    path = tmp_path / "values.yaml"
    path.write_text(TEAM_FINAL)
    assert main(["nexus", "lint", "--format", "json", str(path)]) == 1
    out = json.loads(capsys.readouterr().out)
    errors = [d for d in out if d["severity"] == "error"]
    assert [(d["path"], d["line"], d["col"], d["code"]) for d in errors] == [
        (str(path), 28, 9, "misplaced-key"),
        (str(path), 29, 9, "misplaced-key"),
    ]
    assert set(out[0]) == {"path", "line", "col", "severity", "code", "message"}
    path.write_text("a: [1\n")
    assert main(["nexus", "lint", "--format", "json", str(path)]) == 2
    (syntax,) = json.loads(capsys.readouterr().out)
    assert syntax["code"] == "yaml-syntax" and syntax["line"] == 2


def test_every_code_is_in_the_table_and_documented() -> None:
    import inspect
    import re

    from pipnexus.diagnostics import CODES
    from pipnexus.nexus import lint_repo, status

    emitted: set[str] = set()
    for text in (TEAM_FINAL, TEAM_EARLIER, CURRENT_CHART, with_repo_lines("routingRule: x")):
        emitted |= {d.code for d in lint.lint_text(text)}
    assert emitted <= set(CODES)
    # every slug literal of the nexus commands is a code, but for these two words
    source = "".join(inspect.getsource(m) for m in (lint, lint_repo, status))
    used = set(re.findall(r'"([a-z0-9]+(?:-[a-z0-9]+)+)"', source)) - {"read-only", "utf-8"}
    assert emitted <= used
    assert used <= set(CODES), used - set(CODES)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "nexus.md").read_text()
    assert not [code for code in used if f"`{code}`" not in docs]


@pytest.mark.parametrize("version", ["3.67.1", "3.77.1", "3.90.1", "3.94.0", "3.96.3"])
def test_file_blob_store_path_is_required_by_every_version(
    version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # @NotEmpty(message = "Path is required") path in FileBlobStoreApiModel at every
    # sonatype/nexus-public tag from 3.29.2 to 3.77.1 (components/nexus-blobstore-file/src/main/
    # java/org/sonatype/nexus/blobstore/file/rest/), although the OpenAPI lists it only from 3.94
    text = values.render(Options(blob_store="pypi-blobs")).replace("      path: pypi-blobs\n", "")
    rc, lines, _ = run_lint(tmp_path, text, capsys, "--nexus-version", version)
    assert rc == 1
    assert lines == [
        f"F:{line_of(text, '- name: pypi-blobs')}:7: error: config.blobStores[0].path: Path is "
        f"required (required by every Nexus version, linted for {version}) [missing-field]"
    ]


ENABLED = "  # Needs rootPassword.secret: the Job logs in as admin.\n  enabled: true\n"


@pytest.mark.parametrize(
    "old, new, what",
    [
        (ENABLED, "  enabled: false\n", "is false"),
        (ENABLED, "", "is not set (the chart's default: false)"),
    ],
)
def test_config_disabled_with_repositories_is_an_error(
    old: str, new: str, what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # stevehipwell/helm-charts: charts/nexus3/templates/job-config.yaml renders the Job only
    # `if and .Values.config.enabled .Values.rootPassword.secret` (test_chart checks it with helm)
    text = values_with(new, old)
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1
    at = line_of(text, "  enabled: false") if "false" in new else line_of(text, "config:")
    col = 3 if "false" in new else 1
    assert lines == [
        f"F:{at}:{col}: error: config.enabled {what}: the chart renders no config Job, so "
        "config.repos is never applied; set config.enabled: true [config-disabled]"
    ]


def test_config_disabled_names_blob_stores_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = values.render(Options(blob_store="pypi-blobs")).replace(ENABLED, "  enabled: false\n")
    rc, lines, _ = run_lint(tmp_path, text, capsys, "-q")
    assert rc == 1
    (line,) = lines
    assert "so config.blobStores and config.repos are never applied" in line


@pytest.mark.parametrize("value, said", [
    ("", "is empty"), ("0", "is 0"), ("false", "is false"),
    # YAML 1.1 false, as Helm reads values (test_chart checks it with helm)
    ("no", "is no"), ("off", "is off"), ("N", "is N"), ("NO", "is NO"),
])
def test_config_disabled_says_the_value_as_written(
    value: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = values_with(f"  enabled: {value}\n", ENABLED)
    rc, lines, _ = run_lint(tmp_path, text, capsys, "-q")
    assert rc == 1
    assert [line for line in lines if f"config.enabled {said}: the chart" in line], lines


@pytest.mark.parametrize("value", ['"no"', "'off'", "yes", "on", "y"])
def test_config_enabled_true_as_helm_reads_it_is_no_finding(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # quoted, "no" is a non-empty string (true in the template's `if`); yes/on/y are true
    text = values_with(f"  enabled: {value}\n", ENABLED)
    _, lines, _ = run_lint(tmp_path, text, capsys)
    assert not [line for line in lines if "[config-disabled]" in line], lines


def test_persistence_enabled_no_is_false_as_helm_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = values.render(Options()).replace(
        "persistence:\n  enabled: true", "persistence:\n  enabled: no")
    assert "enabled: no" in text
    _, lines, _ = run_lint(tmp_path, text, capsys)
    assert [line for line in lines if line.endswith("[no-persistence]")], lines


def test_config_disabled_without_repositories_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "persistence:\n  enabled: true\nconfig:\n  enabled: false\n  repos: []\n"
    text += "  blobStores: []\n"
    assert run_lint(tmp_path, text, capsys) == (0, [], "")


@pytest.mark.parametrize(
    "block, raw",
    [
        ("image:\n  tag: 3.90\n", "3.90"),
        ("image:\n  tag: 3\n", "3"),
        ("image: {tag: 3.90, digest: ''}\n", "3.90"),
        ("bashImage:\n  tag: 5.2  # pinned\n", "5.2"),
        ("jdkImage:\n  tag: 21\n", "21"),
        ("image:\n  tag: true\n", "true"),
    ],
)
def test_non_string_image_tag_is_an_error(
    block: str, raw: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # stevehipwell/helm-charts: charts/nexus3/templates/_helpers.tpl "nexus3.image" compares
    # the tag with a string (`ne .tag "-"`); helm 4 then fails with "incompatible types for
    # comparison: float64 and string" (test_chart runs the real helm on it)
    text = block + CURRENT_CHART
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1
    (line,) = lines
    name = block.split(":", 1)[0]
    col = 3 if block.startswith(f"{name}:\n") else line.split(":")[2]
    assert line.startswith(f"F:{line_of(text, 'tag:')}:{col}: error: {name}.tag: {raw} is ")
    assert line.endswith(f'quote it: tag: "{raw}" [invalid-value]')


def test_string_image_tags_are_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for block in ('image:\n  tag: "3.95"\n', "image:\n  tag: 3.95.1\n", "image:\n  tag:\n"):
        assert run_lint(tmp_path, block + CURRENT_CHART, capsys) == (0, [], ""), block


def test_non_string_config_job_image_tag_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = "  job:\n    image:\n      tag: 1.31\n"
    text = CURRENT_CHART.replace("  anonymous:", f"{job}  anonymous:")
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1
    (line,) = lines
    assert 'config.job.image.tag: 1.31 is a number' in line and 'tag: "1.31"' in line


# where a key lands in CURRENT_CHART's repository: (object path, text to append it to, indent)
PLACES = {
    "proxy": ("        metadataMaxAge: 60\n", "        "),
    "storage": ("        strictContentTypeValidation: true\n", "        "),
    "negativeCache": ("        timeToLive: 10\n", "        "),
    "httpClient": (CURRENT_CHART + "      httpClient:\n", "        "),
    "httpClient.authentication": (
        CURRENT_CHART + "      httpClient:\n        authentication:\n          type: username\n",
        "          ",
    ),
    "": (CURRENT_CHART, "      "),
}


def put_in(where: str, line: str) -> str:
    anchor, indent = PLACES[where]
    if anchor.startswith(CURRENT_CHART):
        return anchor + indent + line
    assert CURRENT_CHART.count(anchor) == 1
    return CURRENT_CHART.replace(anchor, anchor + indent + line)


@pytest.mark.parametrize("key", ["retries", "timeout", "useTrustStore"])
@pytest.mark.parametrize("where", sorted(PLACES))
def test_connection_keys_anywhere_but_connection_are_misplaced(
    key: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # HttpClientConnectionAttributes holds retries, timeout and useTrustStore in every published
    # API (3.67.1 ... 3.96.3); anywhere else the chart posts them as-is and Nexus (Jackson with
    # FAIL_ON_UNKNOWN_PROPERTIES off) drops them without a word: test_chart shows it
    value = {"retries": "3", "timeout": "30", "useTrustStore": "true"}[key]
    text = put_in(where, f"{key}: {value}\n")
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1, lines
    here = f"{where}.{key}" if where else key
    expected = (
        f"F:{line_of(text, f'{key}: {value}')}:{len(PLACES[where][1]) + 1}: error: "
        f"config.repos[0] (pypi-proxy): {here} is ignored by Nexus at this level; did you mean "
        f"httpClient.connection.{key}? [misplaced-key]"
    )
    assert expected in lines, lines


@pytest.mark.parametrize("where", ["proxy", ""])
def test_connection_block_anywhere_but_http_client_is_misplaced(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    indent = PLACES[where][1]
    text = put_in(where, f"connection:\n{indent}  retries: 3\n")
    rc, lines, _ = run_lint(tmp_path, text, capsys)
    assert rc == 1
    assert any(
        "connection is ignored by Nexus at this level; did you mean httpClient.connection" in line
        and line.endswith("[misplaced-key]")
        for line in lines
    ), lines


@pytest.mark.parametrize(
    "version, severity",
    [("3.67.1", "warning"), ("3.90.1", "warning"), ("3.93.2", "warning"),
     ("3.94.0", "error"), ("3.96.3", "error")],
)
def test_docker_index_type_follows_the_published_api(
    version: str, severity: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # DockerProxyAttributes lists indexType as required in the 3.94.0 OpenAPI and the npm
    # 3.96.3 models only; 3.67.1 ... 3.93.2 list no required field there
    text = values.render(Options(docker_hub=True))
    text = text.replace("        indexType: HUB\n", "")
    rc, lines, _ = run_lint(tmp_path, text, capsys, "--nexus-version", version)
    hits = [line for line in lines if "dockerProxy.indexType" in line]
    assert len(hits) == 1, lines
    assert f": {severity}: " in hits[0] and hits[0].endswith("[missing-field]")
    assert rc == (1 if severity == "error" else 0)
    if severity == "warning":
        assert "datadrivers/go-nexus-client#83" in hits[0]


@pytest.mark.parametrize(
    "version, properties, warned",
    [
        ("3.90.1", "", True),
        ("3.93.2", "", True),
        ("3.93.2", "properties:\n  - nexus.proxy.urlEncodingMode.enabled=true\n", False),
        ("3.94.0", "", False),
        ("3.96.3", "", False),
    ],
)
def test_preserve_encoded_characters_needs_the_property_on_3_82_to_3_93(
    version: str, properties: str, warned: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the 3.90.1 and 3.93.2 OpenAPI: "only available when nexus.proxy.urlEncodingMode.enabled=true
    # is set" (test_schema_published checks the text per version); the chart's properties list
    # goes into nexus.properties (charts/nexus3/templates/configmap-properties.yaml)
    text = properties + values.render(Options()).replace(
        "        metadataMaxAge: -1\n",
        "        metadataMaxAge: -1\n        preserveEncodedCharacters: true\n",
    )
    assert "preserveEncodedCharacters" in text
    rc, lines, _ = run_lint(tmp_path, text, capsys, "--nexus-version", version)
    assert rc == 0
    if warned:
        (line,) = lines
        assert "honour it only when nexus.proxy.urlEncodingMode.enabled=true is set" in line
        assert line.endswith("[version-specific]")
    else:
        assert lines == []
