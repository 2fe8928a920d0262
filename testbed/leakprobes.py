"""Programs that leak on purpose, one per way a packet can leave a process, to prove the
namespace witnesses (testbed/netns.py): each must fail its row.

* ``connect``: TCP connect to a public address (strace ``connect``, packet counter);
* ``udp-sendto``: a DNS query sent with ``sendto`` to a public resolver;
* ``sendmsg``: the same with ``sendmsg`` on an unconnected socket (as QUIC stacks and libuv do);
* ``sendmmsg``: a batch of two with ``sendmmsg`` (glibc's, through ctypes: Python has none);
* ``tcp-fastopen``: ``sendto`` with ``MSG_FASTOPEN`` on a TCP socket (SYN carries the data, no
  ``connect`` call at all);
* ``io-uring``: ``IORING_OP_CONNECT`` through io_uring, a small C program built at test time
  from the kernel's ``<linux/io_uring.h>`` (no liburing needed); strace sees only
  ``io_uring_setup``/``io_uring_enter``, the packet counter sees the SYN. Where no C compiler
  or the header is missing, ``io_uring_why_unavailable`` says so.

No probe sets or reads a proxy variable: the HTTPS_PROXY trap must see nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from testbed.leakaudit import Case, Step

TARGET = ("151.101.0.223", 443)  # a public address (pypi.org's CDN); nothing leaves anyway
RESOLVER = ("8.8.8.8", 53)
QUERY = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
         b"\x04pypi\x03org\x00\x00\x01\x00\x01")

_SCRIPTS = {
    "connect": f"""
        import socket
        try:
            socket.create_connection({TARGET!r}, timeout=3).close()
        except OSError as e:
            print("connect:", e)
    """,
    "udp-sendto": f"""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        print("sent", s.sendto({QUERY!r}, {RESOLVER!r}))
    """,
    "sendmsg": f"""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        print("sent", s.sendmsg([{QUERY!r}], [], 0, {RESOLVER!r}))
    """,
    "sendmmsg": f"""
        import ctypes, socket
        libc = ctypes.CDLL(None, use_errno=True)
        class sockaddr_in(ctypes.Structure):
            _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_uint16),
                        ("addr", ctypes.c_uint8 * 4), ("zero", ctypes.c_uint8 * 8)]
        class iovec(ctypes.Structure):
            _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
        class msghdr(ctypes.Structure):
            _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                        ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                        ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                        ("flags", ctypes.c_int)]
        class mmsghdr(ctypes.Structure):
            _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
        addr = sockaddr_in(socket.AF_INET, socket.htons({RESOLVER[1]}),
                           (ctypes.c_uint8 * 4)(*socket.inet_aton({RESOLVER[0]!r})))
        data = ctypes.create_string_buffer({QUERY!r})
        iov = iovec(ctypes.cast(data, ctypes.c_void_p), len({QUERY!r}))
        msgs = (mmsghdr * 2)()
        for m in msgs:
            m.hdr = msghdr(ctypes.cast(ctypes.pointer(addr), ctypes.c_void_p),
                           ctypes.sizeof(addr), ctypes.pointer(iov), 1, None, 0, 0)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        print("sent", libc.sendmmsg(s.fileno(), msgs, 2, 0), ctypes.get_errno())
    """,
    "tcp-fastopen": f"""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            print("sent", s.sendto(b"GET / HTTP/1.0\\r\\n\\r\\n", socket.MSG_FASTOPEN, {TARGET!r}))
        except OSError as e:
            print("fastopen:", e)
    """,
}

IO_URING_C = r"""
#include <linux/io_uring.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* IORING_OP_CONNECT to a public address: no connect() system call at all */
int main(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int ring = syscall(__NR_io_uring_setup, 4, &p);
    if (ring < 0) { perror("io_uring_setup"); return 2; }
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    char *sq = mmap(0, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                    IORING_OFF_SQ_RING);
    struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe),
                                     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                                     IORING_OFF_SQES);
    if (sq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return 2; }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(443);
    inet_pton(AF_INET, "151.101.0.223", &to.sin_addr);
    struct io_uring_sqe *sqe = &sqes[0];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_CONNECT;
    sqe->fd = fd;
    sqe->addr = (unsigned long)&to;
    sqe->off = sizeof to;
    unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
    unsigned *array = (unsigned *)(sq + p.sq_off.array);
    array[*tail & *(unsigned *)(sq + p.sq_off.ring_mask)] = 0;
    __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    int n = syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    printf("io_uring_enter: %d\n", n);
    return 0;
}
"""


def io_uring_why_unavailable() -> str | None:
    if shutil.which("cc") is None:
        return "no C compiler (cc)"
    if not Path("/usr/include/linux/io_uring.h").exists():
        return "no <linux/io_uring.h> (linux-libc-dev)"
    return None


def build_io_uring(work: Path) -> Path:
    src = work / "io_uring_connect.c"
    exe = work / "io_uring_connect"
    work.mkdir(parents=True, exist_ok=True)
    src.write_text(IO_URING_C)
    subprocess.run(["cc", "-O0", "-o", str(exe), str(src)], check=True, capture_output=True,
                   timeout=120)
    return exe


def _script_case(name: str) -> Case:
    def steps(work: Path) -> list[Step]:
        code = textwrap.dedent(_SCRIPTS[name])
        return [Step(f"leaky probe ({name})", "python", [sys.executable, "-c", code], work)]
    return Case(f"probe-{name}", "python", False, True, "", steps)


def _io_uring(work: Path) -> list[Step]:
    exe = build_io_uring(work / "c")
    return [Step("leaky probe (io_uring IORING_OP_CONNECT)", "python", [str(exe)], work)]


PACKET_PROBES = (*(_script_case(name) for name in _SCRIPTS),
                 Case("probe-io-uring", "python", False, True, "", _io_uring))
