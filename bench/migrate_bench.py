"""Benchmark: files per second for `pipnexus migrate --check` over generated workflows.

Generates N realistic workflows (default 1,000) in a temporary directory — a mix like a real
organisation's repositories: Python workflows with setup-python caches, actions/cache steps,
setup-uv, matrices and long run scripts, plus non-Python workflows (Node, Go, Docker) that
contain none of the trigger words and are not even parsed — then times `migrate --check` on the
whole directory as a user runs it (a fresh process), for both code paths of the check that
re-parses every rewrite (pipnexus/migrate/driver.py), interleaved in one run:

* with the C loader: PyYAML's ``CSafeLoader`` (libyaml; the ``fast`` extra) confirms the
  rewrite, ruamel.yaml only when it disagrees;
* ruamel alone: ``PIPNEXUS_MIGRATE_PURE=1``, as without PyYAML: ruamel.yaml's pure-Python
  loader re-parses every rewrite (the workflows are always composed by ruamel, in pure Python).

Prints figures and ratios only.

    python -m bench.migrate_bench [--files 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from bench._common import machine, table

GOAL = 300.0  # files/second on a 2-core machine
PURE = "PIPNEXUS_MIGRATE_PURE"  # set: the re-parse check is ruamel's only (driver.py)
C_LOADER, RUAMEL = "with the C loader", "ruamel alone"
PATHS = {C_LOADER: False, RUAMEL: True}  # code path -> PURE set

PY_JOB = """\
  {name}:
    runs-on: ${{{{ matrix.os }}}}
    timeout-minutes: 30
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu-latest, windows-latest, macos-latest]
        python-version: ["3.10", "3.11", "3.12", "3.13"]
        include:
          - {{ os: ubuntu-latest, python-version: "3.14-dev", experimental: true }}
    env:
      FORCE_COLOR: "1"
      PYTEST_ADDOPTS: --color=yes
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
          fetch-depth: 0

      - name: Set up Python ${{{{ matrix.python-version }}}}
        uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0
        with:
          python-version: ${{{{ matrix.python-version }}}}
          allow-prereleases: true
{cache}
{cache_step}
      - name: Install dependencies
        run: |
          python -m pip install --upgrade pip wheel
          python -m pip install -r requirements/test.txt
          python -m pip install -e .

      - name: Run the tests
        run: |
          pytest -n auto --cov --cov-report=xml --junitxml=junit.xml \\
            --durations=20 tests/
        env:
          DATABASE_URL: postgres://postgres:postgres@localhost:5432/test

      - name: Upload coverage
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: coverage-${{{{ matrix.os }}}}-${{{{ matrix.python-version }}}}
          path: coverage.xml
"""
CACHE_KEYS = [
    "          cache: pip\n          cache-dependency-path: requirements/*.txt\n",
    "          cache: 'pip'\n",
    "          cache: poetry\n",
    "",
]
CACHE_STEPS = [
    "",
    """      - name: Cache pip
        uses: actions/cache@v4
        with:
          path: ~/.cache/pip
          key: ${{ runner.os }}-pip-${{ hashFiles('requirements/*.txt') }}
          restore-keys: |
            ${{ runner.os }}-pip-
""",
    """      - uses: actions/cache@v4
        with:
          path: |
            ~/.cache/pre-commit
            ~/.cache/pip
          key: pre-commit-${{ hashFiles('.pre-commit-config.yaml') }}
""",
]
UV_JOB = """\
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: astral-sh/setup-uv@v6
        with:
          enable-cache: true
      - run: uv run --frozen ruff check
      - run: uv run mypy src
"""
NODE = """\
name: frontend {n}
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        node: [18, 20, 22]
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: actions/setup-node@v4
        with:
          node-version: ${{ matrix.node }}
          cache: npm
      - run: npm ci
      - run: npm run build --if-present
      - run: npm test
  docker:
    runs-on: ubuntu-latest
    needs: build
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: docker/setup-buildx-action@v3
      - uses: docker/build-push-action@v6
        with:
          context: .
          push: false
          tags: example/app:${{ github.sha }}
