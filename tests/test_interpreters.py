"""uv's interpreter mirror: configure probes ``<nexus>/repository/python-build-standalone`` with
the index under the same deadline and sets UV_PYTHON_INSTALL_MIRROR only when it is healthy;
real ``uv python install`` then downloads through the Nexus double's raw proxy, once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipnexus.configure.settings import parse_python_mirror
from pipnexus.errors import InputError
from pipnexus.nexus import values
from pipnexus.probe.engine import MIRROR_PROBE_PATH
from testbed.httpbase import HangingListener, closed_url
from testbed.nexus_double import NexusDouble
from testbed.pbs import Build, Releases, make_archive, write_downloads_json
from testbed.upstream import Upstream
from tests.configure.helpers import base_env, run_configure

BUILD = Build()
MIRROR = values.PYTHON_MIRROR_REPOSITORY


def _uv() -> str:
    found = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (the test extra installs it)")
    return found


def _uv_install(tmp_path: Path, name: str, mirror: str, downloads: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "UV_CACHE_DIR": str(tmp_path / f"cache-{name}"),
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / f"pythons-{name}"),
        "UV_PYTHON_BIN_DIR": str(tmp_path / f"bin-{name}"),
        "UV_PYTHON_INSTALL_MIRROR": mirror,
        "UV_PYTHON_DOWNLOADS_JSON_URL": str(downloads),
        "UV_NO_CONFIG": "1",
    }
    done = subprocess.run(
        [_uv(), "python", "install", BUILD.version],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"pythons-{name}" / BUILD.key / "bin" / f"python{BUILD.minor}").is_file()


def _dotenv(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.fixture
def releases() -> Iterator[Releases]:
    archive = make_archive(BUILD)
    server = Releases({BUILD: archive})
    server.archive = archive  # type: ignore[attr-defined]
    yield server
    server.stop()


# -- end to end --------------------------------------------------------------------------------


def test_uv_installs_through_the_mirror_configure_printed_and_nexus_fetches_once(
    tmp_path: Path, upstream: Upstream, releases: Releases
) -> None:
    archive: bytes = releases.archive  # type: ignore[attr-defined]
    downloads = write_downloads_json(tmp_path / "downloads.json", {BUILD: archive})
    with NexusDouble(upstream.base_url, "pypi-proxy") as nexus:
        nexus.add_raw_proxy(MIRROR, releases.base_url)
        r = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--format", "dotenv",
                          github=False)
        assert r.rc == 0, r.err
        mirror = _dotenv(r.out)["UV_PYTHON_INSTALL_MIRROR"]
        assert mirror == f"{nexus.base_url}/repository/{MIRROR}"
        assert f"interpreter mirror {mirror}: healthy" in r.err
        # the probe fetched the checksum list of an old release, once: Nexus keeps it
        assert nexus.fetch_count(releases.base_url) == 1
        again = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--format", "dotenv",
                              github=False)
        assert _dotenv(again.out)["UV_PYTHON_INSTALL_MIRROR"] == mirror
        assert nexus.fetch_count(releases.base_url) == 1
        before = nexus.upstream_bytes  # the canary page of the index, the checksum list
        _uv_install(tmp_path, "first", mirror, downloads)
        assert nexus.fetch_count(BUILD.tag) == 1
        assert nexus.upstream_bytes - before == len(archive)
        # a fresh runner: nothing installed, nothing in uv's cache; Nexus has it
        _uv_install(tmp_path, "second", mirror, downloads)
        assert nexus.fetch_count(BUILD.tag) == 1
        assert nexus.upstream_bytes - before == len(archive)  # 0 bytes more upstream
    # uv asks the mirror for %2B; Nexus's raw proxy decodes it and asks the remote for a literal
    # '+' (RawProxyFacet.getUrl, testbed/nexus_raw.py)
    plus = BUILD.path.replace("%2B", "+")
    assert releases.requests == [("GET", "/" + MIRROR_PROBE_PATH, 200), ("GET", plus, 200)]


# -- configure ---------------------------------------------------------------------------------


@pytest.fixture
def github() -> Iterator[Releases]:
    """python-build-standalone's releases with no build, only the file the probe fetches."""
    with Releases({}) as server:
        yield server


