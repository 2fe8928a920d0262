"""The real action under act, then ``pipenv install`` and ``pdm add`` in later steps.

As in test_action.py: the Nexus double proxies ``behind`` (standard packages plus
``pipnexus-behind-nexus``, which exists nowhere else) and the bed's session ``upstream`` plays
pypi.org as ``fallback-index-url``; request counters on the double, on ``behind`` and on the
fallback prove where the files came from.

Plain-http trust: pip, pipenv and pdm trust ``127.0.0.1`` and ``localhost`` over http anyway,
so ``PIP_TRUSTED_HOST`` / ``PDM_PYPI_VERIFY_SSL=false`` only matter when the index is reached
by another name. test_installers.py uses the bed's ``nexus.test`` alias (a sitecustomize on
PYTHONPATH), which cannot work here: the action runs ``python3 -I -S`` (no PYTHONPATH, no
sitecustomize), so its probe would ask DNS for ``nexus.test`` (off-host traffic) and fall
back. Instead the indexes are named by a host name that this machine's ``/etc/hosts`` maps to
127.0.0.1 only (``files`` first in nsswitch, so resolving it sends nothing off-host); every
process of the job, the action's probe included, resolves it, and a negative control per test
shows the installer refuses that index without the trust variable. On a machine without such
a name the tests use ``127.0.0.1`` and skip the negative controls (nothing to prove there).

Isolation: the job runs with testbed.installers.isolated_env (fresh HOME/XDG dirs and caches,
PIP_CONFIG_FILE=/dev/null, a fresh PDM_CONFIG_FILE, PIPENV_VENV_IN_PROJECT=1); pipenv makes
its venv in the project, pdm installs into a fresh copy of the bed's template venv
(PDM_PYTHON), never into the interpreter running the tests.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import installers
from testbed.leakaudit import PIPFILE
from testbed.nexus_double import NexusDouble
from testbed.upstream import Upstream
from tests.e2e.act_harness import ActResult
from tests.e2e.conftest import ONLY_BEHIND, PDM_PROJECT, RunAct
from tests.e2e.test_action import workflow

pytestmark = [pytest.mark.e2e, pytest.mark.installers]

ON_FALLBACK = "pipnexus-demo-pkg"  # requires pipnexus-demo-dep
LOOPBACK = "127.0.0.1"




def _hosts_names(path: str = "/etc/hosts") -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            for name in fields[1:]:
                names.setdefault(name.lower(), set()).add(fields[0])
    return names


def _files_first() -> bool:
    with contextlib.suppress(OSError), open("/etc/nsswitch.conf", encoding="utf-8") as f:
        for line in f:
            key, _, sources = line.split("#", 1)[0].partition(":")
            if key.strip() == "hosts":
                return sources.split()[:1] == ["files"]
    return False


def loopback_name() -> str:
    """A name that /etc/hosts maps to 127.0.0.1 only (not ``localhost``), else ``127.0.0.1``."""
    if not _files_first():
        return LOOPBACK
    for name, addrs in _hosts_names().items():
        if addrs != {LOOPBACK} or name == "localhost" or name.endswith(".localhost"):
            continue
        if not all(c.isalnum() or c in "-." for c in name):
            continue
        try:
            infos = socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)
        except OSError:
            continue
        if infos and {info[4][0] for info in infos} == {LOOPBACK}:
            return name
    return LOOPBACK


HOST = loopback_name()
NAMED = HOST != LOOPBACK


def named(url: str) -> str:
    return installers.aliased_url(url, HOST)


@pytest.fixture(scope="module")
def _module_double(behind: Upstream) -> Iterator[NexusDouble]:
    with NexusDouble(behind.base_url + "/") as server:
        yield server


@pytest.fixture
def double(_module_double: NexusDouble, behind: Upstream) -> NexusDouble:
    # fresh counters and an empty proxy cache, so every test's files really pass through
    _module_double.reset_counters()
    _module_double.forget_cache()
    behind.reset_counters()
    return _module_double


@pytest.fixture(scope="module")
def stopped_index() -> str:
    """The index URL of a Nexus double that has been stopped (its port is closed)."""
    dead = NexusDouble("http://127.0.0.1:9/")  # stopped before any request
    dead.stop()
    return named(dead.index_url())


def job_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = installers.isolated_env(tmp_path / "job", VIRTUALENV_NO_PERIODIC_UPDATE="1")
    env.update(extra)
    return env


# Each script leaves, in $PIPNEXUS_E2E_OUT: env.txt (the installers' variables after the
# action), untrusted.txt ("refused"/"installed": the same command without the trust variable,
# in a copy of the project; only when NAMED), version.txt and the lock file.
PIPENV_SCRIPT = """
env | grep -E '^(PIP|PDM|PIPENV)_' | sort > "$PIPNEXUS_E2E_OUT/env.txt"
{untrusted}
cd app
"$PIPENV" install --python "$PYTHON" {pkg}
.venv/bin/python -c "import importlib.metadata as m; print(m.version('{pkg}'))" \\
  > "$PIPNEXUS_E2E_OUT/version.txt"
