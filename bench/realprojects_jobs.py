"""The measured jobs of bench/realprojects.py: the bed they run on, the audit, the report.

Every job runs on one bed (``job_bed``), all of it loopback servers:

* "pypi.org": ``CountingIndex`` over the files recorded beforehand, behind a ``ThrottledRelay``
  with the modelled WAN (``WAN_RATE``/``WAN_RTT``, testbed/relay.py); ``Bed.upstreams`` holds
  it by host name beside a project's extra index host (``point_extra_index``), which goes
  behind the WAN the same way and whose bytes count as NAT too (column "extra index");
* the GitHub cache's storage: bench/egress_wan.py's ``ArchiveStore`` behind the WAN (a restore
  downloads the archive and unpacks it, a save packs and uploads it: both timed);
* the Nexus double, whose PyPI proxy's remote is "pypi.org" through the WAN and whose raw proxy
  ``python-build-standalone`` (the interpreter mirror ``pipnexus configure`` looks for with the
  action's default ``python-mirror: auto``) has testbed/pbs.py's ``Releases`` behind the WAN as
  its remote; the runner reaches the double through the in-cluster link
  (``CLUSTER_RATE``/``CLUSTER_RTT``, bench/egress_wan.py);
* the dead proxy every proxy variable points at (``DeadProxy``: a tool that honours them cannot
  leave unseen, column "via proxy").

Where a network namespace can be made (root, ``unshare``, ``strace``, ``ip``; testbed/netns.py)
a project's four jobs run in one, started by ``netns.run_child`` as ``python -m
bench.realprojects_jobs CONFIG``: only loopback, DNS answered by ``netns.DnsStub`` (every query
recorded), every install step under ``strace`` (every connection attempt of the tool and its
children that is not to the job's own server), and with ``nft`` an nftables counter of the
packets that left loopback. Elsewhere the jobs run in the bench's process and the dead proxy is
the only witness (the report says so). A job leaked when any witness saw something; the leak is
silent when ``pipnexus configure`` printed no warning beforehand. A pipnexus job that reaches
the extra index leaves the cluster (Nexus does not serve it): its connections are a leak, one
``configure`` warns about (``pdm-source``, ``pipenv-source``); a GitHub-cache job reaches it
as a runner without pipnexus would.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from bench._common import (
    REPO,
    CountingIndex,
    DeadProxy,
    human,
    isolated_env,
    pipnexus_configure,
    proxy_env,
    run,
    table,
)
from bench.egress_wan import CLUSTER_RATE, CLUSTER_RTT, ArchiveStore, download, upload
from bench.realprojects_files import PYPI, Project, load_manifest, point_extra_index
from pipnexus.nexus.values import PYTHON_MIRROR_REPOSITORY
from testbed import netns, pbs
from testbed.interpreters import pack, unpack
from testbed.leakrun import RUNNER_UNSET, python_mirror
from testbed.nexus_double import NexusDouble
from testbed.relay import WAN_RATE, WAN_RTT, ThrottledRelay

FILE_URL = re.compile(r"https://files\.pythonhosted\.org/packages/[^\"']*/([^/\"']+)")
TOOLS = Path(sys.executable).parent
CODE = re.compile(r"\[([a-z0-9-]+)\]$")  # a diagnostic's code
SETUPS = ("GitHub cache, cold", "GitHub cache, warm", "pipnexus, cold", "pipnexus, warm")
# the installers' cache directories: what GitHub's cache action would save for each
# pipenv: its virtualenvs, what setup-python's `cache: pipenv` saves (actions/setup-python:
# src/cache-distributions/pipenv-cache.ts, ~/.local/share/virtualenvs)
CACHE_VARS = {"PIP_CACHE_DIR": "pip", "UV_CACHE_DIR": "uv", "POETRY_CACHE_DIR": "poetry",
              "PDM_CACHE_DIR": "pdm", "WORKON_HOME": "virtualenvs"}
# the projects' interpreter: the one this virtual environment was made from, never the
# environment itself (pdm, given a virtual environment's interpreter, installs into it)
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


class Job(NamedTuple):
    project: str
    setup: str
    ok: bool
    failure: str  # the last lines of the failing step's output
    seconds: float  # the install steps, over the modelled WAN
    upstream: int  # bytes "pypi.org" served (NAT)
    upstream_files: int  # of which files
    extra_index: int  # bytes the project's extra index host served (NAT)
    archive_down: int
    archive_up: int
    restore: float  # GitHub cache: archive download over the WAN + unpack
    save: float  # GitHub cache: pack + upload over the WAN
    left: list[str]  # connections to the dead proxy (would have left the namespace)
    # the namespace's witnesses, None where there is none: every addr:port the install steps
    # tried besides the job's own server (strace), the DNS queries, the packets off loopback
    connects: list[str] | None
    dns: list[str] | None
    packets: int | None
    warnings: list[str]  # what pipnexus configure said beforehand

    @property
    def nat(self) -> int:
        return self.upstream + self.extra_index + self.archive_down + self.archive_up

    @property
    def leaked(self) -> bool:
        return bool(self.left or self.connects or self.dns or self.packets)

    @property
    def warned(self) -> bool:
        return any(": warning: " in w or w.startswith("warning: ") for w in self.warnings)


class Upstream(NamedTuple):
    server: CountingIndex
    url: str  # its base URL through the WAN relay


class Bed(NamedTuple):
    upstreams: dict[str, Upstream]  # index host ("pypi.org", ...) -> its stand-in
    nexus: NexusDouble
    nexus_url: str  # the double's base URL through the in-cluster link
    store_port: int  # the archive store through the WAN
    proxy: DeadProxy
    dns: netns.DnsStub | None  # set: in a namespace, every install step runs under strace

    @property
    def pypi(self) -> str:
        return self.upstreams["pypi.org"].url

    @property
    def extra(self) -> str | None:
        """The extra index host's index URL (through the WAN), if the project has one."""
        urls = [f"{u.url}/simple/" for host, u in self.upstreams.items() if host != "pypi.org"]
        return urls[0] if urls else None

    def nat(self) -> tuple[int, int, int]:
        """Bytes (and file bytes) "pypi.org" has served so far, and bytes the other hosts."""
        pypi = self.upstreams["pypi.org"].server.counts()
        return pypi.total, pypi.files, sum(u.server.counts().total
                                           for host, u in self.upstreams.items()
                                           if host != "pypi.org")

    def host(self, target: str) -> str:
        """An ``addr:port`` strace saw, named after the index host it stands for."""
        return next((host for host, u in self.upstreams.items()
                     if u.url == f"http://{target}"), target)


