"""Compile the action's modules to checked-hash bytecode, and check that a tree uses it.

GitHub hands an action's user the repository's files at the ref, with no install step, so the
runner's ``python3`` compiles the package from source in every job: on a fresh runner that is
most of what the action costs beyond importing the standard library (bench/configure_bench.py).
The release commit therefore carries bytecode for each CPython version the release workflow
lists, in the ``__pycache__`` directories where the import system looks for it (PEP 3147).

It is *checked-hash* bytecode (PEP 552): the import system reads the source, compares its hash
with the one recorded in the ``.pyc`` and compiles from source when they differ, so bytecode
never runs for a source it was not made from, whatever the files' timestamps (an archive's are
the commit's). An interpreter with no bytecode here (another version, another implementation)
compiles from source, as without this step.

Usage (standard library only, Python 3.9 or newer; run it with each interpreter)::

    python3.X scripts/action_bytecode.py compile TREE   # write bytecode for this interpreter
    python3.X scripts/action_bytecode.py check TREE     # exit 1 unless the action uses it
    python3.X scripts/action_bytecode.py check-zipapp PYZ  # the runner hook's zipapp, likewise

``check`` reads every ``.pyc`` header, then runs the action's command from TREE under
``python -v`` (a fallback run: the probe finds a closed port) and fails if the interpreter
compiled any of the action's modules from source.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import py_compile
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

# Subpackages the action never imports (tests/configure/test_main.py checks the action's imports)
NOT_ACTION = ("migrate", "nexus")
# PEP 552: flags word 0b11 = hash-based, check the source
CHECKED_HASH = 0b11
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main; "
    "sys.exit(main(sys.argv[2:]))"
)
# importlib's -v message when it compiles a module from source (SourceLoader.get_code)
FROM_SOURCE = re.compile(r"^# code object from (?!')(.+\.py)$", re.MULTILINE)


def action_sources(tree: Path) -> list[Path]:
    package = tree / "pipnexus"
    return sorted(p for p in package.rglob("*.py")
                  if p.relative_to(package).parts[0] not in NOT_ACTION)


def compile_tree(tree: Path) -> int:
    sources = action_sources(tree)
    for source in sources:
        py_compile.compile(
            str(source),
            cfile=importlib.util.cache_from_source(str(source)),
            # the name tracebacks show; the import system replaces it with the real path
            dfile=source.relative_to(tree).as_posix(),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
    print(f"{len(sources)} modules compiled for {sys.implementation.cache_tag} "
          "(checked-hash bytecode)")
    return 0


def stale(tree: Path) -> list[str]:
    """The action's sources without matching checked-hash bytecode for this interpreter."""
    problems = []
    for source in action_sources(tree):
        rel = source.relative_to(tree).as_posix()
        pyc = Path(importlib.util.cache_from_source(str(source)))
        try:
            header = pyc.read_bytes()[:16]
        except OSError:
            problems.append(f"{rel}: no {pyc.name}")
            continue
        if header[:4] != importlib.util.MAGIC_NUMBER:
            problems.append(f"{rel}: {pyc.name} is for another interpreter version")
        elif int.from_bytes(header[4:8], "little") != CHECKED_HASH:
            problems.append(f"{rel}: {pyc.name} is not checked-hash bytecode")
        elif header[8:16] != importlib.util.source_hash(source.read_bytes()):
            problems.append(f"{rel}: {pyc.name} was compiled from another source")
    return problems


def compiled_from_source(tree: Path, index_url: str) -> tuple[int, list[str], str]:
    """Run the action's command from ``tree`` under ``-v``: its exit status and the modules
    of the tree the interpreter compiled from source."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "PIP_CONFIG_FILE": os.devnull}
        proc = subprocess.run(
            [sys.executable, "-B", "-I", "-S", "-v", "-c", BOOT, str(tree), "configure",
             "--format", "json", f"--index-url={index_url}", "--timeout=5",
             f"--project-dir={tmp}"],
            env=env, capture_output=True, text=True, timeout=120,
        )
    root = str(tree.resolve())
    compiled = [m.group(1) for m in FROM_SOURCE.finditer(proc.stderr)
                if os.path.realpath(m.group(1)).startswith(root + os.sep)]
    tail = "\n".join(line for line in proc.stderr.splitlines()
                     if not line.startswith(("#", "import ")))
    return proc.returncode, compiled, tail


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/repository/pypi-proxy/simple/"


def check_tree(tree: Path, index_url: str | None) -> int:
    problems = stale(tree)
    rc, compiled, tail = compiled_from_source(tree, index_url or closed_url())
    if rc != 0:
        problems.append(f"the action's command exited {rc}: {tail[-500:]}")
    problems += [f"{os.path.relpath(path, tree)}: compiled from source" for path in compiled]
    for problem in problems:
        print(f"{sys.implementation.cache_tag}: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{len(action_sources(tree))} modules: {sys.implementation.cache_tag} bytecode "
          "matches and the action's command loaded it")
    return 0


# run from a zipapp (the runner hook's, ``pipnexus hook --build-zipapp --bytecode``): zipimport
# sets ``__file__`` to the member it loaded, ``x.pyc`` or ``x.py`` (Lib/zipimport.py)
ZIPAPP_PROBE = (
    "import contextlib, io, sys; sys.path.insert(0, sys.argv[1]); from pipnexus.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
    "    rc = main(sys.argv[2:])\n"
    "print(rc, *sorted(m.__file__ for n, m in sys.modules.items()\n"
    "                  if n.startswith('pipnexus') and getattr(m, '__file__', None)))\n"
)


def check_zipapp(pyz: Path) -> int:
    """Run the zipapp's configure (a fallback run) with this interpreter: exit 1 unless every
    pipnexus module it loaded came from its bytecode."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp}
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", ZIPAPP_PROBE, str(pyz), "configure",
             "--format", "json", f"--index-url={closed_url()}", "--timeout=5",
             "--no-warnings"], env=env, capture_output=True, text=True, timeout=120)
    rc, *loaded = (proc.stdout.split() or ["none"])
    problems = [] if rc == "0" else [f"the zipapp's command exited {rc}: {proc.stderr[-500:]}"]
    problems += [f"{path}: compiled from source" for path in loaded if not path.endswith(".pyc")]
    for problem in problems:
        print(f"{sys.implementation.cache_tag}: {problem}", file=sys.stderr)
    if problems or not loaded:
        return 1
    print(f"{len(loaded)} modules: {sys.implementation.cache_tag} bytecode loaded from {pyz}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("compile", "check", "check-zipapp"))
    parser.add_argument("tree", type=Path,
                        help="the action's tree (holds pipnexus/); for check-zipapp, the zipapp")
    parser.add_argument("--index-url", help="check: the index the action probes "
                        "(default: a closed port, the fallback path)")
    opts = parser.parse_args(argv)
    if opts.command == "check-zipapp":
        return check_zipapp(opts.tree)
    if not (opts.tree / "pipnexus" / "cli.py").is_file():
        parser.error(f"{opts.tree} does not hold pipnexus/cli.py")
    if opts.command == "compile":
        return compile_tree(opts.tree)
    return check_tree(opts.tree, opts.index_url)


if __name__ == "__main__":
    sys.exit(main())