cp Pipfile.lock "$PIPNEXUS_E2E_OUT/"
"""
PIPENV_UNTRUSTED = """
cp -R app untrusted
if (cd untrusted && env -u PIP_TRUSTED_HOST "$PIPENV" install --verbose --python "$PYTHON" {pkg}) \\
    > "$PIPNEXUS_E2E_OUT/untrusted.log" 2>&1
then echo installed; else echo refused; fi > "$PIPNEXUS_E2E_OUT/untrusted.txt"
"""

PDM_SCRIPT = """
env | grep -E '^(PIP|PDM|PIPENV)_' | sort > "$PIPNEXUS_E2E_OUT/env.txt"
{untrusted}
cd app
"$PDM" add --no-self {pkg}
"$PDM_PYTHON" -c "import importlib.metadata as m; print(m.version('{pkg}'))" \\
  > "$PIPNEXUS_E2E_OUT/version.txt"
cp pdm.lock "$PIPNEXUS_E2E_OUT/"
"""
PDM_UNTRUSTED = """
cp -R app untrusted
if (cd untrusted && PDM_PYPI_VERIFY_SSL=true "$PDM" add -v --no-self {pkg}) \\
    > "$PIPNEXUS_E2E_OUT/untrusted.log" 2>&1
then echo installed; else echo refused; fi > "$PIPNEXUS_E2E_OUT/untrusted.txt"
"""


def run_pipenv(run_act: RunAct, tmp_path: Path, index: str, fallback: str, pkg: str) -> ActResult:
    untrusted = PIPENV_UNTRUSTED.format(pkg=pkg) if NAMED else ""
    wf = workflow({"index-url": index, "fallback-index-url": fallback},
                  PIPENV_SCRIPT.format(pkg=pkg, untrusted=untrusted))
    env = job_env(tmp_path, PIPENV=installers.tool("pipenv"), PYTHON=sys.executable)
    result = run_act(wf, env=env, files={"app/Pipfile": PIPFILE}, timeout=180)
    assert result.returncode == 0, result.log
    return result


def run_pdm(run_act: RunAct, tmp_path: Path, venv_factory: installers.VenvFactory, index: str,
            fallback: str, pkg: str) -> tuple[ActResult, installers.Venv]:
    untrusted = PDM_UNTRUSTED.format(pkg=pkg) if NAMED else ""
    wf = workflow({"index-url": index, "fallback-index-url": fallback},
                  PDM_SCRIPT.format(pkg=pkg, untrusted=untrusted))
    venv = venv_factory.new(tmp_path / "pdm-venv", {})
    env = job_env(tmp_path, PDM=installers.tool("pdm"), PDM_PYTHON=str(venv.python))
    result = run_act(wf, env=env, files={"app/pyproject.toml": PDM_PROJECT}, timeout=180)
    assert result.returncode == 0, result.log
    return result, venv


def assert_decision(result: ActResult, source: str, index: str, reason: str) -> None:
    outputs = result.outputs("pipnexus")
    assert (outputs["source"], outputs["reason"]) == (source, reason)
    assert outputs["index-url"] == index
    assert outputs["trusted-host"] == HOST


def assert_untrusted_refused(result: ActResult, needle: str) -> None:
    if NAMED:
        assert result.file("untrusted.txt").strip() == "refused", result.file("untrusted.log")
        assert needle in result.file("untrusted.log"), result.file("untrusted.log")


def assert_through_nexus(double: NexusDouble, behind: Upstream, upstream: Upstream) -> None:
    assert double.count(f"/repository/pypi-proxy/simple/{ONLY_BEHIND}/", "GET") >= 1
    assert double.count(f"/repository/pypi-proxy/packages/{ONLY_BEHIND}/2.0/", "GET") >= 1
    # the double really fetched the file from its remote, and nothing came from the fallback
    assert behind.count("/files/pipnexus_behind_nexus-2.0-") >= 1
    assert upstream.count() == 0


def assert_from_fallback(upstream: Upstream) -> None:
    assert upstream.count("/simple/pipnexus-demo-pkg/", "GET") >= 1
    assert upstream.count("/files/pipnexus_demo_pkg-1.0-", "GET") >= 1
    assert upstream.count("/files/pipnexus_demo_dep-1.0-", "GET") >= 1


def test_pipenv_installs_through_healthy_nexus(run_act, tmp_path, double, behind, upstream):
    index = named(double.index_url())
    result = run_pipenv(run_act, tmp_path, index, named(upstream.index_url), ONLY_BEHIND)
    assert_decision(result, "nexus", index, "")
    env = result.file("env.txt")
    assert f"PIPENV_PYPI_MIRROR={index}\n" in env
    assert f"PIP_TRUSTED_HOST={HOST}\n" in env
    assert_untrusted_refused(result, "not a trusted or secure host")
    assert result.file("version.txt").strip() == "2.0"
    # the mirror replaces pypi.org at install time; the lock keeps the Pipfile's source
    lock = result.file("Pipfile.lock")
    assert ONLY_BEHIND in lock and "https://pypi.org/simple" in lock
    assert f":{double.port}" not in lock
    assert_through_nexus(double, behind, upstream)


def test_pipenv_installs_from_the_fallback_when_nexus_is_stopped(
    run_act, tmp_path, stopped_index, upstream
):
    fallback = named(upstream.index_url)
    result = run_pipenv(run_act, tmp_path, stopped_index, fallback, ON_FALLBACK)
    assert_decision(result, "fallback", fallback, "refused")
    assert "::warning title=pipnexus [fallback]::" in result.log
    env = result.file("env.txt")
    assert f"PIPENV_PYPI_MIRROR={fallback}\n" in env
    assert f"PIP_TRUSTED_HOST={HOST}\n" in env
    assert_untrusted_refused(result, "not a trusted or secure host")
    assert result.file("version.txt").strip() == "1.0"
    assert ON_FALLBACK in result.file("Pipfile.lock")
    assert_from_fallback(upstream)


def test_pdm_adds_through_healthy_nexus(
    run_act, tmp_path, venv_factory, double, behind, upstream
):
    index = named(double.index_url())
    result, venv = run_pdm(run_act, tmp_path, venv_factory, index, named(upstream.index_url),
                           ONLY_BEHIND)
    assert_decision(result, "nexus", index, "")
    env = result.file("env.txt")
    assert f"PDM_PYPI_URL={index}\n" in env
    assert "PDM_PYPI_VERIFY_SSL=false\n" in env
    assert_untrusted_refused(result, "for not being trusted")
    assert result.file("version.txt").strip() == "2.0"
    assert venv.has(ONLY_BEHIND, "2.0")
    assert ONLY_BEHIND in result.file("pdm.lock")
    assert_through_nexus(double, behind, upstream)


def test_pdm_adds_from_the_fallback_when_nexus_is_stopped(
    run_act, tmp_path, venv_factory, stopped_index, upstream
):
    fallback = named(upstream.index_url)
    result, venv = run_pdm(run_act, tmp_path, venv_factory, stopped_index, fallback,
                           ON_FALLBACK)
    assert_decision(result, "fallback", fallback, "refused")
    assert "::warning title=pipnexus [fallback]::" in result.log
    env = result.file("env.txt")
    assert f"PDM_PYPI_URL={fallback}\n" in env
    assert "PDM_PYPI_VERIFY_SSL=false\n" in env
    assert_untrusted_refused(result, "for not being trusted")
    assert result.file("version.txt").strip() == "1.0"
    assert venv.has(ON_FALLBACK, "1.0") and venv.has("pipnexus-demo-dep", "1.0")
    assert_from_fallback(upstream)
