"""Running the leak audit's cases (testbed/leakaudit.py): the bed, one case, its rows.

Two witnesses per step:

* the dead proxy (``HTTPS_PROXY``/``HTTP_PROXY``): what a tool that honours proxy variables
  tried to fetch around the cache (column "via HTTPS_PROXY");
* inside a network namespace (testbed/netns.py, ``isolated_bed``): every connection attempt
  the tool or any child made (``strace``) that was not to the Nexus double, and every DNS query
  (the cache is ``nexus.test`` via the namespace's /etc/hosts, so a tool needs none). This
  catches tools that ignore the proxy variables too.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from pipnexus.nexus.values import PYTHON_MIRROR_REPOSITORY
from testbed import installers, netns, pbs
from testbed.commands import Configured, pipnexus_configure, run
from testbed.leakaudit import ALIASES, FALLBACK, PIP_CONF, Case, Row, tool_path, write_file
from testbed.nexus_double import NexusDouble
from testbed.proxies import DeadProxy, proxy_env
from testbed.upstream import Upstream
from testbed.wheels import standard_packages


class Bed(NamedTuple):
    nexus: NexusDouble
    proxy: DeadProxy
    envs: dict[bool, dict[str, str]]  # loopback? -> environment
    urls: dict[bool, str]
    configured: Configured
    dns: netns.DnsStub | None = None  # set: inside a namespace, every step runs under strace
    # python-build-standalone's releases in miniature (testbed/pbs.py): the remote of the
    # double's raw proxy ``python-build-standalone``, which every configure run is given as
    # ``--python-mirror`` (so UV_PYTHON_INSTALL_MIRROR is what configure printed)
    releases: pbs.Releases | None = None


# The bed disables these self-update checks, uv's config discovery and its interpreter
# downloads; the action sets none of them, so the audits run the tools without them.
RUNNER_UNSET = ("PDM_CHECK_UPDATE", "PIP_DISABLE_PIP_VERSION_CHECK", "UV_NO_CONFIG",
                "UV_PYTHON_DOWNLOADS")


def python_mirror(index_url: str) -> str:
    """The double's raw proxy of python-build-standalone, on the host of ``index_url``."""
    return f"{index_url.split('/repository/', 1)[0]}/repository/{PYTHON_MIRROR_REPOSITORY}"


def mirror_args(bed: Bed, loopback: bool) -> tuple[str, ...]:
    return ("--python-mirror", python_mirror(bed.urls[loopback])) if bed.releases else ()


def make_bed(work: Path, nexus: NexusDouble, proxy: DeadProxy,
             dns: netns.DnsStub | None = None, releases: pbs.Releases | None = None) -> Bed:
    """The environments a tool runs in: ``pipnexus configure``'s variables for the double
    (and, given ``releases``, its interpreter mirror) over a host-isolated base."""
    envs: dict[bool, dict[str, str]] = {}
    urls: dict[bool, str] = {}
    shown: Configured | None = None
    if releases is not None:
        nexus.add_raw_proxy(PYTHON_MIRROR_REPOSITORY, releases.base_url)
    for loopback in (False, True):
        base = installers.isolated_env(work / ("env-uv" if loopback else "env-py"))
        for name in RUNNER_UNSET:
            base.pop(name, None)
        # the runner's interpreter first on PATH, as after actions/setup-python (uv finds it
        # without --python; a pyenv shim under the bed's fresh HOME would not run)
        base["PATH"] = os.pathsep.join((str(Path(sys.base_prefix) / "bin"), base["PATH"]))
        if dns is None:  # no namespace: Python children resolve the names by a sitecustomize
            base = installers.alias_host_env(base, work / "alias", ALIASES)
        base.update(proxy_env(proxy, ["nexus.test"]))
        url = nexus.index_url() if loopback else installers.aliased_url(nexus.index_url())
        args = ("--python-mirror", python_mirror(url)) if releases else ()
        configured = pipnexus_configure(url, FALLBACK, base, project_dir=work / "empty",
                                        args=args)
        if configured.source != "nexus":
            raise SystemExit(f"pipnexus configure chose {configured.source}, not the cache")
        if args and configured.env.get("UV_PYTHON_INSTALL_MIRROR") != args[1]:
            raise SystemExit(f"pipnexus configure set no interpreter mirror {args[1]}: "
                             f"{configured.warnings}")
        envs[loopback] = {**base, **configured.env}
        urls[loopback] = url
        shown = shown or configured
    assert shown is not None
    return Bed(nexus, proxy, envs, urls, shown, dns, releases)


