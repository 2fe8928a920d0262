"""The quick cases of the installer leak audit (testbed/leakaudit.py) as tests: with
``pipnexus configure``'s variables, real pip and uv install packages that exist only behind the
Nexus double, and nothing connects to the proxy that stands for "the internet"
(HTTPS_PROXY/HTTP_PROXY -> a counting listener). The namespace witness (testbed/netns.py:
loopback only, strace, a DNS stub) must fail a tool that leaks without any proxy variable."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import leakaudit as leaks
from testbed import leakrun, netns, pbs
from testbed.leakprobes import PACKET_PROBES, io_uring_why_unavailable
from testbed.leakshapes import SHAPE_CASES
from testbed.nexus_double import NexusDouble
from testbed.proxies import DeadProxy
from testbed.wheels import BACKEND_PROJECT

# real installers in network namespaces: out of the quick loop
pytestmark = [pytest.mark.installers, pytest.mark.slow]

QUICK = [c for c in leaks.CASES if c.quick]
# the deliberately leaking probes, one per way a packet can leave (testbed/leakprobes.py)
PROBE_NAMES = [c.name for c in PACKET_PROBES
               if c.name != "probe-io-uring" or io_uring_why_unavailable() is None]
BUILDS_FROM_SDIST = {"pip-sdist", "pip-wheel", "uv-pip-sdist"}


@pytest.fixture
def bed(nexus: NexusDouble, tmp_path: Path) -> Iterator[leakrun.Bed]:
    with DeadProxy() as proxy:
        yield leakrun.make_bed(tmp_path / "bed", nexus, proxy)


@pytest.fixture
def mirror_bed(nexus: NexusDouble, tmp_path: Path) -> Iterator[leakrun.Bed]:
    """The bed with the double's raw proxy of python-build-standalone (miniature releases)."""
    build = pbs.Build()
    with DeadProxy() as proxy, pbs.Releases({build: pbs.make_archive(build)}) as releases:
        assert isinstance(releases, pbs.Releases)
        yield leakrun.make_bed(tmp_path / "bed", nexus, proxy, releases=releases)


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[leaks.Row]]:
    """The probes and the quick cases, run once in a fresh network namespace."""
    why = netns.why_unavailable()
    if why is not None:
        pytest.skip(f"no network namespace witness here: {why}")
    names = ["leaky", "control", *PROBE_NAMES, *(c.name for c in QUICK)]
    rows = netns.run_isolated(names, tmp_path_factory.mktemp("netns"),
                              extra_env={"PIP_RETRIES": "0", "UV_HTTP_RETRIES": "0"})
    by_case: dict[str, list[leaks.Row]] = {}
    it = iter(leakrun.row_from_dict(r) for r in rows)
    for name in names:  # one row per step; the quick cases and probes have one step each
        by_case[name] = [next(it)]
    return by_case


def test_a_tool_that_ignores_proxies_fails_its_row(isolated: dict[str, list[leaks.Row]]) -> None:
    """Negative control: a program that connects to a public address and resolves pypi.org
    itself, with no proxy variable set: the HTTPS_PROXY trap sees nothing, strace and the DNS
    stub do, and the packet counter (nothing left the machine: the SYN got a reset)."""
    (row,) = isolated["leaky"]
    assert row.isolated
    assert row.bypassed == []
    assert "151.101.0.223:443" in row.connects
    assert "pypi.org" in row.queries
    assert row.via_cache == 0
    # the default route through the namespace's veth: no early "network unreachable", the
    # SYN leaves loopback (counted) and is answered with a reset
    assert "Connection refused" in row.detail
    assert row.packets is not None and row.packets >= 1


