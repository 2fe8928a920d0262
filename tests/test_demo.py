from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pipnexus import demo
from pipnexus.migrate import migrate_text
from tests.cli_process import run_pipnexus

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_example_needs_migrating() -> None:
    text = demo.example_workflow()
    result = migrate_text(text, demo.EXAMPLE)
    assert result.error is None
    assert result.changed
    # the example shows every rule the quick start talks about
    rules = {change.rule for change in result.changes}
    assert len(rules) >= 4, rules


def test_demo_falls_back_and_shows_the_migration(tmp_path: Path) -> None:
    example = ROOT / "pipnexus" / demo.EXAMPLE
    before = hashlib.sha256(example.read_bytes()).hexdigest()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPNEXUS_", "GITHUB_"))}
    proc = run_pipnexus("demo", module=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout, proc.stderr
    assert "refused" in err
    assert "using the fallback index https://pypi.org/simple" in err
    assert "export PIP_INDEX_URL=https://pypi.org/simple" in out
    assert "export UV_DEFAULT_INDEX=https://pypi.org/simple" in out
    assert "--- a/examples/ci.yml" in out
    assert "-          cache: pip" in out
    assert "+        uses: pipnexus/pipnexus@v1" in out
    assert "Traceback" not in err
    # nothing written: neither the bundled example nor the working directory
    assert hashlib.sha256(example.read_bytes()).hexdigest() == before
    assert list(tmp_path.iterdir()) == []


def test_demo_against_a_given_nexus_that_is_down(tmp_path: Path) -> None:
    port = demo.closed_port()
    proc = run_pipnexus("demo", "--nexus-url", f"http://127.0.0.1:{port}", module=True,
                        cwd=tmp_path, timeout=120)
    assert proc.returncode == 0
    assert f"127.0.0.1:{port}" in proc.stderr
