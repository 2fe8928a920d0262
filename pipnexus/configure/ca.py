"""The CA bundle for an https index with a private CA: the system CAs plus the given one, so
other https hosts still verify, in pipnexus's state directory."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pipnexus.diagnostics import Diagnostic
from pipnexus.fsutil import atomic_write


def state_dir(environ: Mapping[str, str]) -> str:
    """``RUNNER_TEMP/pipnexus`` (private to the job), else a per-user temporary directory."""
    base = environ.get("RUNNER_TEMP")
    if base:
        path = os.path.join(base, "pipnexus")
    else:
        import tempfile

        path = os.path.join(tempfile.gettempdir(), f"pipnexus-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def system_ca_file() -> str | None:
    import ssl

    paths = ssl.get_default_verify_paths()
    for candidate in (
        paths.cafile,
        paths.openssl_cafile,
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def write_ca_bundle(ca_cert: str, directory: str) -> tuple[str, list[Diagnostic]]:
    """Write system CAs + ``ca_cert`` to one bundle; return its path and any warning."""
    warnings: list[Diagnostic] = []
    with open(ca_cert, "rb") as f:
        private = f.read()
    system = system_ca_file()
    parts = []
    if system:
        with open(system, "rb") as f:
            parts.append(f.read())
    else:
        warnings.append(Diagnostic(
            "warning",
            "no system CA bundle found: PIP_CERT/SSL_CERT_FILE/REQUESTS_CA_BUNDLE hold only "
            "the given CA, so other https hosts will fail to verify",
            "no-system-ca",
        ))
    parts.append(private)
    path = os.path.join(directory, "ca-bundle.pem")
    atomic_write(path, b"\n".join(p.rstrip(b"\n") + b"\n" for p in parts), 0o644)
    return path, warnings
