"""What ``pipnexus configure`` decided and did (:class:`Report`), for render and summary."""

from __future__ import annotations

from pipnexus._nt import NamedTuple
from pipnexus.configure.decide import Decision
from pipnexus.diagnostics import Diagnostic


class Report(NamedTuple):
    """What configure decided and did, ready to render."""

    decision: Decision
    shown_url: str  # the chosen index, redacted ("" for source "none")
    env: dict[str, str]  # the variables to set, with credentials
    shown_env: dict[str, str]  # the same, redacted
    cleared: dict[str, str]  # extra-source variables set to empty: name -> old value, redacted
    notes: list[Diagnostic]  # notes: what configure changed besides the variables
    diagnostics: list[Diagnostic]  # what bypasses the index, and other warnings
    verdict: Diagnostic | None  # the fallback warning or the no-healthy-index error
    pip_conf_path: str | None  # the pip config file written

    @property
    def all_diagnostics(self) -> list[Diagnostic]:
        return self.diagnostics + ([self.verdict] if self.verdict else [])
