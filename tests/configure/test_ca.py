"""A private CA (pipnexus/configure/ca.py): the bundle of system and private certificates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipnexus.configure import ca as ca_bundle
from pipnexus.configure import installers
from tests import probe_helpers
from tests.configure.helpers import FALLBACK, run_configure


def test_ca_bundle_combines_system_and_private_ca(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nPRIVATE\n-----END CERTIFICATE-----\n")
    path, warnings = ca_bundle.write_ca_bundle(str(ca), str(tmp_path))
    data = Path(path).read_text()
    assert data.endswith(ca.read_text())
    system = ca_bundle.system_ca_file()
    if system:
        assert data.startswith(Path(system).read_text().rstrip("\n")) and not warnings
    env = installers.installer_env("https://n/simple/", None, path)
    assert env["PIP_CERT"] == env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == path
    assert env["PIP_TRUSTED_HOST"] == "" and env["PDM_PYPI_VERIFY_SSL"] == "true"


def test_https_nexus_with_private_ca(tmp_path):
    cert = probe_helpers.self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("openssl CLI not available")
    page = probe_helpers.response(200, "OK", probe_helpers.PIP_PAGE)
    script = probe_helpers.routes({"/repository/pypi-proxy/simple/pip/": page})
    with probe_helpers.RawServer(script, tls=probe_helpers.server_context(cert)) as server:
        index = server.url()
        untrusted = run_configure(tmp_path, "--index-url", index, "--fallback-index-url", FALLBACK)
        trusted = run_configure(tmp_path, "--index-url", index, "--ca-cert", str(cert.cert))
    assert (untrusted.outputs["source"], untrusted.outputs["reason"]) == ("fallback", "tls")
    assert "PIP_CERT" not in untrusted.env_dict

    assert trusted.rc == 0, trusted.err
    assert trusted.outputs["source"] == "nexus"
    env = trusted.env_dict
    assert env["PIP_INDEX_URL"] == index
    assert env["PIP_TRUSTED_HOST"] == "" and env["PDM_PYPI_VERIFY_SSL"] == "true"
    bundle = env["PIP_CERT"]
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == bundle
    assert Path(bundle).read_text().endswith(cert.cert.read_text())
    assert Path(bundle).parent.parent == tmp_path / "runner-temp"
