"""Benchmark of ``pipnexus configure`` (prints, asserts nothing).

Run: ``.venv/bin/python -m bench.configure_bench [--runs N] [--deadline S]``.

Measured side by side in one run, everything on 127.0.0.1:

1. median wall time of ``python3 -m pipnexus configure`` against a healthy loopback Nexus double
   vs ``python3 -c pass`` (goal: <= 3x), plus the way action.yml runs it (``-I -S``);
2. decision time (resolve + probe + decide, in process) with a refused port (goal <= 0.1 s);
3. decision time with a listener that accepts and never answers (goal <= deadline + 0.2 s),
   also as the whole command's wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipnexus import configure  # noqa: E402
from testbed.httpbase import HangingListener, closed_url  # noqa: E402
from testbed.nexus_double import NexusDouble  # noqa: E402
from testbed.upstream import Upstream  # noqa: E402
from testbed.wheels import standard_packages  # noqa: E402

BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main; "
    "sys.exit(main(sys.argv[2:]))"
)


def clean_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}


def wall(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr.decode(errors='replace')}")
    return elapsed


def decision_seconds(index: str, timeout: float) -> tuple[float, str]:
    parser = argparse.ArgumentParser()
    configure.add_arguments(parser)
    args = parser.parse_args(
        ["--index-url", index, "--timeout", str(timeout), "--format", "json", "--no-warnings"]
    )
    settings = configure.settings_from_args(args, {})
    start = time.perf_counter()
    decision = configure.decide(settings, configure.resolve(settings, {}))
    return time.perf_counter() - start, decision.reason or decision.source


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (median)")
    parser.add_argument("--python", default="python3", help="interpreter to time")
    parser.add_argument("--deadline", type=float, default=1.0, help="probe timeout, seconds")
    opts = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        standard_packages(tmp_path / "files")
        env = clean_env(tmp_path)
        with Upstream(tmp_path / "files") as upstream, NexusDouble(
            upstream.base_url + "/"
        ) as nexus, HangingListener() as hanging:
            index = nexus.index_url()
            configure_args = ["configure", "--format", "dotenv", "--no-warnings",
                              "--index-url", index]
            commands = {
                "python3 -c pass": [opts.python, "-c", "pass"],
                "python3 -m pipnexus configure": [opts.python, "-m", "pipnexus",
                                                  *configure_args],
                "action.yml: python3 -I -S configure": [opts.python, "-I", "-S", "-c", BOOT,
                                                        str(REPO), *configure_args],
            }
            for cmd in commands.values():  # warm caches (page cache, the double's cache)
                wall(cmd, env, REPO)
            times: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(opts.runs):  # interleaved, so drift hits all alike
                for name, cmd in commands.items():
                    times[name].append(wall(cmd, env, REPO))
            medians = {name: statistics.median(t) for name, t in times.items()}
            base = medians["python3 -c pass"]

            refused = closed_url() + "/repository/pypi-proxy/simple/"
            never = f"http://127.0.0.1:{hanging.port}/repository/pypi-proxy/simple/"
            refused_s = [decision_seconds(refused, 3.0) for _ in range(opts.runs)]
            never_s = [decision_seconds(never, opts.deadline) for _ in range(3)]
            never_cmd = [opts.python, "-m", "pipnexus", "configure", "--format", "dotenv",
                         "--no-warnings", "--timeout", str(opts.deadline), "--index-url", never]
            never_wall = [wall(never_cmd, env, REPO) for _ in range(3)]

    print(f"pipnexus configure benchmark ({opts.runs} runs, {sys.platform}, {opts.python})")
    print()
    print(f"{'command':40} {'median':>10} {'ratio':>7}")
    for name, median in medians.items():
        print(f"{name:40} {median * 1000:8.1f}ms {median / base:6.2f}x")
    print(f"goal: configure <= 3x python3 -c pass -> "
          f"{medians['python3 -m pipnexus configure'] / base:.2f}x")
    print()
    med_refused = statistics.median(s for s, _ in refused_s)
    print(f"decision, refused port:            median {med_refused * 1000:7.1f} ms "
          f"(reason {refused_s[0][1]}; goal <= 100 ms)")
    med_never = statistics.median(s for s, _ in never_s)
    print(f"decision, never-answering listener: median {med_never * 1000:7.1f} ms "
          f"(reason {never_s[0][1]}; deadline {opts.deadline:g} s; goal <= "
          f"{(opts.deadline + 0.2) * 1000:.0f} ms)")
    print(f"  whole command, same listener:     median "
          f"{statistics.median(never_wall) * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
