from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from pipnexus.cli import main
from pipnexus.nexus import lint, schema, values
from pipnexus.nexus.values import Options

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "nexus" / "values.yaml"

COMBINATIONS = [
    Options(),
    Options(docker_hub=True),
    Options(anonymous=False),
    Options(anonymous=False, docker_hub=True),
    Options(blob_store="pypi-blobs"),
    Options(storage_class="fast-ssd"),
    Options(metadata_max_age=-1),
    Options(metadata_max_age=5),
    Options(repository="pip.cache_1", remote_url="https://mirror.example/pypi/"),
    Options("pypi", "http://devpi.internal:3141/root/pypi", "blobs", 30, "gp3", False, True),
]


@pytest.mark.parametrize("opts", COMBINATIONS, ids=lambda o: values.command_line(o))
def test_generated_values_lint_clean_and_parse(opts: Options) -> None:
    text = values.render(opts)
    assert lint.lint_text(text) == []
    # silent for every version of the table and the chart's own Nexus, and for apply's first
    # pass (the rules every known version shares)
    for version in sorted({*schema.KNOWN_VERSIONS, schema.CHART_NEXUS_VERSION}):
        assert lint.lint_text(text, version) == [], version
    assert lint.lint_text(text, every_version=True) == []
    # valid YAML for an independent parser too, and exactly the data we meant
    assert yaml.safe_load(text) == values.values(opts)


@pytest.mark.parametrize("opts", COMBINATIONS, ids=lambda o: values.command_line(o))
def test_generated_repositories_have_every_required_field(opts: Options) -> None:
    from pipnexus.nexus import schema

    for repo in values.repositories(opts):
        for field in schema.required_fields(repo["format"], repo["type"]):
            node = repo
            for part in field.path.split("."):
                assert part in node, field.path
                node = node[part]
            assert node not in (None, "", [], {}), field.path


def test_values_content_follows_the_options() -> None:
    data = yaml.safe_load(
        values.render(
            Options(
                repository="pip",
                remote_url="https://mirror.example",
                blob_store="pypi",
                metadata_max_age=15,
                storage_class="fast",
                anonymous=False,
                docker_hub=True,
                python_mirror=None,
            )
        )
    )
    assert data["rootPassword"] == {"secret": "nexus3-root-password", "key": "password"}
    assert data["persistence"]["storageClass"] == "fast"
    assert data["persistence"]["enabled"] is True
    assert data["resources"]["requests"]["memory"]
    config = data["config"]
    assert config["enabled"] is True
    assert config["anonymous"] == {"enabled": False}
    assert config["blobStores"] == [{"name": "pypi", "type": "file", "path": "pypi"}]
    assert config["createDefaultBlobStore"] is False
    assert "DockerToken" in config["realms"]["values"]
    pypi, docker = config["repos"]
    assert pypi["name"] == "pip" and (pypi["format"], pypi["type"]) == ("pypi", "proxy")
    assert pypi["proxy"]["remoteUrl"] == "https://mirror.example"
    assert pypi["proxy"]["metadataMaxAge"] == 15
    assert pypi["storage"]["blobStoreName"] == "pypi"
    assert pypi["pypi"] == {"removeQuarantined": False}
    assert pypi["httpClient"]["connection"]["retries"] == 2
    assert "retries" not in pypi["httpClient"]
    assert (docker["format"], docker["type"]) == ("docker", "proxy")
    assert docker["dockerProxy"]["indexType"] == "HUB"
    assert docker["docker"]["forceBasicAuth"] is True  # no anonymous pulls without anonymous
    assert data["service"]["additionalPorts"][0]["containerPort"] == docker["docker"]["httpPort"]


