"""Real container runtimes pulling Docker Hub images through a real pull-through cache, in a
network namespace where nothing can leave the machine.

Debian's ``containerd`` (1.6) and ``docker.io`` (``dockerd`` 20.10, with its built-in BuildKit)
run as root with their own root, state, sockets and data under a work folder. A stand-in
"Docker Hub" (``testbed.registry.Registry``, a plain ``distribution`` registry holding tiny
images pushed with ``skopeo``) sits behind a pull-through cache (the same server in proxy mode)
that plays the Nexus Docker connector. Everything runs under ``unshare -mn`` (testbed/netns.py:
only loopback, a private mount table, a DNS stub that records every name asked for): a runtime
that falls back to ``registry-1.docker.io`` is refused at once and the stub keeps the name.

``run_isolated(scenario, work, params)`` runs one scenario in a fresh namespace and returns its
steps (``Step._asdict()``): what each command printed, how many blob downloads the stand-in hub
and the cache served meanwhile, the body bytes the hub sent, and the DNS names asked for.
Scenarios: ``containerd`` (``ctr images pull --hosts-dir`` with a given ``hosts.toml``),
``dockerd`` (``dockerd`` with given arguments; ``docker pull`` and ``docker build``),
``dockerd_named`` (a pull by Docker Hub name and one that names the cache) and
``image_jobs`` (the egress benchmark's image pulls, cold and warm, per set-up).
``python -m testbed.runtimes CONFIG.json`` is the child side.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import string
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NamedTuple

from testbed import netns, registry
from testbed.interpreters import GITHUB_CACHE, PIPNEXUS
from testbed.registry import Registry

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
STEP_TIMEOUT = 180.0
DOCKER = "/usr/bin/docker"  # Debian's 20.10 CLI: a newer one elsewhere on PATH may lack buildx
TOOLS = ("containerd", "ctr", "dockerd", DOCKER, "docker-registry", "skopeo")


def missing() -> str | None:
    """Why the runtime scenarios cannot run here, or ``None``."""
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return (f"{', '.join(absent)} not installed (apt-get install -y containerd docker.io "
                "skopeo docker-registry; .ci/run does it where apt works)")
    return netns.why_unavailable()


class Step(NamedTuple):
    name: str
    rc: int
    output: str  # the command's last lines
    hub_blob_gets: int  # blob downloads the stand-in Docker Hub served during the step
    hub_bytes: int  # body bytes it sent (blobs and manifests)
    cache_blob_gets: int  # blob downloads the pull-through cache served
    dns: list[str]  # names the step's processes asked the resolver for
    inside: int = 0  # body bytes the cache sent (to the runner)
    archive_down: int = 0  # image archive restored (the image_jobs scenario's GitHub cache)
    archive_up: int = 0  # image archive saved


class Daemon:
    """A daemon with a log, ready when its socket exists (and ``probe`` succeeds); stopped with
    SIGTERM, then SIGKILL."""

    def __init__(self, cmd: list[str], socket: Path, log: Path,
                 probe: list[str] | None = None) -> None:
        self.socket = socket
        self.log = log
        with open(log, "ab") as out:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not (socket.exists() and _succeeds(probe)):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{cmd[0]} did not start:\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(STOP_TIMEOUT)


def _succeeds(probe: list[str] | None) -> bool:
    return probe is None or subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


def socket_path(work: Path, name: str) -> Path:
    """A short path for a daemon's socket or a folder of sockets (a unix socket's path has at
    most 107 bytes; pytest's folders are longer): under /run, which the child mounts as its own
    tmpfs."""
    folder = Path("/run/pipnexus") / hashlib.sha256(str(work).encode()).hexdigest()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def containerd(work: Path) -> Daemon:
    """containerd with everything under ``work`` and the CRI plugin off (no kubelet here)."""
    work.mkdir(parents=True, exist_ok=True)
    config = work / "containerd.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{work}/root"\nstate = "{work}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{socket_path(work, "containerd.sock")}"\n'
        f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{work}/opt"\n')
    return Daemon(["containerd", "--config", str(config)], socket_path(work, "containerd.sock"),
                  work / "containerd.log")


def dockerd(work: Path, containerd_socket: Path, args: Sequence[str]) -> Daemon:
    """dockerd with ``args`` plus what keeps it to ``work``: no iptables, no bridge, vfs. Its
    socket is ``socket_path(work, "docker.sock")``: an ``args`` that sets ``--host`` must say
    so."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "daemon.json").write_text("{}")  # --config-file /dev/null fails with EOF
    socket = socket_path(work, "docker.sock")
    if not any(a.startswith(("--host", "-H")) for a in args):
        args = [*args, f"--host=unix://{socket}"]
    return Daemon(
        ["dockerd", *args, "--config-file", str(work / "daemon.json"),
         "--data-root", str(work / "data"), "--exec-root", str(socket_path(work, "exec")),
         "--pidfile", str(work / "docker.pid"), "--iptables=false", "--ip6tables=false",
         "--ip-masq=false", "--bridge=none", "--storage-driver=vfs",
         "--containerd", str(containerd_socket)],
        # dockerd creates its socket before it serves the API
        socket, work / "dockerd.log", [DOCKER, "-H", f"unix://{socket}", "version"])