@contextmanager
def isolated_bed(work: Path) -> Iterator[Bed]:
    """The whole bed, started in this process, which must be in its own namespace
    (``netns.enter`` ran): the standard test packages and a tool wheel (for uvx/pipx)."""
    from testbed.leakmore import make_tool_wheel

    packages = standard_packages(work / "packages")
    make_tool_wheel(packages.directory)
    with netns.DnsStub() as dns, Upstream(packages.directory) as upstream, \
            NexusDouble(upstream.base_url, "pypi-proxy") as nexus, DeadProxy() as proxy, \
            pbs.Releases({pbs.Build(): pbs.make_archive(pbs.Build())}) as releases:
        assert isinstance(nexus, NexusDouble) and isinstance(releases, pbs.Releases)
        yield make_bed(work, nexus, proxy, dns, releases)


def find_case(name: str) -> Case:
    from testbed.leakmore import ALL_CASES, PROBES
    from testbed.leakprobes import PACKET_PROBES

    for case in (*ALL_CASES, *PROBES, *PACKET_PROBES):
        if case.name == name:
            return case
    raise KeyError(name)


def _served(bed: Bed) -> int:
    """Requests the cache answered (its interpreter mirror included)."""
    return bed.nexus.count("/repository/")


_versions: dict[str, str] = {}

CONSTRAINTS = Path(__file__).resolve().parent.parent / "bench" / "constraints.txt"
# executable -> the distribution pinned in bench/constraints.txt
DISTRIBUTIONS = {"pip-compile": "pip-tools", "pip-sync": "pip-tools", "pre-commit": "pre-commit",
                 "uvx": "uv"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path = CONSTRAINTS) -> dict[str, str]:
    """``name==version`` lines of a constraints file (canonical names)."""
    found = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if m:
            found[_canonical(m.group(1))] = m.group(2)
    return found


def unpinned(rows: list[Row]) -> list[str]:
    """``tool version (pinned X)`` for every row whose tool differs from bench/constraints.txt."""
    pinned = pins()
    out = []
    for r in rows:
        tool = r.label.split(" ", 1)[0]
        dist = _canonical(DISTRIBUTIONS.get(tool, tool))
        want = pinned.get(dist)
        if want is not None and r.version not in ("-", "?", want):
            out.append(f"{dist} {r.version} (pinned {want})")
    return sorted(set(out))


def version_of(tool: str, env: dict[str, str]) -> str:
    if tool not in _versions:
        if tool in ("pip", "build"):
            cmd = [sys.executable, "-m", tool, "--version"]
        else:
            cmd = [tool_path(tool) or tool, "--version"]
        out = run(cmd, env, timeout=60)
        m = re.search(r"\d+(\.\d+)+(\.?\w+)?", out.output) if out.rc == 0 else None
        _versions[tool] = m.group(0) if m else "?"
    return _versions[tool]


