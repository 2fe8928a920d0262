"""Benchmark: the quick test loop, `pytest -m "not e2e and not slow"`, in wall and CPU time.

Runs the loop in a child pytest with this module as a plugin that records, per test (set-up,
call and tear-down together), the wall time and the CPU time of the pytest process and of the
children it waited for. Prints the whole run's wall and CPU time (children included), the
collection, the slowest tests by wall time with their CPU time (a test whose wall time is much
more than its CPU time is waiting: a deadline, a sleep, a retry), and the totals per file.
CPU time is the figure to compare on a shared machine; wall time varies with the load.

    python -m bench.quickloop [--top 25] [--files 15] [--by cpu|wait] [PYTEST ARGS ...]
    python -m bench.quickloop --workers 1,2,3     # the loop in 1, 2 and 3 processes, side by side

PYTEST ARGS replace the default selection (`-m "not e2e and not slow"`, all of tests/).
Prints figures only; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

from bench._common import REPO, machine, table

OUT = "PIPNEXUS_QUICKLOOP_OUT"  # where the plugin in the child writes its JSON
QUICK = ["-m", "not e2e and not slow"]


def _cpu_of(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _cpu() -> float:
    """CPU seconds (user + sys) of this process and of every child it has waited for."""
    return _cpu_of(resource.RUSAGE_SELF) + _cpu_of(resource.RUSAGE_CHILDREN)


# ---- the plugin (loaded in the child with -p bench.quickloop) -------------------------------

_records: list[dict[str, object]] = []
_collection: dict[str, float] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _collection["wall"], _collection["cpu"] = time.perf_counter(), _cpu()


def pytest_collection_finish(session: pytest.Session) -> None:
    _collection["wall"] = time.perf_counter() - _collection["wall"]
    _collection["cpu"] = _cpu() - _collection["cpu"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    wall, cpu = time.perf_counter(), _cpu()
    yield
    _records.append(
        {"id": item.nodeid, "wall": time.perf_counter() - wall, "cpu": _cpu() - cpu}
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(OUT)
    if path:
        children = _cpu_of(resource.RUSAGE_CHILDREN)
        Path(path).write_text(
            json.dumps({"collection": _collection, "tests": _records, "children": children}),
            encoding="utf-8",
        )


# ---- the report ------------------------------------------------------------------------------


class Test(NamedTuple):
    id: str
    wall: float
    cpu: float

    @property
    def wait(self) -> float:
        """Wall time no CPU time of the test's processes accounts for."""
        return max(0.0, self.wall - self.cpu)


def _file(node_id: str) -> str:
    return node_id.split("::", 1)[0]


def report(
    wall: float, cpu: float, data: dict[str, object], top: int, files: int, by: str = "wall"
) -> str:
    collection = data["collection"]
    assert isinstance(collection, dict)
    raw = data["tests"]
    assert isinstance(raw, list)
    tests = [Test(str(t["id"]), float(t["wall"]), float(t["cpu"])) for t in raw]
    in_tests = sum(t.wall for t in tests)
    waiting = sum(t.wait for t in tests)
    lines = [
        f"quick loop: {len(tests)} tests; {machine()}",
        f"wall {wall:.1f} s, CPU {cpu:.1f} s (user + sys, children included; "
        f"{float(str(data.get('children', 0.0))):.1f} s in the processes pytest started)",
        f"collection: wall {collection.get('wall', 0.0):.1f} s, "
        f"CPU {collection.get('cpu', 0.0):.1f} s; tests: wall {in_tests:.1f} s, of which "
        f"{waiting:.1f} s not on a CPU of the test's processes (waiting, or a loaded machine)",
        "",
        f"{top} tests with the most {by} time (set-up + call + tear-down):",
        table(
            ["wall s", "CPU s", "test"],
            [(f"{t.wall:.2f}", f"{t.cpu:.2f}", t.id)
             for t in sorted(tests, key=lambda t: -getattr(t, by))[:top]],
        ),
    ]
    per_file: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for t in tests:
        row = per_file[_file(t.id)]
        row[0] += 1
        row[1] += t.wall
        row[2] += t.cpu
        row[3] += t.wait
    column = {"wall": 1, "cpu": 2, "wait": 3}[by]
    lines += [
        "",
        f"{files} files with the most {by} time:",
        table(
            ["tests", "wall s", "CPU s", "file"],
            [(int(n), f"{w:.1f}", f"{c:.1f}", f)
             for f, (n, w, c, _) in sorted(per_file.items(), key=lambda kv: -kv[1][column])
             [:files]],
        ),
    ]
    return "\n".join(lines)


def _run(pytest_args: Sequence[str], workers: int, out: Path) -> tuple[int, float, float]:
    """One run of the loop in a child pytest: its exit code, wall and CPU seconds."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-p", "bench.quickloop", *(pytest_args or QUICK)]
    if workers > 1:  # pytest-xdist: the per-test records stay in the workers
        command += ["-n", str(workers)]
    env = {**os.environ, OUT: str(out)}
    cpu, wall = _cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, check=False)
    return done.returncode, time.perf_counter() - wall, _cpu() - cpu


def _workers(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"not a list of worker counts: {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quickloop", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--top", type=int, default=25, help="slowest tests to list")
    parser.add_argument("--files", type=int, default=15, help="files to list")
    parser.add_argument("--by", choices=("wall", "cpu", "wait"), default="wall",
                        help="rank tests and files by wall time (default), CPU time, or wall "
                        "time less CPU time (waiting)")
    parser.add_argument("--workers", type=_workers, default=[1], metavar="N[,N...]",
                        help="run the loop once per count, with pytest-xdist's -n N where N > 1 "
                        "(default 1); per-test figures come from the single-process run")
    args, pytest_args = parser.parse_known_args(argv)
    runs: list[tuple[int, float, float]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="quickloop-") as tmp:
        out = Path(tmp) / "tests.json"
        for workers in args.workers:
            rc, wall, cpu = _run(pytest_args, workers, out)
            failed = failed or rc != 0
            runs.append((workers, wall, cpu))
            if workers == 1:
                if not out.is_file():
                    print(f"pytest exited {rc} without running the tests", file=sys.stderr)
                    return 2
                print(report(wall, cpu, json.loads(out.read_text(encoding="utf-8")), args.top,
                             args.files, args.by))
    if len(runs) > 1 or runs[0][0] > 1:
        print(f"\nthe whole loop, side by side in one run; {machine()}")
        print(table(["pytest processes", "wall s", "CPU s (children included)"],
                    [(str(n), f"{w:.1f}", f"{c:.1f}") for n, w, c in runs]))
    if failed:
        print("\nsome tests failed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
