"""Commands the leak audit and the benchmarks run: any tool, and the real ``pipnexus configure``.

``run`` captures output and turns a hang into rc 124 (a report row, not an exception: the
audit goes on with the next tool). ``pipnexus_configure`` runs the CLI of this checkout and
returns its decision (``--format json``) and its variables (``--format dotenv``).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from pipnexus.diagnostics import CODES

REPO = Path(__file__).resolve().parent.parent


class Run(NamedTuple):
    cmd: str
    rc: int
    seconds: float
    output: str


def run(
    cmd: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 600
) -> Run:
    """Run a command, capturing output; a hang ends as rc 124 instead of blocking the run."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            list(cmd), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
        )
        rc, out = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as e:
        rc = 124
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (
            e.stdout or "")
        out += f"\n[timed out after {timeout:.0f} s]"
    except OSError as e:
        rc, out = 127, str(e)
    return Run(shlex.join(cmd), rc, time.perf_counter() - start, out)


class Configured(NamedTuple):
    source: str
    index_url: str
    env: dict[str, str]
    warnings: list[str]


def parse_dotenv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ")
        key, sep, value = line.partition("=")
        if not sep:
            continue
        words = shlex.split(value) if value else [""]
        out[key.strip()] = words[0] if words else ""
    return out


def pipnexus_configure(index_url: str, fallback: str, env: Mapping[str, str],
                       project_dir: Path | None = None, args: Sequence[str] = (),
                       decision: bool = True) -> Configured:
    """Run the real ``pipnexus configure`` (decision as JSON, variables as dotenv).

    ``warnings`` are the warning and note diagnostic lines of the dotenv run (the one that
    configures, e.g. writes a pip config file) about ``project_dir`` and the environment.
    ``decision=False`` runs the dotenv run only: one probe, as a job's step makes (the egress
    benchmarks count it); ``source`` is then "nexus" when the index set is ``index_url``,
    else "fallback".
    """
    base = [sys.executable, "-m", "pipnexus", "configure", "--index-url", index_url,
            "--fallback-index-url", fallback, *args]
    if project_dir is not None:
        project_dir.mkdir(parents=True, exist_ok=True)
        base += ["--project-dir", str(project_dir)]
    path = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env = {**env, "PYTHONPATH": path}
    env.pop("GITHUB_ACTIONS", None)
    outputs = []
    warnings: list[str] = []
    for fmt in ("json", "dotenv") if decision else ("dotenv",):
        proc = subprocess.run([*base, "--format", fmt], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        if proc.returncode:
            raise SystemExit(f"pipnexus configure failed ({proc.returncode}):\n{proc.stderr}")
        outputs.append(proc.stdout)
        if fmt == "dotenv":
            # diagnostics: "path:line: warning: ... [code]" or, about no file,
            # "pipnexus configure: warning: ... [code]"; not the probe's state lines, notes too,
            # whose code is a probe reason
            warnings = [ln for ln in proc.stderr.splitlines()
                        if (": warning: " in ln or ": note: " in ln)
                        and ln.rpartition(" [")[2].rstrip("]") in CODES]
    variables = parse_dotenv(outputs[-1])
    if not decision:
        chosen = variables.get("PIP_INDEX_URL", "")
        return Configured("nexus" if chosen == index_url else "fallback", chosen, variables,
                          warnings)
    data = json.loads(outputs[0])
    return Configured(str(data.get("source")), str(data.get("index_url")), variables, warnings)