def run_case(case: Case, bed: Bed, work: Path,
             extra_env: dict[str, str] | None = None) -> list[Row]:
    env = dict(bed.envs[case.loopback])
    for name in ("PIP_CACHE_DIR", "UV_CACHE_DIR", "PDM_CACHE_DIR", "PIPENV_CACHE_DIR",
                 "XDG_CACHE_HOME"):  # every case starts with empty installer caches
        env[name] = str(work / "cache" / name.lower())
    steps = case.steps(work)
    runner = {k: v.format(work=work) for k, v in case.runner_env.items()}
    if "PIP_CONFIG_FILE" in runner:
        write_file(Path(runner["PIP_CONFIG_FILE"]), PIP_CONF)
    # configure runs in the runner's environment; its variables are laid over it
    # a case's own --python-mirror comes last and wins
    found = pipnexus_configure(bed.urls[case.loopback], FALLBACK, {**env, **runner},
                               project_dir=steps[0].cwd,
                               args=(*mirror_args(bed, case.loopback), *case.configure_args))
    env.update(runner)
    env.update(found.env)
    env.update({k: v.format(work=work, index=bed.urls[case.loopback])
                for k, v in case.case_env.items()})
    for name in case.unset:
        env.pop(name, None)
    env.update(extra_env or {})
    # a note that configure emptied a source naming only public PyPI says it fixed the leak:
    # not a warning about one
    warnings = [w for w in found.warnings if not w.endswith(" [public-pypi-cleared]")]
    if case.expect:
        warns = "yes" if all(any(w.endswith(f" [{code}]") for w in warnings)
                             for code in case.expect) else "no"
    else:
        warns = "yes" if any(str(steps[0].cwd) in w or any(k in w for k in runner)
                             for w in warnings) else "no"
    cleared = [k for k in runner if found.env.get(k) == ""]
    override = f"configure set {', '.join(cleared)} empty" if cleared else ""
    if runner.get("PIP_CONFIG_FILE") and found.env.get("PIP_CONFIG_FILE", "") not in (
            "", runner["PIP_CONFIG_FILE"]):
        override = "configure's pip config (read last) sets those keys empty"
    # the releases are the raw proxy's remote: a tool connecting to them directly is a leak
    allowed = {f"127.0.0.1:{bed.nexus.port}"}
    rows = []
    for i, step in enumerate(steps):
        exe = tool_path(step.cmd[0]) if not step.cmd[0].startswith("/") else step.cmd[0]
        if exe is None:
            rows.append(Row(step.label, "-", f"not run ({step.cmd[0]} not installed)", 0, [],
                            case.known, warns, "", ""))
            return rows
        before_cache, before_proxy = _served(bed), bed.proxy.count()
        before_dns = bed.dns.count() if bed.dns else 0
        before_packets = netns.packets() if bed.dns else None
        log = work / f"strace-{i}.log"
        cmd = [exe, *step.cmd[1:]]
        r = run(netns.traced(cmd, log) if bed.dns else cmd, env, cwd=step.cwd, timeout=300)
        via = _served(bed) - before_cache
        bypassed = bed.proxy.since(before_proxy)
        # 127.0.0.1:53 is the DNS stub: its queries are their own column
        connects = [t for t in netns.strace_targets(log)
                    if t not in allowed and t != "127.0.0.1:53"]
        queries = bed.dns.since(before_dns) if bed.dns else []
        after_packets = netns.packets() if before_packets is not None else None
        packets = (after_packets - before_packets
                   if after_packets is not None and before_packets is not None else None)
        result = "ok" if r.rc == 0 else f"FAILED ({r.rc})"
        remark = step.check() if step.check and r.rc == 0 else ""
        remark = "; ".join(x for x in (override, remark) if x)
        clean = not bypassed and not connects and not queries and not packets
        detail = "" if r.rc == 0 and clean else r.output[-1500:]
        rows.append(Row(step.label, version_of(step.tool, env), result, via, bypassed,
                        case.known, warns, remark, detail, connects, queries,
                        bed.dns is not None, packets))
        if r.rc:
            break
    return rows


def row_from_dict(d: dict[str, object]) -> Row:
    """A row back from JSON (testbed/netns.py's child writes them so)."""
    from testbed.proxies import Bypass

    raw = dict(d)
    raw["bypassed"] = [Bypass(*b) for b in raw["bypassed"]]  # type: ignore[attr-defined]
    return Row(**raw)  # type: ignore[arg-type]