@pytest.mark.parametrize("name", [c.name for c in PACKET_PROBES])
def test_every_way_to_send_a_packet_fails_its_row(
    name: str, isolated: dict[str, list[leaks.Row]]
) -> None:
    """A probe that leaks by connect, UDP sendto, sendmsg, sendmmsg, TCP Fast Open or io_uring:
    the packet counter sees every one, strace names the address (for io_uring only its setup:
    the connect is no system call), the HTTPS_PROXY trap sees nothing."""
    if name not in PROBE_NAMES:
        pytest.skip(f"io_uring probe not built: {io_uring_why_unavailable()}")
    (row,) = isolated[name]
    assert row.isolated and row.bypassed == []
    assert row.packets is not None and row.packets >= 1, row
    want = {"probe-connect": "151.101.0.223:443", "probe-tcp-fastopen": "151.101.0.223:443",
            "probe-io-uring": "io_uring_setup"}.get(name, "8.8.8.8:53")
    assert want in row.connects, row
    if name == "probe-sendmmsg":
        assert row.connects.count("8.8.8.8:53") == 2 and row.packets >= 2, row


def test_control_through_the_cache_name_passes(isolated: dict[str, list[leaks.Row]]) -> None:
    """Control: the same kind of program fetching from ``nexus.test`` (resolved by the
    namespace's /etc/hosts, no PYTHONPATH alias) is clean."""
    (row,) = isolated["control"]
    assert row.result == "ok", row.detail
    assert (row.connects, row.queries, row.bypassed) == ([], [], [])
    assert row.packets == 0
    assert row.via_cache == 1


@pytest.mark.parametrize("case", QUICK, ids=[c.name for c in QUICK])
def test_quick_case_makes_no_connection_but_to_the_cache(
    case: leaks.Case, isolated: dict[str, list[leaks.Row]]
) -> None:
    (row,) = isolated[case.name]
    assert row.result == "ok", f"{row.label}: {row.result}\n{row.detail}"
    assert (row.connects, row.queries, row.bypassed) == ([], [], []), row
    assert row.packets == 0, row
    assert row.via_cache > 0


def test_strace_targets_parses_inet_and_inet6(tmp_path: Path) -> None:
    log = tmp_path / "strace.log"
    log.write_text(
        '7 connect(3, {sa_family=AF_INET, sin_port=htons(443), '
        'sin_addr=inet_addr("151.101.0.223")}, 16) = -1 ENETUNREACH (Network is unreachable)\n'
        '7 connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT\n'
        '7 connect(4, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "2a04:4e42::223", &sin6_addr), sin6_scope_id=0}, 28) = -1\n'
        '7 connect(5, {sa_family=AF_INET, sin_port=htons(0), '
        'sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
        '7 sendto(6, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("8.8.8.8")}, 16) = 1\n'
        '7 sendmsg(6, {msg_name={sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("1.1.1.1")}, msg_namelen=16, msg_iov=[{iov_base="x", iov_len=1}], '
        'msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1\n'
        '7 sendmmsg(6, [{msg_hdr={msg_name={sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("9.9.9.9")}, msg_namelen=16}, msg_len=1}, {msg_hdr={msg_name='
        '{sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("9.9.9.9")}, '
        'msg_namelen=16}, msg_len=1}], 2, 0) = 2\n'
        '7 sendmsg(5, {msg_name=NULL, msg_namelen=0, msg_iov=[]}, 0) = 0\n'
        '7 io_uring_setup(4, {flags=0, sq_thread_cpu=0}) = 3\n')
    assert netns.strace_targets(log) == ["151.101.0.223:443", "[2a04:4e42::223]:443",
                                         "8.8.8.8:53", "1.1.1.1:53", "9.9.9.9:53",
                                         "9.9.9.9:53", "io_uring_setup"]