@contextmanager
def job_bed(indexes: Mapping[str, Path], work: Path,
            dns: netns.DnsStub | None = None) -> Iterator[Bed]:
    """Every server of the jobs, on 127.0.0.1: ``indexes`` (host -> folder of its files) each
    a ``CountingIndex`` behind the WAN; the archive store behind the WAN; the Nexus double
    (PyPI proxy of "pypi.org", raw proxy of the interpreter releases) behind the in-cluster
    link; the dead proxy."""
    with ExitStack() as stack:
        upstreams = {}
        for host, files in indexes.items():
            index = stack.enter_context(CountingIndex(files))
            relay = stack.enter_context(ThrottledRelay(index.port, WAN_RATE, WAN_RTT))
            upstreams[host] = Upstream(index, f"http://127.0.0.1:{relay.port}")
        releases = stack.enter_context(pbs.Releases({}))
        wan_releases = stack.enter_context(ThrottledRelay(releases.port, WAN_RATE, WAN_RTT))
        nexus = stack.enter_context(NexusDouble(upstreams["pypi.org"].url))
        nexus.add_raw_proxy(PYTHON_MIRROR_REPOSITORY, f"http://127.0.0.1:{wan_releases.port}")
        near = stack.enter_context(ThrottledRelay(nexus.port, CLUSTER_RATE, CLUSTER_RTT))
        store = stack.enter_context(ArchiveStore(work / "store"))
        wan_store = stack.enter_context(ThrottledRelay(store.port, WAN_RATE, WAN_RTT))
        proxy = stack.enter_context(DeadProxy())
        yield Bed(upstreams, nexus, f"http://127.0.0.1:{near.port}", wan_store.port, proxy, dns)


def _argv(step: Sequence[str]) -> list[str]:
    out = [a.replace("{python}", BASE_PYTHON) for a in step]
    tool = TOOLS / out[0]
    if "/" not in out[0] and tool.exists():
        out[0] = str(tool)
    return out