def test_every_format_sets_the_healthy_mirror(
    tmp_path: Path, upstream: Upstream, github: Releases
) -> None:
    with NexusDouble(upstream.base_url, "pypi-proxy") as nexus:
        nexus.add_raw_proxy(MIRROR, github.base_url)
        want = f"{nexus.base_url}/repository/{MIRROR}"
        gh = run_configure(tmp_path, "--nexus-url", nexus.base_url)
        assert gh.rc == 0, gh.err
        assert gh.env_dict["UV_PYTHON_INSTALL_MIRROR"] == want
        assert gh.outputs["python-mirror"] == want
        assert f"Interpreter mirror `{want}`: healthy" in gh.summary
        shell = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--format", "shell",
                              github=False)
        assert f"export UV_PYTHON_INSTALL_MIRROR={want}\n" in shell.out
        js = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--format", "json",
                           github=False)
        decision = json.loads(js.out)["python_mirror"]
        assert (decision["url"], decision["healthy"], decision["reason"]) == (want, True, "")
        # the index's Nexus, whichever way it is given
        env = base_env(tmp_path, PIPNEXUS_INDEX_URL=nexus.index_url())
        via_env = run_configure(tmp_path, env=env)
        assert via_env.env_dict["UV_PYTHON_INSTALL_MIRROR"] == want


def test_a_missing_mirror_is_a_note_and_sets_nothing(tmp_path: Path, upstream: Upstream) -> None:
    with NexusDouble(upstream.base_url, "pypi-proxy") as nexus:
        r = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--require-nexus")
        assert r.rc == 0, r.err  # require-nexus is about the index only
        assert "UV_PYTHON_INSTALL_MIRROR" not in r.env_dict
        assert r.outputs["python-mirror"] == ""
        assert r.outputs["source"] == "nexus"
        assert "::notice title=pipnexus [python-mirror-unhealthy]::" in r.out
        assert "not-found" in r.out
        assert "**unhealthy** (not-found" in r.summary
        # the remote unreachable: Nexus answers 502 for what it has not cached
        nexus.add_raw_proxy(MIRROR, closed_url())
        down = run_configure(tmp_path, "--nexus-url", nexus.base_url)
        assert "UV_PYTHON_INSTALL_MIRROR" not in down.env_dict
        assert "remote-unreachable" in down.out
        plain = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--format", "dotenv",
                              github=False)
        assert "UV_PYTHON_INSTALL_MIRROR" not in plain.out
        assert "note: the interpreter mirror" in plain.err
        assert "[python-mirror-unhealthy]" in plain.err


def test_a_hanging_mirror_costs_no_more_than_the_deadline(
    tmp_path: Path, upstream: Upstream, hanging_listener: HangingListener
) -> None:
    with NexusDouble(upstream.base_url, "pypi-proxy") as nexus:
        started = time.monotonic()
        r = run_configure(
            tmp_path, "--nexus-url", nexus.base_url, "--timeout", "1",
            "--python-mirror", hanging_listener.base_url + "/pbs",
        )
        took = time.monotonic() - started
    assert r.rc == 0 and r.outputs["source"] == "nexus", r.err
    assert "UV_PYTHON_INSTALL_MIRROR" not in r.env_dict
    assert "timeout" in r.summary
    assert took < 10  # one deadline for both (the process start-up aside)