@pytest.mark.parametrize("seccomp", [False, True])
def test_traced_sees_a_grandchilds_connect(tmp_path: Path, seccomp: bool) -> None:
    """With ``--seccomp-bpf`` (the timed install steps of bench/realprojects) strace still
    follows every child and records its connect."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = (f"import socket\ntry: socket.create_connection(('127.0.0.1', {port}), 5)\n"
            "except OSError: pass\n")
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {code!r}])"
    log = tmp_path / "strace.log"
    proc = subprocess.run(netns.traced([sys.executable, "-c", child], log, seccomp=seccomp),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert netns.strace_targets(log) == [f"127.0.0.1:{port}"]


@pytest.mark.parametrize("case", QUICK, ids=[c.name for c in QUICK])
def test_quick_case_goes_through_the_cache_only(
    case: leaks.Case, bed: leakrun.Bed, tmp_path: Path
) -> None:
    if case.tool != "pip" and leaks.tool_path(case.tool) is None:
        pytest.skip(f"{case.tool} is not installed (pip install -e '.[bench]')")
    rows = leakrun.run_case(case, bed, tmp_path / "case")
    assert rows
    for row in rows:
        assert row.result == "ok", f"{row.label}: {row.result}\n{row.detail}"
        assert row.bypassed == [], f"{row.label} bypassed the cache: {row.bypassed}"
        assert row.via_cache > 0, f"{row.label}: no request reached the cache"
        assert row.warns == "no"
    if case.runner_env:
        # the runner's settings named pypi.org: configure cleared or overrode them
        assert rows[0].remark.startswith("configure"), rows[0]
    if case.name in BUILDS_FROM_SDIST:
        # build isolation fetched the backend, which exists only behind the cache
        assert bed.nexus.count(f"/repository/pypi-proxy/simple/{BACKEND_PROJECT}") >= 1


def test_a_bypass_is_counted_and_configure_warns(bed: leakrun.Bed, tmp_path: Path) -> None:
    """Negative control: a requirements file naming pypi.org wins over PIP_INDEX_URL."""
    case = next(c for c in leaks.CASES if c.name == "pip-req-index")
    assert case.known
    rows = leakrun.run_case(case, bed, tmp_path / "case", extra_env={"PIP_RETRIES": "0"})
    (row,) = rows
    assert row.result != "ok"
    assert row.bypassed, "the dead proxy saw nothing"
    assert {b.target for b in row.bypassed} == {"pypi.org:443"}
    assert row.via_cache == 0
    assert row.warns == "yes"


def test_configure_variables_are_in_every_environment(bed: leakrun.Bed) -> None:
    for loopback, env in bed.envs.items():
        assert env["PIP_INDEX_URL"] == bed.urls[loopback]
        assert env["UV_DEFAULT_INDEX"] == bed.urls[loopback]
        assert "127.0.0.1" in env["NO_PROXY"].split(",")
        assert env["HTTPS_PROXY"] == bed.proxy.url
    assert bed.envs[False]["PIP_TRUSTED_HOST"] == "nexus.test"


@pytest.mark.parametrize("name", ["pip-extra-env", "uv-index-env", "pip-conf-extra-warned"])
def test_without_the_override_the_runner_settings_bypass(
    name: str, bed: leakrun.Bed, tmp_path: Path
) -> None:
    """Negative control for the cases above: the runner's own values (laid back over what
    configure set), or a pip config without pip-conf: file, do reach pypi.org."""
    case = next(c for c in leaks.CASES if c.name == name)
    if case.tool != "pip" and leaks.tool_path(case.tool) is None:
        pytest.skip(f"{case.tool} is not installed")
    restore = {} if name == "pip-conf-extra-warned" else dict(case.runner_env)
    rows = leakrun.run_case(case, bed, tmp_path / "case",
                          extra_env={"PIP_RETRIES": "0", "UV_HTTP_RETRIES": "0", **restore})
    (row,) = rows
    assert "pypi.org:443" in {b.target for b in row.bypassed}, row
    if name == "pip-conf-extra-warned":
        assert row.warns == "yes"  # with file and line: checked in test_configure


def test_uv_python_install_uses_the_mirror_configure_printed(
    mirror_bed: leakrun.Bed, tmp_path: Path
) -> None:
    """The interpreter rows: uv gets the UV_PYTHON_INSTALL_MIRROR that ``pipnexus configure
    --python-mirror`` printed for the double's raw proxy and downloads through it (the double
    fetches the release once); with ``--python-mirror false`` uv goes to GitHub."""
    if leaks.tool_path("uv") is None:
        pytest.skip("uv is not installed (pip install -e '.[bench]')")
    assert mirror_bed.releases is not None
    build = pbs.Build()
    assert mirror_bed.envs[True]["UV_PYTHON_INSTALL_MIRROR"] == leakrun.python_mirror(
        mirror_bed.urls[True])
    (row,) = leakrun.run_case(leakrun.find_case("uv-python-install"), mirror_bed,
                              tmp_path / "mirror")
    assert row.result == "ok", row.detail
    assert row.bypassed == [] and row.via_cache >= 1, row
    assert mirror_bed.nexus.fetch_count(build.tag) == 1
    assert mirror_bed.releases.count(build.path.split("%")[0]) == 1
    (off,) = leakrun.run_case(leakrun.find_case("uv-python-install-github"), mirror_bed,
                              tmp_path / "off", extra_env={"UV_HTTP_RETRIES": "0"})
    assert off.known.startswith("off:")
    assert off.result != "ok"
    assert "github.com:443" in {b.target for b in off.bypassed}, off
    assert off.via_cache == 0
    assert mirror_bed.releases.count(build.path.split("%")[0]) == 1


# the host each leaking shape reaches (through the HTTPS_PROXY trap, which answers 502)
SHAPE_HOSTS = {
    "uv-user-index": "pypi.org", "uv-project-index": "download.pytorch.org",
    "uv-direct-reference": "files.pythonhosted.org", "pip-req-include": "pypi.org",
    "pip-direct-reference": "files.pythonhosted.org", "pdm-source": "download.pytorch.org",
    "tox-set-env": "pypi.org", "poetry-source": "download.pytorch.org",
    "hatch-python": "github.com", "pre-commit-github": "github.com",
    "uv-source-url": "files.pythonhosted.org", "uv-toml-extra": "pypi.org",
    "uv-explicit-pinned": "download.pytorch.org", "tox-install-command": "pypi.org",
    "pipenv-source": "download.pytorch.org",
}


@pytest.mark.parametrize("case", SHAPE_CASES, ids=[c.name for c in SHAPE_CASES])
def test_project_shape_leaks_exactly_where_configure_warns(
    case: leaks.Case, bed: leakrun.Bed, tmp_path: Path
) -> None:
    """Every bypass-scan warning's premise, shown by the real tool on that file with config
    discovery on: a "known" shape reaches a host besides the cache and configure reported its
    code; the other shapes (a default index, index-url) stay on the cache and configure is
    silent about them."""
    if case.tool not in ("pip", "git") and leaks.tool_path(case.tool) is None:
        pytest.skip(f"{case.tool} is not installed (pip install -e '.[bench]')")
    rows = leakrun.run_case(case, bed, tmp_path / "case",
                            extra_env={"PIP_RETRIES": "0", "UV_HTTP_RETRIES": "0"})
    targets = {b.target for r in rows for b in r.bypassed}
    if case.known:
        assert rows[0].warns == "yes", rows[0]
        assert f"{SHAPE_HOSTS[case.name]}:443" in targets, rows
    else:
        assert rows[0].warns == "no", rows[0]
        for row in rows:
            assert row.result == "ok", f"{row.label}: {row.result}\n{row.detail}"
            assert row.bypassed == [], row
        assert rows[-1].via_cache > 0


def test_every_bench_tool_is_pinned_and_drift_is_reported() -> None:
    """bench/constraints.txt pins every distribution of the bench extra (the published audit
    comes from a run with those pins); a row whose tool version differs is named."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is new in Python 3.11")
    extra = tomllib.loads((netns.REPO / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]["bench"]
    pinned = leakrun.pins()
    names = {leakrun._canonical(re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]) for req in extra}
    assert names - set(pinned) == set()
    assert pinned["pip-tools"] == "7.6.2"  # 7.7.0's pip-sync refuses ensurepip's pip
    row = leaks.Row("pip-sync", "7.7.0", "ok", 1, [], "", "no", "", "")
    assert leakrun.unpinned([row, row._replace(label="tox", version=pinned["tox"])]) == [
        "pip-tools 7.7.0 (pinned 7.6.2)"]
