"""The Docker connector double answers as the spec and Nexus's docs describe."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from testbed.docker_connector import DockerConnector


@pytest.fixture
def connector() -> Iterator[DockerConnector]:
    with DockerConnector() as c:
        yield c


def test_bearer_challenge_then_anonymous_token(connector: DockerConnector) -> None:
    r = requests.get(connector.base_url + "/v2/", timeout=5)
    assert r.status_code == 401
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    realm = f"{connector.base_url}/v2/token"
    assert r.headers["WWW-Authenticate"] == f'Bearer realm="{realm}",service="{realm}"'
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    t = requests.get(realm, params={"service": realm}, timeout=5)
    assert t.status_code == 200
    token = t.json()["token"]
    assert token.startswith("DockerToken.")
    assert connector.last_token_query == {"service": [realm]}
    ok = requests.get(
        connector.base_url + "/v2/", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert (ok.status_code, ok.json()) == (200, {})
    bad = requests.get(
        connector.base_url + "/v2/", headers={"Authorization": "Bearer forged"}, timeout=5
    )
    assert bad.status_code == 401


def test_force_basic_auth(connector: DockerConnector) -> None:
    connector.force_basic_auth = True
    r = requests.get(connector.base_url + "/v2/", timeout=5)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'BASIC realm="Sonatype Nexus Repository Manager"'


@pytest.mark.parametrize("switch", ["token_realm_active", "anonymous"])
def test_token_refused(connector: DockerConnector, switch: str) -> None:
    setattr(connector, switch, False)
    t = requests.get(connector.base_url + "/v2/token", timeout=5)
    assert t.status_code == 401 and "token" not in t.json()
    assert connector.tokens == set()


def test_fail_open_and_not_registry(connector: DockerConnector) -> None:
    connector.fail_status = 503
    assert requests.get(connector.base_url + "/v2/", timeout=5).status_code == 503
    connector.fail_status = None
    connector.open_v2 = True
    r = requests.get(connector.base_url + "/v2/", timeout=5)
    assert (r.status_code, json.loads(r.text)) == (200, {})
    connector.open_v2 = False
    connector.not_registry = True
    r = requests.get(connector.base_url + "/v2/", timeout=5)
    assert r.status_code == 200 and "Docker-Distribution-API-Version" not in r.headers
