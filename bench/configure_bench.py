"""Benchmark of ``pipnexus configure`` (prints, asserts nothing).

Run: ``.venv/bin/python -m bench.configure_bench [--runs N] [--deadline S]``.

Measured side by side in one run, everything on 127.0.0.1, always with ``-B`` (nothing is
written: ``PYTHONDONTWRITEBYTECODE=1`` alone would be ignored under ``-I``), from trees that
start without ``__pycache__``; ``python3`` is resolved to the real interpreter (not a pyenv shim,
whose own start-up would be measured too):

1. start-up: median wall time of the action's command (``python3 -I -S`` on the package, as
   action.yml runs it: ``configure --format github`` with the runner's files, warnings on)
   against a healthy loopback Nexus double, vs the standard-library floor ``python3 -I -S -c
   'import argparse, http.client, ssl, json, ...'`` (goal: ratio <= 1.25), interleaved runs,
   from two trees:

   * the release tree: what a fresh runner downloads for ``uses: pipnexus/pipnexus@v1``, the
     package with the checked-hash bytecode ``scripts/action_bytecode.py compile`` wrote for
     this interpreter, as the release workflow does for every CPython version it lists;
   * source only: what a runner whose ``python3`` the release has no bytecode for runs (the
     interpreter compiles every module, in every job);

   plus the bytes of the release tree a runner downloads (the git archive GitHub serves,
   gzip), without and with the bytecode;

   and the runner hook (docs/runner-hook.md) as the runner runs it at the start of every job:
   ``bash -e job-started.sh``, which runs the zipapp with ``python3 -I -S`` (``hook``, the
   index in PIPNEXUS_INDEX_URL), with this interpreter's bytecode in the zipapp (the release
   asset carries 3.12's) and sources only (another ``python3``);
2. decision time (resolve + probe + decide, in process) with a refused port (goal <= 0.1 s);
3. decision time with a listener that accepts and never answers (goal <= deadline + 0.2 s),
   also as the whole command's wall time, and the runner hook's.

The healthy Nexus double (with its upstream) runs in a separate child process (``DOUBLE``, killed
in ``finally``): in this process its server threads would compete with the timing loop for the
GIL and inflate every measured wall time of the commands that talk to it (1.86x instead of
1.46x for the same command), so only the command under test competes for the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipnexus.configure import decide, settings  # noqa: E402
from testbed.httpbase import HangingListener, closed_url  # noqa: E402

GOAL = 1.25
# what action.yml runs
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main; "
    "sys.exit(main(sys.argv[2:]))"
)
FLOOR = (
    "import argparse, http.client, ssl, json, socket, concurrent.futures, urllib.parse, re, "
    "configparser, threading"
)

# the healthy Nexus double and its upstream, in a child process: prints the index URL, then
# serves until killed
DOUBLE = (
    "import sys, threading; from pathlib import Path; "
    "from testbed.nexus_double import NexusDouble; from testbed.upstream import Upstream; "
    "from testbed.wheels import standard_packages; "
    "standard_packages(Path(sys.argv[1])); "
    "up = Upstream(Path(sys.argv[1])).__enter__(); "
    "nexus = NexusDouble(up.base_url + '/').__enter__(); "
    "print(nexus.index_url(), flush=True); threading.Event().wait()"
)
START_TIMEOUT = 60.0
BYTECODE = REPO / "scripts" / "action_bytecode.py"
RELEASE_WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
FLOOR_ROW = "floor: python3 -I -S -c 'import ...'"
RELEASE_ROW = "action, release tree (bytecode)"
SOURCE_ROW = "action, source only (compiles)"
HOOK_ROW = "runner hook, zipapp with bytecode"
HOOK_SOURCE_ROW = "runner hook, zipapp sources only"


def release_pythons() -> tuple[str, ...]:
    """The CPython versions the release workflow compiles the action for (its matrix)."""
    text = RELEASE_WORKFLOW.read_text(encoding="utf-8")
    start = text.index("python: [", text.index("bytecode:"))
    return tuple(v.strip().strip('"') for v in text[start + 9:text.index("]", start)].split(","))


RELEASE_PYTHONS = release_pythons()


def download_sizes(release: Path) -> tuple[int, int] | None:
    """Gzip sizes of the committed tree (``git archive HEAD``, what GitHub serves for a ref)
    and of the bytecode in ``release``; None outside a git checkout."""
    try:
        tree = subprocess.run(["git", "archive", "--format=tar.gz", "HEAD"], cwd=REPO,
                              capture_output=True, check=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        for pyc in sorted(release.rglob("*.pyc")):
            tar.add(pyc, arcname=pyc.relative_to(release).as_posix())
    return len(tree), len(buf.getvalue())


def start_double(files: Path) -> tuple[subprocess.Popen[str], str]:
    """The Nexus double in a child process, and its index URL (bounded wait for it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", DOUBLE, str(files)], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        box: list[str] = []
        out = proc.stdout
        reader = threading.Thread(target=lambda: box.append(out.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT)
        url = box[0].strip() if box else ""
        if not url.startswith("http://"):
            raise SystemExit(f"the Nexus double did not start (exit status {proc.poll()})")
    except BaseException:
        stop_double(proc)
        raise
    return proc, url


def stop_double(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def real_python(name: str) -> str:
    """The interpreter ``name`` runs in the end (a pyenv shim execs another process)."""
    out = subprocess.run([name, "-c", "import sys; print(sys.executable)"],
                         capture_output=True, text=True, check=True, timeout=60)
    return os.path.realpath(out.stdout.strip())


def clean_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def wall(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr.decode(errors='replace')}")
    return elapsed


def runner_env(tmp: Path) -> dict[str, str]:
    """A GitHub runner's variables: the files configure writes, the workspace it scans."""
    env = {**clean_env(tmp), "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(tmp / "runner-temp")}
    (tmp / "runner-temp").mkdir(exist_ok=True)
    (tmp / "workspace").mkdir(exist_ok=True)
    env["GITHUB_WORKSPACE"] = str(tmp / "workspace")
    for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        path = tmp / name.lower()
        path.write_text("")
        env[name] = str(path)
    return env


def hook_command(tmp: Path, python: str, bytecode: bool, index: str) -> tuple[list[str],
                                                                            dict[str, str]]:
    """The runner hook's files (as the ConfigMap carries them) and its command and
    environment; ``python3`` on PATH is ``python``."""
    from pipnexus.hook import delivery

    where = tmp / ("hook-bytecode" if bytecode else "hook-source")
    (where / "bin").mkdir(parents=True)
    (where / "bin" / "python3").symlink_to(python)
    script = where / delivery.SCRIPT_NAME
    script.write_text(delivery.SCRIPT)
    # the zipapp is built by the interpreter timed, so its bytecode is that interpreter's
    subprocess.run([python, "-I", "-S", "-c", BOOT, str(REPO), "hook", "--build-zipapp",
                    str(where / delivery.ZIPAPP_NAME), *(["--bytecode"] if bytecode else [])],
                   check=True, capture_output=True, timeout=120)
    env = runner_env(where)
    env["PATH"] = f"{where / 'bin'}{os.pathsep}{env['PATH']}"
    env["PIPNEXUS_INDEX_URL"] = index
    return ["bash", "-e", str(script)], env


def decision_seconds(index: str, timeout: float) -> tuple[float, str]:
    parser = argparse.ArgumentParser()
    settings.add_arguments(parser)
    args = parser.parse_args(
        ["--index-url", index, "--timeout", str(timeout), "--format", "json", "--no-warnings"]
    )
    chosen = settings.settings_from_args(args, {})
    start = time.perf_counter()
    decision = decide.decide(chosen, decide.resolve(chosen, {}), {})
    return time.perf_counter() - start, decision.reason or decision.source


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (median)")
    parser.add_argument("--python", default="python3", help="interpreter to time")
    parser.add_argument("--deadline", type=float, default=1.0, help="probe timeout, seconds")
    opts = parser.parse_args(argv)
    python = real_python(opts.python)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        env = clean_env(tmp_path)
        double, index = start_double(tmp_path / "files")
        try:
            with HangingListener() as hanging:
                fresh = tmp_path / "action"
                shutil.copytree(REPO / "pipnexus", fresh / "pipnexus",
                                ignore=shutil.ignore_patterns("__pycache__"))
                source_only = [python, "-B", "-I", "-S", "-c", BOOT, str(fresh), "configure",
                               "--format", "github", "--index-url", index]
                release = tmp_path / "release"
                shutil.copytree(fresh, release)
                subprocess.run([python, str(BYTECODE), "compile", str(release)], check=True,
                               capture_output=True, timeout=120)
                released = [python, "-B", "-I", "-S", "-c", BOOT, str(release), "configure",
                            "--format", "github", "--index-url", index]
                commands = {
                    FLOOR_ROW: ([python, "-B", "-I", "-S", "-c", FLOOR], env),
                    RELEASE_ROW: (released, runner_env(tmp_path)),
                    SOURCE_ROW: (source_only, runner_env(tmp_path)),
                    HOOK_ROW: hook_command(tmp_path, python, True, index),
                    HOOK_SOURCE_ROW: hook_command(tmp_path, python, False, index),
                }
                for cmd, cmd_env in commands.values():  # warm caches (page cache, the double's)
                    wall(cmd, cmd_env, REPO)
                times: dict[str, list[float]] = {name: [] for name in commands}
                for _ in range(opts.runs):  # interleaved, so drift hits all alike
                    for name, (cmd, cmd_env) in commands.items():
                        times[name].append(wall(cmd, cmd_env, REPO))
                medians = {name: statistics.median(t) for name, t in times.items()}
                floor = medians[FLOOR_ROW]
                ratio = medians[RELEASE_ROW] / floor
                sizes = download_sizes(release)

                refused = closed_url() + "/repository/pypi-proxy/simple/"
                never = f"http://127.0.0.1:{hanging.port}/repository/pypi-proxy/simple/"
                refused_s = [decision_seconds(refused, 3.0) for _ in range(opts.runs)]
                never_s = [decision_seconds(never, opts.deadline) for _ in range(3)]
                never_cmd = [python, "-B", "-I", "-S", "-c", BOOT, str(release), "configure",
                             "--format", "dotenv", "--no-warnings", "--timeout",
                             str(opts.deadline), "--index-url", never]
                never_wall = [wall(never_cmd, env, REPO) for _ in range(3)]
                hook_cmd, hook_env = commands[HOOK_ROW]
                hook_env = {**hook_env, "PIPNEXUS_INDEX_URL": never,
                            "PIPNEXUS_TIMEOUT": str(opts.deadline)}
                never_hook = [wall(hook_cmd, hook_env, REPO) for _ in range(3)]
        finally:
            stop_double(double)

    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True, timeout=60).stdout
    # the interpreter by name and version, not by path: the output goes into bench/README.md
    print(f"pipnexus configure benchmark ({opts.runs} runs, {sys.platform}, "
          f"{os.path.basename(python)} {version.strip()}, {os.cpu_count()} CPUs, -B)")
    print()
    print(f"{'command':44} {'median':>10} {'ratio':>7}")
    for name, median in medians.items():
        print(f"{name:44} {median * 1000:8.1f}ms {median / floor:6.2f}x")
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"goal: the action's command, as released, <= {GOAL:g}x the standard-library floor "
          f"-> {ratio:.2f}x ({verdict})")
    if sizes is not None:
        tree, bytecode = sizes
        print(f"release tree a runner downloads (git archive, gzip): {tree / 1000:.0f} kB, "
              f"+{bytecode / 1000:.0f} kB of bytecode per CPython version "
              f"(this interpreter's; the release ships {len(RELEASE_PYTHONS)}: "
              f"{', '.join(RELEASE_PYTHONS)})")
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
    print(f"  runner hook, same listener:       median "
          f"{statistics.median(never_hook) * 1000:7.1f} ms (what a job waits before its steps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
