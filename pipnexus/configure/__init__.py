"""``pipnexus configure``: probe the Nexus PyPI proxy, choose an index, point pip, uv,
pipenv, pdm and poetry at it (see :mod:`pipnexus.configure.main`)."""

from __future__ import annotations

from pipnexus.configure.main import add_arguments, configure, run

__all__ = ["add_arguments", "configure", "run"]