class Bed:
    """The stand-in hub with ``images`` pushed (``library/NAME:latest``; the value is the size
    of an incompressible file the layer carries besides a small one), the cache in front."""

    def __init__(self, stack: ExitStack, work: Path, images: dict[str, int],
                 dns: netns.DnsStub, address: str = "127.0.0.1") -> None:
        self.work = work
        self.dns = dns
        self.stack = stack
        self.address = address
        self.hub = stack.enter_context(Registry(work, name="hub", address=address))
        for name, size in images.items():
            layout = work / "oci" / name
            files = {f"{name}.txt": f"{name}\n".encode()}
            if size:
                files[f"{name}.bin"] = random.Random(name).randbytes(size)
            registry.write_image(layout, files)
            registry.push(layout, self.hub.host, f"library/{name}")
        self.cache = self.new_cache("cache")
        self.steps: list[Step] = []

    def new_cache(self, name: str) -> Registry:
        """A fresh, empty pull-through cache of the hub; ``cache`` from now on."""
        self.cache = self.stack.enter_context(Registry(self.work, upstream=self.hub.url,
                                                       name=name, address=self.address))
        return self.cache

    def run(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> Step:
        hub_gets, hub_bytes = len(self.hub.blob_gets()), _body_bytes(self.hub)
        cache_gets, cache_bytes = len(self.cache.blob_gets()), _body_bytes(self.cache)
        dns_mark = self.dns.count()
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=STEP_TIMEOUT, env=env)
            rc, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as e:
            rc, output = -1, f"timed out after {e.timeout} s"
        step = Step(name, rc, "\n".join(output.strip().splitlines()[-15:]),
                    len(self.hub.blob_gets()) - hub_gets, _body_bytes(self.hub) - hub_bytes,
                    len(self.cache.blob_gets()) - cache_gets, self.dns.since(dns_mark),
                    _body_bytes(self.cache) - cache_bytes)
        self.steps.append(step)
        return step


def _body_bytes(server: Registry) -> int:
    # the access log gives a HEAD answer's Content-Length, but no body was sent
    return sum(r.size for r in server.requests() if r.method != "HEAD")


def expand(text: str, bed: Bed) -> str:
    """``${cache_url}``, ``${cache_host}``, ``${hub_url}``, ``${hub_host}`` and
    ``${docker_socket}`` (the dockerd scenario's) filled in."""
    return string.Template(text).safe_substitute(
        cache_url=bed.cache.url, cache_host=bed.cache.host, hub_url=bed.hub.url,
        hub_host=bed.hub.host, docker_socket=socket_path(bed.work / "docker", "docker.sock"))


