"""Benchmark of ``pipnexus configure`` (prints, asserts nothing).

Run: ``.venv/bin/python -m bench.configure_bench [--runs N] [--python PY]... [--deadline S]``.

Measured side by side in one run, everything on 127.0.0.1, always with ``-B`` (nothing is
written: ``PYTHONDONTWRITEBYTECODE=1`` alone would be ignored under ``-I``), from trees that
start without ``__pycache__``; each interpreter is resolved to the real one (not a pyenv shim,
whose own start-up would be measured too); ``--python all`` times every one present that the
action accepts (bench/_pythons.py):

1. start-up, per interpreter: median wall time and median CPU time (the child's user + system
   time: on a machine shared with other work, the robust figure) of the action's command
   (``python3 -I -S`` on the package, as action.yml runs it: ``configure --format github`` with
   the runner's files, warnings on) against a healthy loopback Nexus double, vs the same
   interpreter's standard-library floor ``python3 -I -S -c 'import argparse, http.client, ssl,
   json, ...'`` (goal: CPU ratio <= 1.25), all interpreters' runs interleaved, from two trees:

   * the release tree: what a fresh runner downloads for ``uses: pipnexus/pipnexus@v1``, the
     package with the checked-hash bytecode ``scripts/action_bytecode.py compile`` wrote for
     this interpreter, as the release workflow does for every CPython version it lists;
   * source only: what a runner whose ``python3`` the release has no bytecode for runs (the
     interpreter compiles every module, in every job; PyPy has only this row);

   where the CPU time beyond the floor goes (a row that only imports every module the command
   imports: the rest is the command's work), the bytes of the release tree a runner
   downloads (the git archive GitHub serves, gzip) and of each version's bytecode, and all
   versions' together;

   and the runner hook (docs/runner-hook.md) as the runner runs it at the start of every job:
   ``bash -e job-started.sh``, which runs the zipapp with ``python3 -I -S`` (``hook``, the
   index in PIPNEXUS_INDEX_URL), with this interpreter's bytecode in the zipapp (the release
   asset carries 3.12's) and sources only (another ``python3``);
2. decision time (resolve + probe + decide, in process) with a refused port (goal <= 0.1 s);
3. decision time with a listener that accepts and never answers (goal <= deadline + 0.2 s),
   also as the whole command's wall time, and the runner hook's (with the first interpreter).

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
import resource
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
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._pythons import Python, resolve  # noqa: E402
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
# the action's command, then every module it imported, in import order (stderr's last line):
# the standard library's too, as some are imported inside functions (ssl, only for https)
LOADED = (
    "import sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main; "
    "rc = main(sys.argv[2:]); "
    "print(*[m for m in sys.modules if m != '__main__'], file=sys.stderr); sys.exit(rc)"
)
# import those modules and stop: the action's imports without its work
# (pipnexus' first: a standard-library module imported before its own imports ran can fail)
IMPORTS = (
    "import sys; sys.path.insert(0, sys.argv[1]); names = sys.argv[2:]; "
    "[__import__(m) for m in names if m.split('.')[0] == 'pipnexus']; "
    "[__import__(m) for m in names if m not in sys.modules]"
)
FLOOR_ROW = "floor: python3 -I -S -c 'import ...'"
IMPORTS_ROW = "action's imports only (not run)"
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


def clean_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


class Sample(NamedTuple):
    wall: float  # seconds
    cpu: float  # the child's user + system seconds (its own children included once reaped)


def timed(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> Sample:
    """One run of ``cmd``: wall time, and CPU time from this process's RUSAGE_CHILDREN delta
    (only ``cmd`` is reaped in between: the double is a child too, but is reaped at the end)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr.decode(errors='replace')}")
    return Sample(elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def wall(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    return timed(cmd, env, cwd).wall


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


def loaded_modules(cmd: Sequence[str], env: dict[str, str]) -> list[str]:
    """The modules the action's command ``cmd`` (``-c BOOT TREE ARGS``) imports, in order."""
    i = cmd.index(BOOT)
    proc = subprocess.run([*cmd[:i], LOADED, *cmd[i + 1:]], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr}")
    return proc.stderr.splitlines()[-1].split()


def gzip_size(trees: Sequence[Path]) -> int:
    """Bytes of one gzip tar archive of the ``.pyc`` files under ``trees`` (the bytecode one
    or several CPython versions add to the release tree)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        for tree in trees:
            for pyc in sorted(tree.rglob("*.pyc")):
                tar.add(pyc, arcname=pyc.relative_to(tree).as_posix())
    return len(buf.getvalue())


def tree_size() -> int | None:
    """Gzip bytes of the committed tree (``git archive HEAD``, what GitHub serves for a ref,
    honouring .gitattributes); None outside a git checkout."""
    try:
        return len(subprocess.run(["git", "archive", "--format=tar.gz", "HEAD"], cwd=REPO,
                                  capture_output=True, check=True, timeout=120).stdout)
    except (OSError, subprocess.SubprocessError):
        return None


def python_commands(tmp: Path, python: Python, index: str,
                    fresh: Path) -> tuple[dict[str, tuple[list[str], dict[str, str]]], Path]:
    """The start-up rows for one interpreter, and its release tree (its bytecode compiled)."""
    tmp.mkdir()
    env = clean_env(tmp)
    exe = python.path
    release = tmp / "release"
    shutil.copytree(fresh, release)

    def action(tree: Path) -> list[str]:
        return [exe, "-B", "-I", "-S", "-c", BOOT, str(tree), "configure", "--format",
                "github", "--index-url", index]

    commands = {FLOOR_ROW: ([exe, "-B", "-I", "-S", "-c", FLOOR], env)}
    if python.has_bytecode:
        subprocess.run([exe, str(BYTECODE), "compile", str(release)], check=True,
                       capture_output=True, timeout=120)
        commands[RELEASE_ROW] = (action(release), runner_env(tmp))
    commands[SOURCE_ROW] = (action(fresh), runner_env(tmp))
    ran = commands[RELEASE_ROW if python.has_bytecode else SOURCE_ROW]
    tree = release if python.has_bytecode else fresh
    commands[IMPORTS_ROW] = ([exe, "-B", "-I", "-S", "-c", IMPORTS, str(tree),
                              *loaded_modules(*ran)], env)
    if python.has_bytecode:
        commands[HOOK_ROW] = hook_command(tmp, exe, True, index)
    commands[HOOK_SOURCE_ROW] = hook_command(tmp, exe, False, index)
    order = (FLOOR_ROW, IMPORTS_ROW, RELEASE_ROW, SOURCE_ROW, HOOK_ROW, HOOK_SOURCE_ROW)
    return {name: commands[name] for name in order if name in commands}, release


def ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}x"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (median)")
    parser.add_argument("--python", action="append", metavar="PYTHON",
                        help="interpreter to time (repeatable; default python3); 'all': every "
                        "one present that the action accepts (3.9 or newer: python3.X on PATH, "
                        "pyenv's versions, pypy3)")
    parser.add_argument("--deadline", type=float, default=1.0, help="probe timeout, seconds")
    opts = parser.parse_args(argv)
    if opts.runs < 1 or opts.deadline <= 0:
        parser.error("--runs must be at least 1 and --deadline above 0")
    pythons, problems = resolve(opts.python or ["python3"])
    if problems or not pythons:
        parser.error("; ".join(problems) or "no interpreter the action accepts was found")
    first = pythons[0]

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        env = clean_env(tmp_path)
        double, index = start_double(tmp_path / "files")
        try:
            with HangingListener() as hanging:
                fresh = tmp_path / "action"
                shutil.copytree(REPO / "pipnexus", fresh / "pipnexus",
                                ignore=shutil.ignore_patterns("__pycache__"))
                commands: dict[Python, dict[str, tuple[list[str], dict[str, str]]]] = {}
                releases: dict[Python, Path] = {}
                for n, python in enumerate(pythons):
                    commands[python], releases[python] = python_commands(
                        tmp_path / f"python-{n}", python, index, fresh)
                for rows in commands.values():  # warm caches (page cache, the double's)
                    for cmd, cmd_env in rows.values():
                        wall(cmd, cmd_env, REPO)
                samples: dict[Python, dict[str, list[Sample]]] = {
                    python: {name: [] for name in rows} for python, rows in commands.items()}
                for _ in range(opts.runs):  # interleaved, so drift hits all alike
                    for python, rows in commands.items():
                        for name, (cmd, cmd_env) in rows.items():
                            samples[python][name].append(timed(cmd, cmd_env, REPO))
                sizes = {python: gzip_size([releases[python]]) for python in pythons
                         if python.has_bytecode}
                together = gzip_size([releases[p] for p in sizes])
                tree = tree_size()

                refused = closed_url() + "/repository/pypi-proxy/simple/"
                never = f"http://127.0.0.1:{hanging.port}/repository/pypi-proxy/simple/"
                refused_s = [decision_seconds(refused, 3.0) for _ in range(opts.runs)]
                never_s = [decision_seconds(never, opts.deadline) for _ in range(3)]
                never_cmd = [first.path, "-B", "-I", "-S", "-c", BOOT, str(releases[first]),
                             "configure", "--format", "dotenv", "--no-warnings", "--timeout",
                             str(opts.deadline), "--index-url", never]
                never_wall = [wall(never_cmd, env, REPO) for _ in range(3)]
                hook_cmd, hook_env = commands[first][
                    HOOK_ROW if first.has_bytecode else HOOK_SOURCE_ROW]
                hook_env = {**hook_env, "PIPNEXUS_INDEX_URL": never,
                            "PIPNEXUS_TIMEOUT": str(opts.deadline)}
                never_hook = [wall(hook_cmd, hook_env, REPO) for _ in range(3)]
        finally:
            stop_double(double)

    report(opts.runs, samples)
    print()
    if tree is not None:
        print(f"release tree a runner downloads (git archive, gzip): {tree / 1000:.0f} kB")
    if sizes:
        print("+ bytecode (gzip of the .pyc files): " + ", ".join(
            f"{p.label} {size / 1000:.0f} kB" for p, size in sizes.items())
            + f"; these {len(sizes)} together {together / 1000:.0f} kB (the release ships "
            f"{len(RELEASE_PYTHONS)}: {', '.join(RELEASE_PYTHONS)})")
    print()
    med_refused = statistics.median(s for s, _ in refused_s)
    print(f"decision, refused port:            median {med_refused * 1000:7.1f} ms "
          f"(reason {refused_s[0][1]}; goal <= 100 ms)")
    med_never = statistics.median(s for s, _ in never_s)
    print(f"decision, never-answering listener: median {med_never * 1000:7.1f} ms "
          f"(reason {never_s[0][1]}; deadline {opts.deadline:g} s; goal <= "
          f"{(opts.deadline + 0.2) * 1000:.0f} ms)")
    print(f"  whole command, same listener:     median "
          f"{statistics.median(never_wall) * 1000:7.1f} ms ({first.label})")
    print(f"  runner hook, same listener:       median "
          f"{statistics.median(never_hook) * 1000:7.1f} ms (what a job waits before its steps)")
    return 0


def report(runs: int, samples: dict[Python, dict[str, list[Sample]]]) -> None:
    """Per interpreter, the start-up rows (median wall and CPU time, each against the floor
    of the same interpreter), then the goal per interpreter and where the time beyond the
    floor goes."""
    # the interpreters by name and version, not by path: the output goes into bench/README.md
    print(f"pipnexus configure benchmark ({runs} runs, {sys.platform}, {os.cpu_count()} CPUs, "
          "-B; medians; CPU = the command's user + system time)")
    goals = []
    for python, rows in samples.items():
        wall_ms = {name: statistics.median(s.wall for s in t) * 1000 for name, t in rows.items()}
        cpu_ms = {name: statistics.median(s.cpu for s in t) * 1000 for name, t in rows.items()}
        print()
        print(f"{python.label:44} {'wall':>8} {'ratio':>6} {'CPU':>8} {'ratio':>6}")
        for name in rows:
            print(f"{name:44} {wall_ms[name]:6.1f}ms {ratio(wall_ms[name], wall_ms[FLOOR_ROW])} "
                  f"{cpu_ms[name]:6.1f}ms {ratio(cpu_ms[name], cpu_ms[FLOOR_ROW])}")
        goals.append(goal_row(python, wall_ms, cpu_ms))
    print()
    print(f"goal: the action's command, as released, <= {GOAL:g}x the standard-library floor, "
          "in CPU time (on a shared machine wall time also counts the wait for a core)")
    print(f"{'python':14} {'CPU':>6} {'wall':>6} {'floor CPU':>10} {'beyond':>8} "
          f"{'imports':>8} {'work':>8} {'budget':>8}  goal")
    for line in goals:
        print(line)
    print("beyond: the action's CPU time minus the floor's, split into imports (the row "
          f"\"{IMPORTS_ROW}\" minus the floor: every module the command imports, pipnexus' "
          "read and unmarshalled or compiled, their top-level code) and work (the rest: "
          f"options, probe, scan, files); budget: {GOAL - 1:g}x the floor")


def goal_row(python: Python, wall_ms: dict[str, float], cpu_ms: dict[str, float]) -> str:
    """The goal for one interpreter: ratios, the CPU beyond the floor and its budget."""
    row = RELEASE_ROW if python.has_bytecode else SOURCE_ROW
    floor = cpu_ms[FLOOR_ROW]
    cpu = cpu_ms[row] / floor
    beyond, budget = cpu_ms[row] - floor, floor * (GOAL - 1)
    imports, work = cpu_ms[IMPORTS_ROW] - floor, cpu_ms[row] - cpu_ms[IMPORTS_ROW]
    if cpu <= GOAL:
        met = "met"
    elif imports >= work:
        met = (f"NOT met, {beyond - budget:.1f}ms over: mostly imports ({imports:.1f} of "
               f"{beyond:.1f}ms: loading pipnexus' modules and their top-level code)")
    else:
        met = (f"NOT met, {beyond - budget:.1f}ms over: mostly work ({work:.1f} of "
               f"{beyond:.1f}ms: options, probe, scan, files)")
    if not python.has_bytecode:
        met += " (no bytecode in the release for it: compiles every module, every job)"
    return (f"{python.label:14} {cpu:5.2f}x {wall_ms[row] / wall_ms[FLOOR_ROW]:5.2f}x "
            f"{floor:8.1f}ms {beyond:6.1f}ms {imports:6.1f}ms {work:6.1f}ms "
            f"{budget:6.1f}ms  {met}")


if __name__ == "__main__":
    raise SystemExit(main())
