"""Atomic file replacement (standard library only: the action's hot path uses it)."""

from __future__ import annotations

import os


def atomic_write(path: str, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` by ``data`` with permission bits ``mode`` (None: those of the file
    there, else 0o644): a temporary file in the same directory, flushed to disk, then renamed
    over ``path``. Raises OSError; a failed write leaves ``path`` as it was and no temporary
    file behind. The one atomic write of the package."""
    import tempfile

    if mode is None:
        mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pipnexus-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # try/except, not contextlib.suppress: CPython 3.9 and 3.10 do not import contextlib
        # at start-up, and this module is on the action's hot path
        try:  # noqa: SIM105
            os.unlink(tmp)
        except OSError:
            pass
        raise
