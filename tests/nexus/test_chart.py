"""The real stevehipwell/nexus3 chart and its own config script, against the Nexus double.

``helm template`` renders the chart (stevehipwell/helm-charts ``charts/nexus3`` 5.25.1, for
Nexus 3.95.1, pinned in ``testbed/thirdparty.json``) with our values; the
rendered config Job's ConfigMaps give ``CONFIG_DIR/conf/*.json`` and the chart's
``configure.sh`` (with its Groovy scripts), which runs under bash with curl and jq against a
double playing the chart's Nexus version, exactly as the Job would (NEXUS_HOST, NEXUS_USER,
NEXUS_PASSWORD, CONFIG_DIR).

Two documented text substitutions in a copy of the script, each asserted to have happened once:
its ``sleep 5`` (start) and ``sleep 15`` (status poll) become ``sleep 0``, and the Job's
absolute ``/scripts/*.groovy`` mount becomes the test's own directory.

Skips with the reason when the chart, helm (bash .ci/run fetches both), jq or curl is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from pipnexus.cli import main
from pipnexus.nexus import values
from testbed import thirdparty
from testbed.nexus_admin import AdminApi, install
from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from tests.nexus.test_contract import (
    REQUEST_MODELS,
    VERSIONS,
    assert_valid_or_predicted,
    npm_missing,
)
from tests.nexus.test_lint import TEAM_EARLIER, TEAM_FINAL

REPO = Path(__file__).resolve().parents[2]
ROOT_PASSWORD = "chart-r00t-pw"
TIMEOUT = 60  # seconds, for every subprocess
SUBSTITUTIONS = (
    ("sleep 5\n", "sleep 0\n"),
    ("sleep 15\n", "sleep 0\n"),
    ("for script_file in /scripts/*.groovy;", 'for script_file in "${SCRIPTS_DIR}"/*.groovy;'),
)


class Rendered(NamedTuple):
    docs: list[dict[str, Any]]
    conf: dict[str, str]  # the config Job's CONFIG_DIR/conf files (empty: no Job rendered)
    scripts: dict[str, str]  # the Job's /scripts files


class Run(NamedTuple):
    rc: int
    output: str
    double: NexusDouble
    api: AdminApi


def chart_version() -> str:
    chart = yaml.safe_load((thirdparty.chart_dir("nexus3") / "Chart.yaml").read_text())
    return str(chart["appVersion"])


def helm_template(
    chart: Path,
    values_file: Path,
    tmp: Path,
    *extra: str,
    release: str = "rel",
    namespace: str = "ns",
) -> list[dict[str, Any]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "HELM_CACHE_HOME": str(tmp / "helm"),
        "HELM_CONFIG_HOME": str(tmp / "helm"),
        "HELM_DATA_HOME": str(tmp / "helm"),
    }
    done = subprocess.run(
        [thirdparty.helm(), "template", release, str(chart), "-n", namespace,
         "-f", str(values_file), *extra],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def render(values_file: Path, tmp: Path) -> Rendered:
    docs = helm_template(thirdparty.chart_dir("nexus3"), values_file, tmp)
    maps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d["kind"] == "ConfigMap"}
    jobs = [d for d in docs if d["kind"] == "Job"]
    if not jobs:
        return Rendered(docs, {}, {})
    (job,) = jobs
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v.get("configMap", {}).get("name") for v in spec["volumes"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    by_path = {path: maps[volumes[name]] for name, path in mounts.items() if volumes.get(name)}
    assert container["args"] == ["/scripts/configure.sh"]
    return Rendered(docs, by_path[env["CONFIG_DIR"] + "/conf"], by_path["/scripts"])


def patched_script(original: str) -> str:
    text = original
    for old, new in SUBSTITUTIONS:
        assert text.count(old) == 1, f"configure.sh changed upstream: {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def tools() -> Iterator[str]:
    jq = thirdparty.jq()
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    yield os.pathsep.join(dict.fromkeys([str(Path(jq).parent), os.environ.get("PATH", "")]))


def configure(
    rendered: Rendered,
    upstream: Upstream,
    tmp: Path,
    path: str,
    anonymous_before: bool,
    runs: int = 1,
) -> Run:
    """Run the chart's configure.sh ``runs`` times (the Job runs after every install and
    upgrade) against a fresh double of the chart's Nexus version; the last run's result."""
    config_dir, scripts_dir = tmp / "config", tmp / "scripts"
    (config_dir / "conf").mkdir(parents=True)
    scripts_dir.mkdir()
    for name, text in rendered.conf.items():
        (config_dir / "conf" / name).write_text(text)
    for name, text in rendered.scripts.items():
        (scripts_dir / name).write_text(patched_script(text) if name == "configure.sh" else text)
    props = next(d for d in rendered.docs if d["metadata"]["name"].endswith("-props"))
    double = NexusDouble(upstream.base_url, repository=None, version=chart_version())
    try:
        double.users["admin"] = ROOT_PASSWORD
        double.anonymous_enabled = anonymous_before
        if "nexus.blobstore.provisionDefaults=false" in props["data"]["nexus.properties"]:
            double.blob_stores.clear()  # createDefaultBlobStore: false
        api = install(double)
        env = {
            "PATH": path,
            "HOME": str(tmp),
            "TMPDIR": str(tmp),
            "NO_PROXY": "*",
            "NEXUS_HOST": double.base_url,
            "NEXUS_USER": "admin",
            "NEXUS_PASSWORD": ROOT_PASSWORD,
            "CONFIG_DIR": str(config_dir),
            "SCRIPTS_DIR": str(scripts_dir),
        }
        for _ in range(runs):
            done = subprocess.run(
                ["bash", str(scripts_dir / "configure.sh")],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                env=env,
                check=False,
            )
    finally:
        double.stop()
    assert ROOT_PASSWORD not in done.stdout + done.stderr
    return Run(done.returncode, done.stdout + done.stderr, double, api)


def values_file(tmp: Path, *argv: str) -> Path:
    path = tmp / "values.yaml"
    assert main(["nexus", "values", "-o", str(path), *argv]) == 0
    return path


def lint(path: Path, capsys: pytest.CaptureFixture[str], expect: int = 1) -> str:
    """What ``nexus lint`` says of ``path`` (stdout and stderr), its exit code asserted."""
    capsys.readouterr()
    rc = main(["nexus", "lint", str(path)])
    out, err = capsys.readouterr()
    assert rc == expect, out + err
    return out + err


# -- what pipnexus generates -------------------------------------------------------------------

GENERATED = {
    "default": [],
    "docker-hub": ["--docker-hub"],
    "blob-store": ["--blob-store", "pypi-blobs", "--no-anonymous"],
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(GENERATED))
def test_generated_values_provision_what_we_promise(
    variant: str,
    upstream: Upstream,
    tools: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = values_file(tmp_path, *GENERATED[variant])
    doc = yaml.safe_load(path.read_text())
    promised = {r["name"]: r for r in doc["config"]["repos"]}
    anonymous = doc["config"]["anonymous"]["enabled"]
    rendered = render(path, tmp_path)
    assert rendered.conf, "no config Job rendered"
    # twice: the second run takes the update path (GET 200, then PUT) everywhere
    run = configure(rendered, upstream, tmp_path, tools, anonymous_before=not anonymous, runs=2)
    assert run.rc == 0, run.output
    writes = [r for r in run.api.requests if r[0] in ("POST", "PUT")]
    assert ("PUT", "/repositories/pypi/proxy/pypi-proxy") in writes
    assert run.output.rstrip().endswith("Nexus3 configured successfully!")
    assert "Script 'cleanup' updated." in run.output  # the Groovy scripts went up too
    double = run.double
    assert sorted(double.repositories) == sorted(promised)
    for name, repo in promised.items():
        got = double.repositories[name]
        assert (got["format"], got["type"]) == (repo["format"], repo["type"])
        assert got["proxy"]["remoteUrl"] == repo["proxy"]["remoteUrl"]
        assert got["storage"]["blobStoreName"] == repo["storage"]["blobStoreName"]
        assert got["negativeCache"] == repo["negativeCache"]
    assert double.anonymous_enabled is anonymous
    anon_roles = run.api.security.accounts["anonymous"]["roles"]
    assert ("nx-metrics" in anon_roles) is anonymous  # the chart's anonymous-user.json
    assert "nx-metrics" in run.api.security.roles
    assert sorted(run.api.scripts) == ["cleanup", "task"]
    if variant == "docker-hub":
        assert "DockerToken" in run.api.security.active_realms
    if variant == "blob-store":
        assert double.blob_stores == {"pypi-blobs"}
    # what the chart sends (its jq drops format and type) fits every published contract, or
    # lint --nexus-version says which version wants more
    models = thirdparty.TOOLS / "node_modules" / thirdparty.NPM_MODELS / "dist" / "models"
    for name, text in rendered.conf.items():
        if name.endswith("-repo.json"):
            body = yaml.safe_load(text)
            fmt = body.pop("format")
            body.pop("type")
            for version in VERSIONS:
                assert_valid_or_predicted(
                    version, "POST", f"/repositories/{fmt}/proxy", body, tmp_path, capsys
                )
            if models.is_dir():  # the npm 3.96 models, when .ci/run installed them
                assert npm_missing(models, REQUEST_MODELS[fmt], body) == [], name
    lint(path, capsys, expect=0)


def test_example_values_provision_the_pypi_proxy_and_the_interpreter_mirror(
    upstream: Upstream, tools: str, tmp_path: Path
) -> None:
    rendered = render(REPO / "examples" / "nexus" / "values.yaml", tmp_path)
    run = configure(rendered, upstream, tmp_path, tools, anonymous_before=False)
    assert run.rc == 0, run.output
    assert sorted(run.double.repositories) == ["pypi-proxy", "python-build-standalone"]
    mirror = run.double.repositories["python-build-standalone"]
    assert (mirror["format"], mirror["type"]) == ("raw", "proxy")
    assert mirror["proxy"]["remoteUrl"] == values.PYTHON_MIRROR_REMOTE
    assert (mirror["proxy"]["contentMaxAge"], mirror["proxy"]["metadataMaxAge"]) == (-1, -1)
    assert run.double.anonymous_enabled is True


# -- seed-style broken values -------------------------------------------------------------------

# What a team writes by hand: retries and useTrustStore one level too high.
MISINDENTED = TEAM_FINAL


def test_misindented_retries_are_silently_ignored_as_lint_predicts(
    upstream: Upstream, tools: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(MISINDENTED)
    run = configure(render(path, tmp_path), upstream, tmp_path, tools, anonymous_before=False)
    assert run.rc == 0, run.output  # Nexus accepts the body ...
    http = run.double.repositories["pypi-proxy"]["httpClient"]
    assert http["connection"] is None  # ... and the retries are gone without a word
    assert "retries" not in str(http)
    said = lint(path, capsys)
    assert "httpClient.retries is ignored by Nexus" in said
    assert "httpClient.connection.retries" in said


@pytest.mark.slow
def test_retries_under_proxy_are_silently_ignored_as_lint_predicts(
    upstream: Upstream, tools: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MISINDENTED.replace("        retries: 3\n        useTrustStore: false\n", "").replace(
        "        metadataMaxAge: 1440\n", "        metadataMaxAge: 1440\n        retries: 3\n"
    )
    assert text.count("retries: 3") == 1 and "useTrustStore" not in text
    path = tmp_path / "values.yaml"
    path.write_text(text)
    run = configure(render(path, tmp_path), upstream, tmp_path, tools, anonymous_before=False)
    assert run.rc == 0, run.output  # the Job succeeds ...
    (sent,) = [b for m, p, b in run.api.bodies if p == "/repositories/pypi/proxy"]
    assert sent["proxy"]["retries"] == 3  # ... posting the key where it was written ...
    stored = run.double.repositories["pypi-proxy"]
    assert "retries" not in str(stored)  # ... and Nexus keeps nothing of it
    said = lint(path, capsys)
    assert "proxy.retries is ignored by Nexus at this level" in said
    assert "did you mean httpClient.connection.retries?" in said


def test_missing_required_field_fails_the_job_as_lint_predicts(
    upstream: Upstream, tools: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MISINDENTED.replace(
        "      negativeCache:\n        enabled: true\n        timeToLive: 1440\n", ""
    )
    assert "negativeCache" not in text
    path = tmp_path / "values.yaml"
    path.write_text(text)
    run = configure(render(path, tmp_path), upstream, tmp_path, tools, anonymous_before=False)
    assert run.rc == 1
    assert "ERROR: Could not create repository 'pypi-proxy' (status code 400)." in run.output
    assert run.double.repositories == {}
    said = lint(path, capsys)
    assert "negativeCache" in said


def test_config_under_root_password_renders_no_job_as_lint_predicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(TEAM_EARLIER)
    rendered = render(path, tmp_path)
    assert rendered.conf == {}  # the chart ignores rootPassword.config: nothing is provisioned
    assert not [d for d in rendered.docs if d["kind"] == "Job"]
    said = lint(path, capsys)
    assert "config" in said and "rootPassword" in said


@pytest.mark.parametrize("enabled", ["  enabled: false\n", "", "  enabled: no\n",
                                     "  enabled: off\n"])
def test_config_disabled_renders_no_job_as_lint_predicts(
    enabled: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # templates/job-config.yaml: `if and .Values.config.enabled .Values.rootPassword.secret`;
    # values.yaml's default for config.enabled is false
    text = MISINDENTED.replace("  enabled: true\n  anonymous:", enabled + "  anonymous:")
    assert text != MISINDENTED
    path = tmp_path / "values.yaml"
    for values_text, rendered_job in ((MISINDENTED, True), (text, False)):
        path.write_text(values_text)
        docs = render(path, tmp_path).docs
        kinds_names = {(d["kind"], d["metadata"]["name"]) for d in docs}
        assert any(kind == "Job" for kind, _ in kinds_names) is rendered_job
        # the ConfigMap with the request bodies (templates/configmap-config.yaml)
        assert (("ConfigMap", "rel-nexus3-conf") in kinds_names) is rendered_job
    said = lint(path, capsys)
    assert "the chart renders no config Job" in said and "[config-disabled]" in said


@pytest.mark.parametrize("tag", ["3.90", "3"])
def test_numeric_image_tag_fails_helm_as_lint_predicts(
    tag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(f"image:\n  tag: {tag}\n" + MISINDENTED)
    done = subprocess.run(
        [thirdparty.helm(), "template", "r", str(thirdparty.chart_dir("nexus3")), "-f", str(path)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )
    assert done.returncode != 0
    assert "incompatible types for comparison" in done.stderr  # _helpers.tpl: ne .tag "-"
    said = lint(path, capsys)
    assert f'quote it: tag: "{tag}"' in said
    path.write_text(f'image:\n  tag: "{tag}"\n' + MISINDENTED)
    assert helm_template(thirdparty.chart_dir("nexus3"), path, tmp_path)  # quoted: renders


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["docker-hub", "blob-store"])
def test_apply_and_the_chart_job_leave_nexus_in_the_same_state(
    variant: str,
    upstream: Upstream,
    tools: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = values_file(tmp_path, *GENERATED[variant])
    rendered = render(path, tmp_path)
    by_job = configure(rendered, upstream, tmp_path, tools, anonymous_before=True)
    assert by_job.rc == 0, by_job.output
    monkeypatch.setenv("NEXUS_PW", ROOT_PASSWORD)
    with NexusDouble(upstream.base_url, repository=None, version=chart_version()) as double:
        double.users["admin"] = ROOT_PASSWORD
        double.anonymous_enabled = True
        if variant == "blob-store":
            double.blob_stores.clear()
        install(double)
        capsys.readouterr()
        rc = main(["nexus", "apply", "--url", double.base_url, "--password-env", "NEXUS_PW",
                   "--values", str(path)])
        assert rc == 0, capsys.readouterr()

        def state(d: NexusDouble) -> Any:
            repos = {n: {**c, "url": None} for n, c in d.repositories.items()}
            return repos, d.anonymous_enabled, sorted(d.blob_stores)

        assert state(double) == state(by_job.double)
