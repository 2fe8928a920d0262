"""The one table of what pipnexus sets: installer -> the variables it reads, with the public
documentation each row comes from. :func:`installer_env` is built from it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from pipnexus._nt import NamedTuple

PIP_DOC = "https://pip.pypa.io/en/stable/topics/configuration/"
UV_DOC = "https://docs.astral.sh/uv/reference/environment/"
PIPENV_DOC = "https://pipenv.pypa.io/en/latest/"
PDM_DOC = "https://pdm-project.org/en/latest/reference/configuration/"
POETRY_MIRROR_DOC = "https://github.com/arcesium/poetry-plugin-pypi-mirror"
REQUESTS_DOC = "https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification"

# what a row's value is made of
INDEX = "index"  # the chosen index URL (with the credentials installers need)
TRUSTED_HOST = "trusted-host"  # the host of an http index, else empty
VERIFY_SSL = "verify-ssl"  # "false" for an http index, else "true"
CA_BUNDLE = "ca-bundle"  # system CAs + the given CA; set only when a CA was given


class Variable(NamedTuple):
    name: str
    installer: str
    value: str  # INDEX, TRUSTED_HOST, VERIFY_SSL or CA_BUNDLE
    doc: str


# In the order written (stable output). PIP_TRUSTED_HOST and PDM_PYPI_VERIFY_SSL are always
# set, to the safe value for https, so a stale value from the runner's environment does not
# survive a switch of index.
VARIABLES = (
    Variable("PIP_INDEX_URL", "pip", INDEX, PIP_DOC),
    Variable("PIP_TRUSTED_HOST", "pip", TRUSTED_HOST, PIP_DOC),
    Variable("UV_DEFAULT_INDEX", "uv", INDEX, UV_DOC),
    Variable("UV_INDEX_URL", "uv (the deprecated name, still read)", INDEX, UV_DOC),
    Variable("PIPENV_PYPI_MIRROR", "pipenv", INDEX, PIPENV_DOC),
    Variable("PDM_PYPI_URL", "pdm", INDEX, PDM_DOC),
    Variable("PDM_PYPI_VERIFY_SSL", "pdm", VERIFY_SSL, PDM_DOC),
    Variable("POETRY_PYPI_MIRROR_URL", "poetry-plugin-pypi-mirror", INDEX, POETRY_MIRROR_DOC),
    # one bundle = system CAs + the private CA, so other https hosts still verify
    Variable("PIP_CERT", "pip", CA_BUNDLE, PIP_DOC),
    Variable("SSL_CERT_FILE", "uv", CA_BUNDLE, UV_DOC),
    Variable("REQUESTS_CA_BUNDLE", "requests (pipenv, poetry)", CA_BUNDLE, REQUESTS_DOC),
)


# uv's interpreter downloads: set (to <nexus>/repository/<name>, which replaces
# https://github.com/astral-sh/python-build-standalone/releases/download in each asset URL)
# only when that mirror is healthy, whichever index is chosen
PYTHON_MIRROR_VARIABLE = Variable(
    "UV_PYTHON_INSTALL_MIRROR", "uv (python install, venv --python, run)", "mirror", UV_DOC
)


class ExtraSource(NamedTuple):
    """A variable that makes an installer fetch from somewhere besides the chosen index."""

    name: str
    installer: str
    doc: str


EXTRA_SOURCES = (
    ExtraSource("PIP_EXTRA_INDEX_URL", "pip", PIP_DOC),
    ExtraSource("PIP_FIND_LINKS", "pip", PIP_DOC),
    ExtraSource("UV_INDEX", "uv", UV_DOC),
    ExtraSource("UV_EXTRA_INDEX_URL", "uv", UV_DOC),
    ExtraSource("UV_FIND_LINKS", "uv", UV_DOC),
)
EXTRA_SOURCE_VARS = tuple(s.name for s in EXTRA_SOURCES)


def installer_env(
    index_url: str, trusted_host: str | None, ca_bundle: str | None
) -> dict[str, str]:
    """The variables for every installer, in the table's order."""
    values = {
        INDEX: index_url,
        TRUSTED_HOST: trusted_host or "",
        VERIFY_SSL: "false" if trusted_host else "true",
        CA_BUNDLE: ca_bundle or "",
    }
    return {
        v.name: values[v.value] for v in VARIABLES if v.value != CA_BUNDLE or ca_bundle
    }


# --- extra sources: what configure clears ----------------------------------------------

# an extra source naming only these hosts is what the proxy replaces: configure clears it
PUBLIC_PYPI_HOSTS = frozenset(
    {"pypi.org", "www.pypi.org", "files.pythonhosted.org", "pypi.python.org"}
)


def _source_items(value: str) -> list[str]:
    """The URLs or paths of an extra-source setting: blank- or comma-separated (uv's
    UV_FIND_LINKS uses commas), uv's ``name=url`` entries reduced to the URL."""
    items = [t for t in re.split(r"[\s,]+", value) if t]
    return [re.sub(r"\A[A-Za-z0-9][A-Za-z0-9._-]*=", "", t, count=1) for t in items]


def _is_public_url(item: str) -> bool:
    try:
        host = urlsplit(item).hostname
    except ValueError:
        return False
    return host is not None and host.rstrip(".") in PUBLIC_PYPI_HOSTS


def is_public_pypi(value: str) -> bool:
    """True when every URL in ``value`` points at the public PyPI (any scheme or path)."""
    items = _source_items(value)
    return bool(items) and all(_is_public_url(item) for item in items)


def cleared_sources(environ: Mapping[str, str]) -> dict[str, str]:
    """Extra-source variables of the environment that name only public PyPI (name: value).

    The proxy replaces them: configure sets them to empty. uv reads UV_INDEX before
    UV_DEFAULT_INDEX, and pip merges PIP_EXTRA_INDEX_URL in, so either would bypass it.
    """
    return {
        name: environ[name]
        for name in EXTRA_SOURCE_VARS
        if environ.get(name, "").strip() and is_public_pypi(environ[name])
    }