def containerd_scenario(stack: ExitStack, bed: Bed, params: dict[str, Any]) -> None:
    """``ctr images pull --hosts-dir`` with ``params["hosts_toml"]`` as
    ``certs.d/docker.io/hosts.toml``: a cold pull, then the same after ``images rm --sync``
    (the content store's garbage collection drops the blobs); then one with the cache
    stopped."""
    work = bed.work / "containerd"
    certs = work / "certs.d" / "docker.io"
    certs.mkdir(parents=True)
    (certs / "hosts.toml").write_text(expand(params["hosts_toml"], bed))
    daemon = containerd(work)
    stack.callback(daemon.stop)
    ctr = ["ctr", "--address", str(daemon.socket)]
    image = "docker.io/library/tiny:latest"
    for attempt in ("cold", "warm"):
        bed.run(f"ctr pull ({attempt})",
                [*ctr, "images", "pull", "--hosts-dir", str(work / "certs.d"), image])
        bed.run(f"ctr rm ({attempt})", [*ctr, "images", "rm", "--sync", image])
    bed.cache.stop()
    bed.run("ctr pull (mirror down)",
            [*ctr, "images", "pull", "--hosts-dir", str(work / "certs.d"), image])


def dockerd_scenario(stack: ExitStack, bed: Bed, params: dict[str, Any]) -> None:
    """``dockerd`` with ``params["args"]``: ``docker pull`` cold, then again after
    ``docker rmi``; ``docker build`` (BuildKit) with ``FROM`` another image, cold, then again
    after removing it and pruning the build cache; a pull with the cache stopped."""
    work = bed.work / "docker"
    inner = containerd(work / "containerd")
    stack.callback(inner.stop)
    daemon = dockerd(work, inner.socket, [expand(a, bed) for a in params["args"]])
    stack.callback(daemon.stop)
    env = dict(os.environ, DOCKER_CONFIG=str(work / "cli"), DOCKER_BUILDKIT="1")
    docker = [DOCKER, "-H", f"unix://{daemon.socket}"]
    for attempt in ("cold", "warm"):
        bed.run(f"docker pull ({attempt})", [*docker, "pull", "tiny"], env)
        bed.run(f"docker rmi ({attempt})", [*docker, "rmi", "tiny"], env)
    context = work / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM built\nCOPY hello.txt /hello.txt\n")
    (context / "hello.txt").write_text("hello\n")
    for attempt in ("cold", "warm"):
        bed.run(f"docker build ({attempt})",
                [*docker, "build", "--quiet", "-t", "result", str(context)], env)
        # BuildKit keeps the base image in its own cache, not in dockerd's image store
        bed.run(f"docker rmi ({attempt} build)", [*docker, "rmi", "result"], env)
        bed.run(f"docker builder prune ({attempt})", [*docker, "builder", "prune", "-af"], env)
    bed.cache.stop()
    bed.run("docker pull (mirror down)", [*docker, "pull", "tiny"], env)


def dockerd_named_scenario(stack: ExitStack, bed: Bed, params: dict[str, Any]) -> None:
    """``dockerd`` with ``params["args"]``: ``docker pull tiny`` (Docker Hub's name: the
    mirror) and ``docker pull <cache host>/library/tiny`` (an image that names the registry)."""
    work = bed.work / "docker"
    inner = containerd(work / "containerd")
    stack.callback(inner.stop)
    daemon = dockerd(work, inner.socket, [expand(a, bed) for a in params["args"]])
    stack.callback(daemon.stop)
    env = dict(os.environ, DOCKER_CONFIG=str(work / "cli"))
    docker = [DOCKER, "-H", f"unix://{daemon.socket}"]
    bed.run("docker pull (mirror)", [*docker, "pull", "tiny"], env)
    bed.run("docker pull (named)", [*docker, "pull", f"{bed.cache.host}/library/tiny"], env)


# containerd 1.6 and 1.7 ignore a hosts.toml without a [host] table (remotes/docker/config/
# hosts.go getSortedHosts: "invalid `host` tree", then the defaults: registry-1.docker.io)
HOSTS = 'server = "${hub_url}"\n[host."${%s}"]\n  capabilities = ["pull", "resolve"]\n'
DIRECT_HOSTS, MIRROR_HOSTS = HOSTS % "hub_url", HOSTS % "cache_url"