"""


def python_workflow(rng: random.Random, n: int) -> str:
    jobs = []
    for j in range(rng.randint(1, 3)):
        jobs.append(PY_JOB.format(
            name=f"test-{j}", cache=rng.choice(CACHE_KEYS).rstrip("\n"),
            cache_step=rng.choice(CACHE_STEPS),
        ))
    if rng.random() < 0.4:
        jobs.append(UV_JOB)
    head = f"name: tests {n}\non:\n  push:\n    branches: [main]\n  pull_request:\n"
    return head + "permissions:\n  contents: read\njobs:\n" + "\n".join(jobs)


def generate(root: Path, count: int, seed: int = 4) -> int:
    """Write `count` workflows under root/.github/workflows; returns the total size in bytes."""
    rng = random.Random(seed)
    wf = root / ".github" / "workflows"
    wf.mkdir(parents=True)
    total = 0
    for n in range(count):
        text = python_workflow(rng, n) if rng.random() < 0.7 else NODE.format(n=n)
        (wf / f"wf{n:04}.yml").write_text(text, encoding="utf-8")
        total += len(text)
    return total


def time_check(root: Path, env: Mapping[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipnexus", "migrate", "--check", ".github"],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )
    return time.perf_counter() - start, proc.returncode


def c_loader() -> str | None:
    """PyYAML's version when its C loader is importable (else the C loader path is ruamel's)."""
    try:
        import yaml
    except ImportError:
        return None
    return str(yaml.__version__) if hasattr(yaml, "CSafeLoader") else None


def path_env(env: Mapping[str, str], pure: bool) -> dict[str, str]:
    out = {k: v for k, v in env.items() if k != PURE}
    if pure:
        out[PURE] = "1"
    return out


def _in_process(texts: list[str], pure: bool) -> tuple[float, int]:
    from pipnexus.migrate import migrate_text

    old = os.environ.pop(PURE, None)
    if pure:
        os.environ[PURE] = "1"
    try:
        migrate_text(texts[0])  # imports (ruamel, PyYAML) outside the timing
        start = time.perf_counter()
        changed = sum(migrate_text(t).changed for t in texts)
        return len(texts) / (time.perf_counter() - start), changed
    finally:
        os.environ.pop(PURE, None)
        if old is not None:
            os.environ[PURE] = old


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per code path, interleaved (default 5)")
    args = parser.parse_args(argv)
    print("# pipnexus migrate --check: files per second\n")
    print(f"machine: {machine()}")
    version = c_loader()
    print("PyYAML's C loader (CSafeLoader): "
          + (f"installed (PyYAML {version})" if version else
             f"NOT installed: the {C_LOADER!r} runs take the ruamel path too"))
    with tempfile.TemporaryDirectory(prefix="pipnexus-migrate-bench-") as tmp:
        root = Path(tmp)
        size = generate(root, args.files)
        print(f"generated {args.files} workflows, {size / args.files / 1024:.1f} KiB on average")
        print(f"load average before the runs: {os.getloadavg()[0]:.2f}\n")
        rates: dict[str, list[float]] = {label: [] for label in PATHS}
        codes: dict[str, set[int]] = {label: set() for label in PATHS}
        for i in range(args.repeat):
            # interleaved, in alternating order: load from other work hits both paths alike
            for label in (list(PATHS) if i % 2 == 0 else list(PATHS)[::-1]):
                seconds, rc = time_check(root, path_env(os.environ, PATHS[label]))
                rates[label].append(args.files / seconds)
                codes[label].add(rc)
        texts = [p.read_text() for p in sorted((root / ".github/workflows").iterdir())]
        one_core: dict[str, float] = {}
        changed = 0
        for label, pure in PATHS.items():
            one_core[label], changed = _in_process(texts, pure)
        load = os.getloadavg()[0]
    best = {label: max(r) for label, r in rates.items()}
    rows = [[label + (f" ({PURE}=1)" if pure else ""), f"{best[label]:.0f}",
             f"{min(rates[label]):.0f}", ", ".join(str(c) for c in sorted(codes[label])),
             f"{one_core[label]:.0f}", f"{best[label] / GOAL:.2f}"]
            for label, pure in PATHS.items()]
    print(f"migrate --check .github, a fresh process per run ({args.repeat} runs per path, "
          f"interleaved; {changed} of {len(texts)} files would change: exit code 1):")
    print(table(["re-parse check", "files/s (best)", "files/s (worst)", "exit code",
                 "in-process, one core (files/s)", f"best / goal {GOAL:.0f}"], rows))
    print(f"\nwith the C loader / ruamel alone: {best[C_LOADER] / best[RUAMEL]:.2f}x "
          f"(best runs), {one_core[C_LOADER] / one_core[RUAMEL]:.2f}x (in-process, one core)")
    print(f"process pool vs in-process one core, with the C loader: "
          f"{best[C_LOADER] / one_core[C_LOADER]:.2f}x")
    print(f"load average after the runs: {load:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
