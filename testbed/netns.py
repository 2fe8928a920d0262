"""A network with nothing in it: the leak audit's second, tool-independent witness.

The audit (testbed/leakaudit.py) runs inside ``unshare -mn`` (a private network namespace with
only loopback, and a private mount table), so every server of the bed (upstream, Nexus double,
dead proxy) runs in there too. ``enter`` brings ``lo`` up and bind-mounts

* ``/etc/hosts``: ``nexus.test`` (and the machine's own name) -> 127.0.0.1 for *every*
  process, Python or not, whatever it does with ``PYTHONPATH``;
* ``/etc/resolv.conf``: ``nameserver 127.0.0.1``, where ``DnsStub`` records each query and
  answers NXDOMAIN; any query is a name the tool wanted besides the cache.

Each tool runs under ``strace -f -e trace=connect,sendto,sendmsg,sendmmsg,io_uring_setup``:
``strace_targets`` lists every IPv4/IPv6 address it tried. UDP "connects" to port 0 are glibc's
address selection in ``getaddrinfo`` (RFC 6724), not traffic, and are skipped, as are AF_UNIX
sockets. The packet witness: with ``nft`` installed, the namespace has a default route through
a veth pair (so nothing fails early with "network unreachable") and an nftables counter on
every packet that leaves loopback (``packets``); TCP to anywhere gets a reset at once, other
packets die on the link. Nothing can leave the machine: the veth's far end is in the namespace
too, with nothing behind it. What no witness here sees: a request handed over a Unix socket to
a daemon outside the namespace (a Docker or containerd daemon, an SSH agent), which makes the
connection itself.

``python -m testbed.netns CONFIG.json`` is the child side used by tests/test_leaks.py: it enters
the namespace, starts the bed and runs the named cases; ``run_isolated`` starts it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOSTS = "127.0.0.1 localhost nexus.test {host}\n::1 localhost ip6-localhost\n"
INSIDE = "PIPNEXUS_LEAKS_NETNS"  # set in the child: the namespace is already entered

_INET = re.compile(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(r'sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')


def why_unavailable() -> str | None:
    """None if ``unshare -mn`` and ``strace`` work here, else the reason."""
    if os.environ.get(INSIDE):
        return None
    for tool in ("unshare", "strace", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if os.geteuid() != 0:
        return "unshare -mn needs root (CAP_SYS_ADMIN)"
    try:
        probe = subprocess.run(["unshare", "-mn", "ip", "link", "set", "lo", "up"],
                               capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare -mn failed: {e}"
    if probe.returncode:
        return f"unshare -mn is not permitted here: {probe.stderr.strip()[:200]}"
    return None


def inside() -> bool:
    return bool(os.environ.get(INSIDE))


def enter(work: Path) -> None:
    """In a process started under ``unshare -mn``: loopback up, our hosts and resolv.conf."""
    work.mkdir(parents=True, exist_ok=True)
    hosts, resolv = work / "hosts", work / "resolv.conf"
    # the machine's own name resolves on every host (git, getfqdn look it up): not a leak
    hosts.write_text(HOSTS.format(host=socket.gethostname()))
    resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n")
    for cmd in (["ip", "link", "set", "lo", "up"], ["mount", "--make-rprivate", "/"],
                ["mount", "--bind", str(hosts), "/etc/hosts"],
                ["mount", "--bind", str(resolv), "/etc/resolv.conf"]):
        subprocess.run(cmd, check=True, capture_output=True, timeout=20)
    if shutil.which("nft"):
        _default_route(work)
    os.environ[INSIDE] = "1"


# Every packet the tools send that is not on loopback goes out of a veth with the default
# route (no "network unreachable" shortcut) and is counted here first: TCP is answered with a
# reset at once (no SYN timeouts), everything else dies on the link (no neighbour answers).
# Kernel neighbour discovery and MLD are not a tool's traffic.
NFT_RULES = """\
table inet pipnexus_audit {
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "lo" accept
    icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert,
                  mld-listener-report, mld2-listener-report } accept
    meta l4proto tcp counter reject with tcp reset
    counter accept
  }
}
"""
_COUNTER = re.compile(r"counter packets (\d+)")


def _default_route(work: Path) -> None:
    rules = work / "audit.nft"
    rules.write_text(NFT_RULES)
    # no "dummy" module on every kernel: a veth pair whose far end nobody listens on
    for cmd in (["ip", "link", "add", "pn0", "type", "veth", "peer", "name", "pn1"],
                ["ip", "link", "set", "pn1", "up"],
                ["ip", "addr", "add", "10.254.0.1/24", "dev", "pn0"],
                ["ip", "link", "set", "pn0", "up"],
                ["ip", "route", "add", "default", "dev", "pn0"],
                ["nft", "-f", str(rules)]):
        subprocess.run(cmd, check=True, capture_output=True, timeout=20)
    for cmd in (["ip", "-6", "addr", "add", "fd00:254::1/64", "dev", "pn0", "nodad"],
                ["ip", "-6", "route", "add", "default", "dev", "pn0"]):
        subprocess.run(cmd, capture_output=True, timeout=20)  # IPv6 may be off: then v4 only


def packets() -> int | None:
    """Packets sent so far to anywhere but loopback (None: no packet witness here)."""
    try:
        out = subprocess.run(["nft", "list", "chain", "inet", "pipnexus_audit", "out"],
                             capture_output=True, text=True, timeout=20)
    except OSError:
        return None
    if out.returncode:
        return None
    return sum(int(n) for n in _COUNTER.findall(out.stdout))


class DnsStub:
    """A UDP DNS server on 127.0.0.1:53 that records every question and answers NXDOMAIN."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self._sock.recvfrom(4096)
            except OSError:
                return
            name, end = _question(data)
            if name is None:
                continue
            with self._lock:
                self.queries.append(name)
            # header: same id, QR + RD + RA, RCODE 3 (NXDOMAIN), 1 question, no answers
            reply = data[:2] + b"\x81\x83" + b"\x00\x01\x00\x00\x00\x00\x00\x00" + data[12:end]
            with suppress(OSError):
                self._sock.sendto(reply, peer)

    def count(self) -> int:
        with self._lock:
            return len(self.queries)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return self.queries[mark:]

    def __enter__(self) -> DnsStub:
        self._sock.bind(("127.0.0.1", 53))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


