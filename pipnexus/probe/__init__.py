"""Probe package indexes (a Nexus PyPI proxy or any PEP 503 simple index) in parallel.

``probe()`` checks every candidate at once under one total deadline and classifies each
failure with a stable reason code (``REASONS``). It is on the action's hot path: standard
library only, ``ssl`` imported only when an https URL is probed, ``urllib.request`` only when
a proxy list has to be matched.

Modules: ``candidates`` (which URLs), ``engine`` (threads and the deadline), ``transport``
(one GET on ``http.client``), ``proxies``, ``classify`` (failure -> reason), ``page``
(PEP 503 pages), ``cli`` (``pipnexus probe``, loaded only by that command).
"""

from __future__ import annotations

from pipnexus.probe.candidates import (
    Candidates,
    NotConfigured,
    Result,
    Target,
    index_configured,
    mirror_target,
    resolve_candidates,
    target_for,
)
from pipnexus.probe.classify import REASONS
from pipnexus.probe.engine import probe
from pipnexus.probe.page import count_project_files

__all__ = [
    "REASONS",
    "Candidates",
    "NotConfigured",
    "Result",
    "Target",
    "count_project_files",
    "index_configured",
    "mirror_target",
    "probe",
    "resolve_candidates",
    "target_for",
]