def image_jobs_scenario(stack: ExitStack, bed: Bed, params: dict[str, Any]) -> None:
    """Ephemeral runners pulling one image (``library/app``) with containerd, per set-up
    (bench/egress_docker.py): build 1 ``cold_runs`` times, each from nothing, then builds
    2..``builds`` (warm); the image is removed (``images rm --sync``) after every build.

    * ``no cache``: ``hosts.toml`` sends the pull to the hub (``server``);
    * ``GitHub cache``: the same for a cold build, then ``ctr images export`` (the archive a
      cache action would save); a warm build imports that archive instead of pulling;
    * ``pipnexus``: the hub behind the pull-through cache (a ``[host]``, as
      examples/docker/hosts.toml), a fresh cache per cold run.

    Steps are named ``SETUP|BUILD|COLD_RUN`` (``COLD_RUN`` 0 for a warm build)."""
    work = bed.work / "jobs"
    daemon = containerd(work)
    stack.callback(daemon.stop)
    ctr = ["ctr", "--address", str(daemon.socket)]
    image, archive = "docker.io/library/app:latest", work / "app.tar"
    plan = [(1, k) for k in range(1, params["cold_runs"] + 1)] + \
        [(i, 0) for i in range(2, params["builds"] + 1)]
    for setup in params["setups"]:
        certs = work / setup.replace(" ", "-") / "docker.io"
        certs.mkdir(parents=True)
        hosts = certs / "hosts.toml"
        for number, cold_run in plan:
            if setup == PIPNEXUS and cold_run:
                bed.new_cache(f"cache-{cold_run}")
            hosts.write_text(expand(MIRROR_HOSTS if setup == PIPNEXUS else DIRECT_HOSTS, bed))
            name = f"{setup}|{number}|{cold_run}"
            if setup == GITHUB_CACHE and not cold_run:
                step = bed.run(name, [*ctr, "images", "import", str(archive)])
                bed.steps[-1] = step._replace(archive_down=archive.stat().st_size)
            else:
                step = bed.run(name, [*ctr, "images", "pull", "--hosts-dir", str(certs.parent),
                                      image])
            if setup == GITHUB_CACHE and cold_run:
                exported = subprocess.run([*ctr, "images", "export", str(archive), image],
                                          capture_output=True, timeout=STEP_TIMEOUT)
                up = archive.stat().st_size if exported.returncode == 0 else 0
                bed.steps[-1] = step._replace(archive_up=up, rc=step.rc or exported.returncode)
            subprocess.run([*ctr, "images", "rm", "--sync", image], capture_output=True,
                           timeout=STEP_TIMEOUT)


SCENARIOS = {"containerd": containerd_scenario, "dockerd": dockerd_scenario,
             "dockerd_named": dockerd_named_scenario, "image_jobs": image_jobs_scenario}
SMALL = {"containerd": {"tiny": 0}, "dockerd": {"tiny": 0, "built": 0},
         "dockerd_named": {"tiny": 0}}


def _images(config: dict[str, Any]) -> dict[str, int]:
    if config["scenario"] == "image_jobs":
        return {"app": int(config["params"]["size"])}
    return SMALL[config["scenario"]]


def run_isolated(scenario: str, work: Path, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Run ``scenario`` in a fresh network namespace; its steps as dicts."""
    steps: list[dict[str, Any]] = netns.run_child(
        "testbed.runtimes", work, "runtime",
        {"scenario": scenario, "work": str(work / "inside"), "params": params},
        f"the {scenario} scenario", timeout=600)
    return steps


def _child(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    work = Path(config["work"])
    netns.enter(work / "etc")
    # dockerd 20.10 keeps its trust key in /etc/docker and its plugin sockets in /run/docker
    # whatever its options say: give it its own, in this private mount table
    etc_docker = work / "etc" / "docker"
    etc_docker.mkdir(parents=True)
    for cmd in (["mount", "--bind", str(etc_docker), "/etc/docker"],
                ["mount", "-t", "tmpfs", "tmpfs", "/run"]):
        subprocess.run(cmd, check=True, capture_output=True, timeout=20)
    # params["address"]: the registries listen there (on lo) instead of 127.0.0.1, which
    # dockerd treats as insecure whatever its options say
    address = config["params"].get("address", "127.0.0.1")
    if address != "127.0.0.1":
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True,
                       capture_output=True, timeout=20)
    with ExitStack() as stack:
        dns = stack.enter_context(netns.DnsStub())
        bed = Bed(stack, work / "bed", _images(config), dns, address)
        try:
            SCENARIOS[config["scenario"]](stack, bed, config["params"])
        finally:
            Path(config["out"]).write_text(json.dumps([s._asdict() for s in bed.steps]))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1]))