class Steps(NamedTuple):
    ok: bool
    failure: str
    seconds: float
    connects: list[str]  # strace, when given ``allowed``: targets not among them


def run_steps(p: Project, src: Path, work: Path, env: Mapping[str, str],
              upstream: str | None, extra: str | None = None,
              allowed: set[str] | None = None) -> Steps:
    """The project's install commands in a fresh copy of its files: through pipnexus
    (``upstream`` None) or straight from "pypi.org" at ``upstream``, its lock files' pypi.org
    URLs pointed there (on a runner they would reach pypi.org itself); its extra index, if
    any, at ``extra`` either way (Nexus does not serve it). ``allowed`` (in a namespace): each
    step runs under strace, and every address it tried that is not in it is listed (the DNS
    stub's port aside: its queries are counted by the stub)."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work)
    if extra is not None:
        point_extra_index(p, work, extra)
    if upstream is not None:
        for lock in p.lock_urls:
            text = (work / lock).read_text(encoding="utf-8")
            text = text.replace(PYPI.rstrip("/"), f"{upstream}/simple/")
            text = FILE_URL.sub(lambda m: f"{upstream}/files/{m.group(1)}", text)
            (work / lock).write_text(text, encoding="utf-8")
    if "SETUPTOOLS_SCM_PRETEND_VERSION" in p.env:
        # hatch-vcs/setuptools-scm read the version from git, and tox does not pass that
        # variable to its package environment: a repository of the copied files, tagged
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "files"],
                    ["tag", p.env["SETUPTOOLS_SCM_PRETEND_VERSION"]]):
            run([*git, *cmd], {"PATH": "/usr/bin:/bin", "HOME": str(work)}, cwd=work)
    steps = p.steps if upstream is not None or not p.pipnexus_steps else p.pipnexus_steps
    seconds, connects = 0.0, []
    for i, step in enumerate(steps):
        cmd, log = _argv(step), work.parent / f"{work.name}-strace-{i}.log"
        log.unlink(missing_ok=True)
        if allowed is not None:
            # --seccomp-bpf: the tool stops only at the traced calls, so the install step's
            # time is close to an untraced one
            cmd = netns.traced(cmd, log, seccomp=True)
        r = run(cmd, {**env, **p.env}, cwd=work, timeout=900)
        seconds += r.seconds
        if allowed is not None:
            connects += [t for t in netns.strace_targets(log)
                         if t not in allowed and t != "127.0.0.1:53"]
        if r.rc:
            tail = "\n".join(r.output.strip().splitlines()[-15:])
            return Steps(False, f"`{' '.join(step)}` exited {r.rc}:\n{tail}", seconds, connects)
    return Steps(True, "", seconds, connects)


def job_env(home: Path, caches: Path, index_env: Mapping[str, str],
            proxy: DeadProxy) -> dict[str, str]:
    env = isolated_env(home, {"UV_LINK_MODE": "copy", "PATH": f"{TOOLS}:/usr/bin:/bin"})
    for name in RUNNER_UNSET:  # as on a runner: the tools' own checks and config discovery on
        env.pop(name, None)
    env.update({var: str(caches / sub) for var, sub in CACHE_VARS.items()})
    env.update(proxy_env(proxy, ()))
    env.update(index_env)
    return env


def jobs_for(p: Project, src: Path, work: Path, bed: Bed) -> list[Job]:
    """The four jobs of one project on ``bed`` (one Nexus double: cold for the first pipnexus
    job, warm for the second)."""
    out: list[Job] = []
    archive = work / "github-cache.tar.gz"
    nexus_index = f"{bed.nexus_url}/repository/{bed.nexus.default_repository}/simple/"
    for setup in SETUPS:
        home, caches = work / f"home-{len(out)}", work / f"caches-{len(out)}"
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        caches.mkdir(parents=True)
        down = up_bytes = 0
        restore = save = 0.0
        base = isolated_env(home)
        pipnexus = setup.startswith("pipnexus")
        pypi_index = f"{bed.pypi}/simple/"
        if pipnexus:
            configured = pipnexus_configure(nexus_index, pypi_index, base,
                                            project_dir=work / "project")
            if configured.source != "nexus":
                print(f"  warning: pipnexus configure chose {configured.source!r}: this job "
                      "does not go through the Nexus double", flush=True)
            if configured.env.get("UV_PYTHON_INSTALL_MIRROR") != python_mirror(nexus_index):
                print("  warning: pipnexus configure set no interpreter mirror", flush=True)
            allowed = {bed.nexus_url.removeprefix("http://")}
        else:
            configured = pipnexus_configure(pypi_index, pypi_index, base,
                                            project_dir=work / "project")
            # a runner without pipnexus reaches every index host, the extra one too
            allowed = {u.url.removeprefix("http://") for u in bed.upstreams.values()}
            if setup.endswith("warm"):
                start = time.perf_counter()
                archive.write_bytes(download(bed.store_port, "github-cache"))
                down = unpack(archive, caches)
                restore = time.perf_counter() - start
        env = job_env(home, caches, configured.env, bed.proxy)
        before, before_files, extra_before = bed.nat()
        mark, dns_mark = bed.proxy.count(), bed.dns.count() if bed.dns else 0
        packets_before = netns.packets() if bed.dns else None
        steps = run_steps(p, src, work / "project", env, None if pipnexus else bed.pypi,
                          bed.extra, allowed if bed.dns else None)
        packets_after = netns.packets() if packets_before is not None else None
        if setup == SETUPS[0]:
            start = time.perf_counter()
            up_bytes = pack(caches, archive)
            upload(bed.store_port, "github-cache", archive.read_bytes())
            save = time.perf_counter() - start
        total, files, extra = bed.nat()
        out.append(Job(
            p.name, setup, steps.ok, steps.failure, steps.seconds, total - before,
            files - before_files, extra - extra_before, down, up_bytes, restore, save,
            [b.target for b in bed.proxy.since(mark)],
            [bed.host(t) for t in steps.connects] if bed.dns else None,
            bed.dns.since(dns_mark) if bed.dns else None,
            packets_after - packets_before
            if packets_after is not None and packets_before is not None else None,
            configured.warnings))
        print(line(out[-1]), flush=True)
    return out


def line(j: Job) -> str:
    """One job, as the bench prints it while it runs."""
    witness = f"via proxy {len(j.left)}"
    if j.connects is not None:
        witness += f", connects {len(j.connects)}, DNS {len(j.dns or [])}, packets " + (
            "n/a" if j.packets is None else str(j.packets))
    text = (f"  {j.setup:18} {'ok' if j.ok else 'FAILED'}, NAT {human(j.nat)} "
            f"(pypi.org {human(j.upstream)}, archive {human(j.archive_down + j.archive_up)}"
            + (f", extra index {human(j.extra_index)}" if j.extra_index else "") + "),"
            f" install {j.seconds:.1f} s over the WAN"
            + (f" (restore {j.restore:.1f} s, save {j.save:.1f} s)" if j.restore or j.save
               else "") + f"; {witness}" + ("; SILENT LEAK" if j.leaked and not j.warned else ""))
    if not j.ok:
        text += "\n    " + j.failure.replace("\n", "\n    ")
    return text


def run_jobs(p: Project, src: Path, work: Path, indexes: Mapping[str, Path],
             audit: bool) -> list[Job]:
    """The four jobs on a ``job_bed`` of ``indexes`` (index host -> folder of its files, with
    "pypi.org"): in a network namespace of their own when ``audit``, else here."""
    if not audit:
        with job_bed(indexes, work) as bed:
            return jobs_for(p, src, work, bed)
    shutil.rmtree(work / "inside", ignore_errors=True)
    answer: dict[str, Any] = netns.run_child(
        "bench.realprojects_jobs", work, "audit",
        {"project": p.name, "src": str(src), "work": str(work / "inside"),
         "indexes": {host: str(files) for host, files in indexes.items()}},
        f"{p.name}'s namespace child", timeout=3600)
    jobs = [Job(**j) for j in answer["jobs"]]
    for j in jobs:
        print(line(j), flush=True)
    return jobs


def _child(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    work = Path(config["work"])
    netns.enter(work / "etc")
    p = next(p for p in load_manifest() if p.name == config["project"])
    with netns.DnsStub() as dns, \
            job_bed({h: Path(f) for h, f in config["indexes"].items()}, work, dns) as bed:
        jobs = jobs_for(p, Path(config["src"]), work, bed)
    Path(config["out"]).write_text(json.dumps({"jobs": [j._asdict() for j in jobs]}))
    return 0


# --------------------------------------------------------------------------------------------
# report


def _count(found: list[str] | int | None) -> str:
    if found is None:
        return "n/a"
    return str(found if isinstance(found, int) else len(found))


def report(projects: Sequence[Project], jobs: Sequence[Job],
           migrated: Mapping[str, str]) -> str:
    rows = []
    for j in jobs:
        codes = sorted({m.group(1) for w in j.warnings for m in [CODE.search(w)] if m})
        rows.append([j.project, j.setup, "ok" if j.ok else "FAILED", human(j.upstream),
                     human(j.archive_down + j.archive_up), human(j.nat), f"{j.seconds:.1f} s",
                     f"{j.restore + j.save:.1f} s" if j.restore or j.save else "-",
                     _count(j.connects), _count(j.dns), _count(j.packets), str(len(j.left)),
                     ", ".join(codes) if j.setup.startswith("pipnexus") else "",
                     ("warned" if j.warned else "SILENT") if j.leaked else "-"])
    out = [table(["project", "job", "result", "pypi.org", "cache archive", "NAT total",
                  "install (WAN)", "restore + save (WAN)", "connects", "DNS", "packets",
                  "via proxy", "configure warned", "leak"], rows)]
    out.append("")
    for p in projects:
        out.append(f"- {p.name} ({p.repository}@{p.commit[:12]}, {p.licence}; {p.kind}): "
                   f"CI: {p.ci}; migrate {migrated.get(p.name, 'not run')}")
        if p.extra_index:
            out[-1] += f"; its extra index ({p.extra_index['url']}) served " + ", ".join(
                f"{j.setup} {human(j.extra_index)}" for j in jobs if j.project == p.name)
    totals: dict[str, int] = {}
    for j in jobs:
        totals[j.setup] = totals.get(j.setup, 0) + j.nat
    out.append("")
    out.append("NAT totals over the projects: " + "; ".join(
        f"{s} {human(totals[s])}" for s in SETUPS if s in totals))
    if SETUPS[1] in totals and SETUPS[3] in totals:
        out.append(f"A warm job, every project once: {human(totals[SETUPS[1]])} with the GitHub "
                   f"cache -> {human(totals[SETUPS[3]])} through pipnexus (the story's one "
                   "build: 3.55 GB -> 329 MB)")
    silent = [j for j in jobs if j.leaked and not j.warned]
    out.append(f"Silent leaks (a witness saw traffic, configure warned of nothing): "
               f"{len(silent)}" + "".join(
                   f"\n- {j.project}, {j.setup}: " + "; ".join(
                       [*j.left, *(j.connects or []), *(f"DNS {q}" for q in j.dns or []),
                        *([f"{j.packets} packets"] if j.packets else [])]) for j in silent))
    failures = [j for j in jobs if not j.ok]
    if failures:
        out.append(f"The totals include {len(failures)} failed jobs (below): their bytes are "
                   "what they moved before failing.")
    for j in failures:
        out.append(f"- {j.project}, {j.setup}: {j.failure.splitlines()[0]}")
    return "\n".join(out)


def svg(jobs: Sequence[Job], path: Path) -> str:
    """NAT bytes per job, and its time over the modelled WAN (install step, and the GitHub
    cache's restore or save), per project and set-up (matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no picture: matplotlib is not installed (pip install -e '.[bench]')"
    names = sorted({j.project for j in jobs}, key=[j.project for j in jobs].index)
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.6 * len(names) + 2.2))
    height = 0.8 / len(SETUPS)
    for k, setup in enumerate(SETUPS):
        by = {j.project: j for j in jobs if j.setup == setup}
        ys = [i + k * height for i in range(len(names))]
        bars = axes[0].barh(ys, [by[n].nat / 1e6 if n in by else 0 for n in names], height,
                            label=setup)
        install = [by[n].seconds if n in by else 0 for n in names]
        axes[1].barh(ys, install, height, color=bars.patches[0].get_facecolor())
        axes[1].barh(ys, [by[n].restore + by[n].save if n in by else 0 for n in names], height,
                     left=install, color=bars.patches[0].get_facecolor(), alpha=0.4)
    for ax, title in zip(axes, ("NAT bytes per job (MB)",
                                "install step over the modelled WAN (s);\n"
                                "light: cache restore or save")):
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(names))], names)
        ax.invert_yaxis()
        ax.set_title(title)
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)
    return f"picture: {path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path}"


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1]))
