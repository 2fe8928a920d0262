"""One diagnostic type and one formatter for every command.

migrate findings, ``nexus lint`` problems, ``configure`` warnings and ``nexus status``
checks are all :class:`Diagnostic` values and print in one shape, the one compilers and
linters use (and GitHub's problem matchers read)::

    path:line:col: severity: message [code]

A line about no file names the command instead, ``pipnexus COMMAND: severity: message [code]``
(:func:`format_command`), and a line that only says what was done (nothing to act on) is
``pipnexus COMMAND: message`` (:func:`format_info`): every message a command prints has one of
these forms (CONTRIBUTING.md, "Messages"). ``line`` and ``col`` are 1-based and left out when
unknown. ``--format json`` gives the same fields (:func:`as_json`). The codes are stable and
listed in ``docs/diagnostics.md``; a test keeps that list and :data:`CODES` in step.

Standard library only: ``configure`` imports this on the action's hot path.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipnexus._nt import NamedTuple

SEVERITIES = ("error", "warning", "note")

# code -> one-line meaning. Codes are stable slugs, as zizmor's rule names are; each area owns
# its block. docs/diagnostics.md documents every code with an example and a fix, and a test keeps
# that page and this table in step.
CODES: dict[str, str] = {
    # every command: fatal errors (exit 2), printed as `pipnexus COMMAND: error: message [code]`
    "usage": "a bad option, argument or environment value: nothing was done",
    "unreadable-file": "a file cannot be read: missing, not a file, or not UTF-8 text",
    "unwritable-file": "a file cannot be written (read-only, no permission, no space): left as is",
    "internal-error": "a bug in pipnexus: nothing more was done (PIPNEXUS_DEBUG=1 shows it)",
    # pipnexus migrate (docs/migrate.md): diagnostics
    "not-a-workflow": "the YAML is not a workflow or action (no mapping, no jobs or runs)",
    "unsafe-rewrite": "the rewrite would change more than intended: the file is left untouched",
    "cache-expression": "a cache input is an expression: left alone, review by hand",
    "cache-hit-reference": "a later step reads the removed cache step's cache-hit output",
    "index-env": "the workflow sets an index variable that the action would override",
    "index-url-in-run": "a run step passes an index URL to an installer",
    "mixed-cache-kept": "an actions/cache step also caches non-Python paths: kept",
    "poetry-no-mirror": "Poetry ignores the proxy without poetry-plugin-pypi-mirror",
    "uv-frozen-lock": "uv sync --frozen installs uv.lock's URLs, bypassing the proxy",
    "venv-cache-kept": "a virtualenv cache is kept (it is not a download cache)",
    "unsupported-shape": "a YAML shape the rewriter does not edit: left alone",
    "anchor-kept": "a YAML anchor or alias is involved: left alone",
    "conflict": "two edits overlap: the later one is skipped",
    "hosted-job-skipped": "a job on GitHub-hosted runners is left as is (no NAT to save)",
    "runner-not-listed": "a job on runners --runners does not name is left as is",
    "runner-unknown": "a job (or composite action) whose runner may be GitHub-hosted gets the "
                      "conditional form",
    "gate-without-step": "a cache is not gated: no pipnexus step in the job for the gate to read",
    # pipnexus migrate: the rules, named on each change they make
    "setup-python-cache": "setup-python's cache input is removed (or gated)",
    "setup-uv-cache": "setup-uv's enable-cache and cache-python inputs are removed (or gated), "
                      "and the inputs only its cache reads once it is off",
    "actions-cache": "an actions/cache step of Python package caches is removed (or gated)",
    "insert-step": "the pipnexus step is inserted in a job or composite action",
    "repin": "an existing pipnexus step is re-pinned to --action-ref",
    # pipnexus configure
    "requirements-index": "a requirements file option overrides the index",
    "uv-lock-urls": "uv.lock records download URLs that bypass the index",
    "poetry-mirror-plugin": "Poetry ignores the index without poetry-plugin-pypi-mirror",
    "pip-compile-emits-index": "pip-compile writes the index URL into its output",
    "uv-config-index": "a uv config file adds an index or find-links uv searches besides the proxy",
    "direct-reference": "a requirement or source names a URL: fetched from there, not the proxy",
    "pdm-source": "a pdm source other than pypi, searched besides the proxy",
    "poetry-source": "a Poetry source, which the mirror plugin does not replace",
    "pipenv-source": "a Pipfile source other than pypi.org, which PIPENV_PYPI_MIRROR does not "
                     "replace",
    "tox-index": "tox's set_env or install_command names an index",
    "pre-commit-clone": "pre-commit clones hook repositories with git (not through the proxy)",
    "python-download": "a Python the runner lacks is asked for: downloaded from GitHub",
    "env-extra-source": "an extra package source is set in the environment",
    "pip-conf-extra-source": "a pip config file sets an extra package source",
    "no-system-ca": "no system CA bundle was found for the CA bundle",
    "fallback": "no candidate is healthy: the fallback index is used",
    "no-healthy-index": "no candidate is healthy and require-nexus is set",
    "python-mirror-unhealthy": "the interpreter mirror is unhealthy: uv downloads from GitHub",
    "not-configured": "no package index is given: nothing is configured",
    "nexus-url-is-index": "the Nexus URL given is a whole index URL: it is used as the index URL",
    "public-pypi-cleared": "an extra source naming only public PyPI is emptied, so installers "
                           "fetch from the chosen index alone",
    # pipnexus hook (docs/runner-hook.md)
    "hook-error": "the job-started hook could not configure the job: installers keep defaults",
    "hook-off": "the job-started hook leaves this job alone (PIPNEXUS_HOOK, PIPNEXUS_HOOK_SKIP)",
    # pipnexus nexus lint
    "yaml-syntax": "the file is not valid YAML (a values file, a workflow)",
    "unknown-key": "a key Nexus or the chart does not know, which it ignores",
    "missing-field": "a field the linted Nexus version requires is missing: it refuses the body",
    "invalid-value": "a value Nexus refuses or the chart ignores",
    "misplaced-key": "a setting placed where the chart or Nexus does not read it",
    "root-password": "the root password is set in a way the chart cannot use",
    "config-disabled": "config.enabled is not true: the chart applies none of config's lists",
    "version-specific": "a key the linted Nexus version does not read (other versions do)",
    "routing-rule": "routingRule/routingRuleName: the field's name differs between versions",
    "chart-4-form": "a repository in the chart 4.x form, which chart 5.x posts unchanged",
    "remote-url-simple": "a PyPI proxy's remoteUrl ends in /simple: every page would 404",
    "unknown-blob-store": "a repository names a blob store that will not exist",
    "duplicate-name": "two repositories share a name (Nexus ignores case)",
    "missing-realm": "a realm the configuration needs is not in config.realms",
    "docker-port": "a Docker connector port the Service does not expose",
    "no-persistence": "no persistent volume: the cache is lost when the pod restarts",
    # pipnexus nexus status
    "nexus-status": "the Nexus status endpoint answers",
    "nexus-writable": "Nexus can serve writes",
    "nexus-version": "the Nexus version from the Server header, and the rules applied for it",
    "repository-exists": "the repository exists",
    "repository-serves": "the repository serves the canary project",
    "nexus-unreachable": "Nexus cannot be reached or refused the request",
    "nexus-refused": "Nexus refused a request of nexus apply (its answer follows)",
    "nexus-auth": "Nexus refused the credentials (401) or their privileges (403)",
    "not-nexus": "--url answers, but not as Nexus (or in the other scheme): nothing is sent",
    # pipnexus nexus apply
    "values-lint-errors": "nexus apply refuses a --values file with lint errors (listed before)",
    "secret-reference": "a repository's password/bearerToken names a Secret: sent without it",
    "docker-pull": "an anonymous docker pull gets the canary image's manifest through the mirror",
    "docker-remote-down": "the Docker mirror answers /v2/ but cannot get the canary's manifest",
    "docker-wrong-scheme": "--docker-url says http:// for a TLS port, or https:// for plain HTTP",
    "docker-force-basic-auth": "the Docker connector demands Basic auth (forceBasicAuth)",
    "docker-token-refused": "the Docker token realm refuses an anonymous token",
    "docker-not-registry": "the --docker-url port does not answer as a Docker registry",
    "docker-unreachable": "the Docker connector cannot be reached (port not exposed)",
    "docker-server-error": "the Docker connector or its token realm answers 5xx",
}


class Diagnostic(NamedTuple):
    """Something a command found. ``path`` is None when no file is concerned."""

    severity: str  # one of SEVERITIES
    message: str
    code: str  # a key of CODES
    path: str | None = None
    line: int | None = None
    col: int | None = None

    def location(self) -> str:
        """``path:line:col`` with the unknown parts left out ("" when nothing is known)."""
        parts = [self.path] if self.path is not None else []
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


def format_text(diagnostic: Diagnostic) -> str:
    """``path:line:col: severity: message [code]`` on one line."""
    where = diagnostic.location()
    text = f"{diagnostic.severity}: {diagnostic.message} [{diagnostic.code}]"
    # one line: a path or server text with a line break can't start a workflow command
    text = f"{where}: {text}" if where else text
    return text.replace("\r", " ").replace("\n", " ")


def format_command(prog: str, diagnostic: Diagnostic) -> str:
    """A command's own line: ``prog: severity: message [code]``, or ``path:line:col: ...``
    when it is placed in a file (the form findings have)."""
    text = format_text(diagnostic)
    return text if diagnostic.path is not None else f"{prog}: {text}"


def format_info(prog: str, message: str) -> str:
    """A line that only says what a command did: ``prog: message``, no severity, no code."""
    return f"{prog}: {message}".replace("\r", " ").replace("\n", " ")


def as_json(diagnostic: Diagnostic) -> dict[str, object]:
    """The same fields as :func:`format_text`, for ``--format json``."""
    return {
        "path": diagnostic.path,
        "line": diagnostic.line,
        "col": diagnostic.col,
        "severity": diagnostic.severity,
        "code": diagnostic.code,
        "message": diagnostic.message,
    }


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)