def _question(data: bytes) -> tuple[str | None, int]:
    """The first question's name (and where the question section ends) of a DNS query."""
    labels, i = [], 12
    try:
        while data[i]:
            n = data[i]
            labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        return ".".join(labels) or ".", i + 5  # zero byte, QTYPE, QCLASS
    except IndexError:
        return None, 0


# every call that can send to an address; io_uring's own operations (IORING_OP_CONNECT,
# IORING_OP_SENDMSG) are not system calls: its setup is counted, the packet witness sees the rest
TRACED = ("connect", "sendto", "sendmsg", "sendmmsg", "io_uring_setup")
_CALL = re.compile(r"\b(" + "|".join(TRACED) + r")\(")


def traced(cmd: list[str], log: Path, seccomp: bool = False) -> list[str]:
    """``cmd`` under strace; ``seccomp``: stopped only at the traced calls (``--seccomp-bpf``,
    strace 5.3 or newer), so that a timed step is not slowed by a stop at every call. What it
    cannot see (strace/strace#274): a call another seccomp filter of the tool's own denies or
    kills first, i.e. a call that never reaches the network; it implies ``--kill-on-exit``."""
    fast = ["--seccomp-bpf"] if seccomp else []
    return ["strace", "-f", *fast, "-qq", "-e", f"trace={','.join(TRACED)}", "-o", str(log),
            *cmd]


def strace_targets(log: Path) -> list[str]:
    """``addr:port`` of every IPv4/IPv6 address a traced call sent to or connected to (each
    message of a ``sendmmsg`` batch), and ``io_uring_setup`` for each ring a process made."""
    if not log.exists():
        return []
    found = []
    for line in log.read_text(errors="replace").splitlines():
        call = _CALL.search(line)
        if not call:
            continue
        if call.group(1) == "io_uring_setup":
            found.append("io_uring_setup")
            continue
        for m in _INET.finditer(line):
            port, addr = m.groups()
            if port != "0":
                found.append(f"{addr}:{port}")
        for m6 in _INET6.finditer(line):
            if m6.group(1) != "0":
                found.append(f"[{m6.group(2)}]:{m6.group(1)}")
    return found


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(x for x in (str(REPO), env.get("PYTHONPATH")) if x)
    env[INSIDE] = "1"
    return env


def reexec(argv: list[str]) -> int:
    """Run ``python ARGV`` again under ``unshare -mn`` (the child enters with ``enter``)."""
    return subprocess.call(["unshare", "-mn", sys.executable, *argv], env=child_env(),
                           cwd=REPO)


def run_child(module: str, work: Path, name: str, config: dict[str, Any], what: str,
              timeout: float) -> Any:
    """``python -m MODULE CONFIG`` under ``unshare -mn``: ``config`` (with ``out``, where the
    child writes its JSON answer) goes to ``work/NAME-config.json``; returns that answer. The
    child has a session of its own, so on a timeout the whole group (servers and daemons it
    started included) is killed. RuntimeError, naming ``what``, when it fails."""
    work.mkdir(parents=True, exist_ok=True)
    path, out = work / f"{name}-config.json", work / f"{name}-out.json"
    path.write_text(json.dumps({**config, "out": str(out)}))
    proc = subprocess.Popen(["unshare", "-mn", sys.executable, "-m", module, str(path)],
                            env=child_env(), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"{what} timed out") from None
    if proc.returncode or not out.exists():
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n"
                           f"{output.decode(errors='replace')[-4000:]}")
    return json.loads(out.read_text())


def run_isolated(names: list[str], work: Path,
                 extra_env: dict[str, str] | None = None) -> list[dict[str, object]]:
    """Run the named cases in a fresh namespace; their rows as dicts (``Row._asdict``)."""
    rows: list[dict[str, object]] = run_child(
        "testbed.netns", work, "netns",
        {"names": names, "work": str(work / "inside"), "extra_env": extra_env or {}},
        "the namespace child", timeout=900)
    return rows


def _child(config_path: str) -> int:
    from testbed.leakrun import find_case, isolated_bed, run_case

    config = json.loads(Path(config_path).read_text())
    work = Path(config["work"])
    enter(work / "etc")
    rows = []
    with isolated_bed(work / "bed") as bed:
        for name in config["names"]:
            case_dir = work / "cases" / name
            case_dir.mkdir(parents=True)
            rows.extend(run_case(find_case(name), bed, case_dir, config["extra_env"]))
    Path(config["out"]).write_text(json.dumps([r._asdict() for r in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1]))