def test_off_and_no_nexus_probe_no_mirror(
    tmp_path: Path, upstream: Upstream, github: Releases
) -> None:
    with NexusDouble(upstream.base_url, "pypi-proxy") as nexus:
        nexus.add_raw_proxy(MIRROR, github.base_url)
        off = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--format", "json",
                            "--python-mirror", "false", github=False)
        assert json.loads(off.out)["python_mirror"] is None
        env = base_env(tmp_path, PIPNEXUS_PYTHON_MIRROR="off")
        off_env = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--python-mirror",
                                "auto", env=env)
        assert "UV_PYTHON_INSTALL_MIRROR" not in off_env.env_dict
    plain = run_configure(tmp_path, "--index-url", upstream.index_url, "--format", "json",
                          github=False)
    assert json.loads(plain.out)["python_mirror"] is None  # auto: no Nexus, no mirror


def test_credentials_go_to_uv_but_are_never_shown(
    tmp_path: Path, upstream: Upstream, github: Releases
) -> None:
    with NexusDouble(upstream.base_url, "pypi-proxy") as nexus:
        nexus.users["ci"] = "s3cret-pw"
        nexus.anonymous_enabled = False
        nexus.add_raw_proxy("pbs", github.base_url)
        env = base_env(tmp_path, NEXUS_PW="s3cret-pw")
        r = run_configure(tmp_path, "--nexus-url", nexus.base_url, "--username", "ci",
                          "--password-env", "NEXUS_PW", "--python-mirror", "pbs", env=env)
        assert r.rc == 0, r.err
        host = nexus.base_url.split("//", 1)[1]
        assert r.env_dict["UV_PYTHON_INSTALL_MIRROR"] == f"http://ci:s3cret-pw@{host}/repository/pbs"
        assert r.outputs["python-mirror"] == f"http://ci:***@{host}/repository/pbs"
        shown = [line for line in r.out.splitlines() if not line.startswith("::add-mask::")]
        assert "s3cret-pw" not in "\n".join(shown) + r.err + r.summary + json.dumps(r.outputs)


def test_a_repository_name_without_nexus_is_bad_input(tmp_path: Path) -> None:
    r = run_configure(tmp_path, "--index-url", "https://pypi.example/simple/",
                      "--python-mirror", "pbs", github=False)
    assert r.rc == 2
    assert len(r.err.strip().splitlines()) == 1 and "--python-mirror" in r.err


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (None, "auto"), ("", "auto"), ("AUTO", "auto"), ("true", "auto"),
        ("false", ""), ("off", ""), ("none", ""),
        ("pbs", "pbs"), ("https://n.example/repository/pbs/", "https://n.example/repository/pbs"),
    ],
)
def test_python_mirror_values(value: str | None, want: str) -> None:
    assert parse_python_mirror(value) == want


@pytest.mark.parametrize("value", ["_bad", "ftp://x/y", "https://n.example/m?x=1", "a b"])
def test_bad_python_mirror_values(value: str) -> None:
    with pytest.raises(InputError):
        parse_python_mirror(value)


def test_a_server_answering_404_everywhere_is_no_mirror(tmp_path: Path, upstream: Upstream) -> None:
    # the case: an ingress in front of something else answers a plain 404 for any path;
    # the probe used to count that as healthy and set a mirror every `uv python install` failed on
    with NexusDouble(upstream.base_url, "pypi-proxy") as nexus, Releases({}) as elsewhere:
        nexus.add_raw_proxy(MIRROR, elsewhere.base_url)
        del elsewhere.assets["/" + MIRROR_PROBE_PATH]  # a remote that is not GitHub's releases
        r = run_configure(tmp_path, "--nexus-url", nexus.base_url)
        assert r.rc == 0 and r.outputs["source"] == "nexus", r.err
        assert "UV_PYTHON_INSTALL_MIRROR" not in r.env_dict
        assert r.outputs["python-mirror"] == ""
        (note,) = [line for line in r.out.splitlines() if "[python-mirror-unhealthy]" in line]
        assert f"404 Not Found for {MIRROR_PROBE_PATH}, which every mirror" in note
