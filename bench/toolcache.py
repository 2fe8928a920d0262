"""What actions/setup-python downloads per job on a runner without a persistent tool cache.

Run: ``python -m bench.toolcache [--python PATH]``.

setup-python has no mirror input: on a cache miss it downloads a CPython build from the
actions/python-versions releases (a ``.tar.gz`` of a ``make install`` tree) into
``RUNNER_TOOL_CACHE``. This machine cannot reach GitHub, so the figure is measured on the
nearest thing it has: the install tree of a CPython (``sys.base_prefix`` of ``--python``),
without ``site-packages`` and ``__pycache__`` (a fresh build has neither), packed the same way
(tar + gzip, level 6 as ``tar -z`` uses). It prints sizes and asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Sequence


def _exclude(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = info.name.split("/")
    if "site-packages" in parts or "__pycache__" in parts:
        return None
    return info


def measure(prefix: str) -> tuple[int, int]:
    """(bytes of the files, bytes of the .tar.gz) of the install tree at ``prefix``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        tar.add(prefix, arcname=os.path.basename(prefix), filter=_exclude)
    packed = gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)
    return len(raw.getvalue()), len(packed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    opts = parser.parse_args(argv)
    out = subprocess.run(
        [opts.python, "-c", "import sys; print(sys.base_prefix); print(sys.version.split()[0])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()
    prefix, version = out[0], out[1]
    tree, packed = measure(prefix)
    print(f"CPython {version} install tree (no site-packages, no __pycache__)")
    print(f"  files:       {tree / 1e6:7.1f} MB")
    print(f"  tar.gz (-6): {packed / 1e6:7.1f} MB  <- downloaded per job by setup-python on a "
          "runner whose tool cache starts empty")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