def test_defaults_point_at_pypi_org_root_not_simple() -> None:
    data = yaml.safe_load(values.render(Options()))
    repo, mirror = data["config"]["repos"]
    assert repo["proxy"]["remoteUrl"] == "https://pypi.org"
    assert repo["name"] == "pypi-proxy"
    assert data["config"]["anonymous"]["enabled"] is True
    assert "storageClass" not in data["persistence"]
    # the interpreter mirror: uv's UV_PYTHON_INSTALL_MIRROR replaces exactly this prefix
    assert (mirror["name"], mirror["format"], mirror["type"]) == (
        "python-build-standalone", "raw", "proxy"
    )
    assert mirror["proxy"] == {
        "remoteUrl": "https://github.com/astral-sh/python-build-standalone/releases/download",
        "contentMaxAge": -1,
        "metadataMaxAge": -1,
    }


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        ([], ["pypi-proxy", "python-build-standalone"]),
        (["--python-mirror", "pbs"], ["pypi-proxy", "pbs"]),
        (["--no-python-mirror"], ["pypi-proxy"]),
    ],
)
def test_python_mirror_option(
    argv: list[str], names: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nexus", "values", *argv]) == 0
    out = capsys.readouterr().out
    assert [r["name"] for r in yaml.safe_load(out)["config"]["repos"]] == names
    # the header names the options that regenerate the file
    assert out.splitlines()[1] == " ".join(["# Generated by: pipnexus nexus values", *argv])


@pytest.mark.parametrize(
    "argv",
    [
        ["--python-mirror", "pypi-proxy"],
        ["--python-mirror", "docker-hub", "--docker-hub"],
        ["--python-mirror", "_bad"],
    ],
)
def test_python_mirror_bad_names_are_one_line_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nexus", "values", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "python-mirror" in err


def test_comments_explain_the_choices() -> None:
    text = values.render(Options(metadata_max_age=30))
    assert "# " in text
    assert "re-checked after 30 minutes" in text
    assert "never end it in /simple" in text
    assert "kubectl create secret generic nexus3-root-password" in text


def test_cli_prints_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nexus", "values", "--docker-hub"]) == 0
    assert capsys.readouterr().out == values.render(Options(docker_hub=True))


def test_cli_writes_file_atomically_and_keeps_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "values.yaml"
    out.write_text("old\n")
    out.chmod(0o600)
    assert main(["nexus", "values", "--repository", "pip", "-o", str(out)]) == 0
    assert out.read_text() == values.render(Options(repository="pip"))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert capsys.readouterr().out == ""
    assert os.listdir(tmp_path) == ["values.yaml"]  # no temporary file left behind


def test_cli_output_to_missing_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nexus", "values", "-o", str(tmp_path / "no" / "values.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--remote-url", "https://pypi.org/simple"], "without /simple"),
        (["--remote-url", "https://pypi.org/simple/"], "without /simple"),
        (["--remote-url", "ftp://x"], "http(s) URL"),
        # a line break would end the "Generated by" comment and inject YAML
        (["--remote-url", "https://mirror.example/a\n    evil: true"], "line feed"),
        (["--storage-class", "standard\n"], "--storage-class"),
        (["--remote-url", "https://u:secret@mirror.example"], "credentials"),
        (["--repository", "_bad"], "may not start with underscore"),
        (["--repository", "has space"], "Only letters"),
        (["--repository", "pypi\n"], "Only letters"),
        (["--blob-store", ".x"], "--blob-store"),
        (["--metadata-max-age", "-5"], "--metadata-max-age"),
        (["--storage-class", "Bad_Class"], "--storage-class"),
        (["--docker-hub", "--repository", "docker-hub"], "taken"),
    ],
)
def test_bad_options_are_one_line_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nexus", "values", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert fragment in captured.err
    assert "u:secret" not in captured.err


def test_example_is_generated_and_lints_clean(capsys: pytest.CaptureFixture[str]) -> None:
    # regenerate with: pipnexus nexus values -o examples/nexus/values.yaml
    assert EXAMPLE.read_bytes() == values.render(Options()).encode()
    assert main(["nexus", "lint", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == ""
