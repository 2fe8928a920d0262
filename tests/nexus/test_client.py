"""The REST client's connection failures, against loopback servers: the probe's words for them,
a pooled connection the server closed, and the bounded TLS check of an ``http://`` URL."""

from __future__ import annotations

import threading

import pytest

from pipnexus.nexus import client as client_module
from pipnexus.nexus.client import HANDSHAKE_TIMEOUT, Client, NexusError
from pipnexus.probe.classify import network_failure
from testbed.httpbase import HangingListener, LoopbackServer, QuietHandler, Response, closed_url


class OneAnswerPerConnection(LoopbackServer):
    """Answers the first request of each connection, keeping it open (no ``Connection:
    close``), and closes it without answering when a second request comes on it: what a client
    meets when it reuses a pooled connection whose close (the server's FIN after its last
    answer) it has not seen yet, made deterministic."""

    def handle(self, handler: QuietHandler) -> Response | None:
        if getattr(handler, "answered", False):
            return None
        handler.answered = True  # type: ignore[attr-defined]
        return Response(200, [("Content-Type", "application/json")], b"{}")


def test_a_refused_connection_in_the_probes_words() -> None:
    url = closed_url()
    client = Client(url, attempts=1)
    with pytest.raises(NexusError) as exc:
        client.request("GET", "/service/rest/v1/status")
    refused = network_failure(ConnectionRefusedError(), "the server", 1.0)
    assert refused is not None
    assert exc.value.summary == f"cannot reach {url}: {refused.detail}; tried once"
    assert exc.value.code == "nexus-unreachable" and exc.value.refused
    assert "Errno" not in exc.value.summary


def test_a_timeout_in_the_probes_words(hanging_listener: HangingListener) -> None:
    client = Client(hanging_listener.url, attempts=1, timeout=0.5)
    with pytest.raises(NexusError) as exc:
        client.request("GET", "/service/rest/v1/status")
    assert exc.value.summary == (
        f"cannot reach {hanging_listener.url}: the server did not answer within 0.5 s; tried once"
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_a_pooled_connection_the_server_closed_is_not_a_failure(method: str) -> None:
    """With no retries left (--retries 0), a request on a connection the server has closed
    is sent again once on a new one (GET, PUT, DELETE), or sent on a new one in the first
    place (POST, which is not safe to send twice); each is answered once."""
    with OneAnswerPerConnection() as server:
        client = Client(server.base_url, attempts=1)
        try:
            assert client.request("GET", "/first").status_code == 200
            assert client.request(method, "/second", {}).status_code == 200
        finally:
            client.close()
        answered = [r for r in server.requests if r[1] == "/second" and r[2] == 200]
        assert len(answered) == 1
        if method == "POST":
            assert [r for r in server.requests if r[1] == "/second"] == answered


def test_a_server_that_closes_every_connection_still_fails() -> None:
    """The one extra try is for a stale pooled connection only: a server that never answers
    fails after it, in the probe's words."""

    class NeverAnswers(LoopbackServer):
        def handle(self, handler: QuietHandler) -> Response | None:
            return None

    with NeverAnswers() as server:
        client = Client(server.base_url, attempts=1)
        try:
            with pytest.raises(NexusError) as exc:
                client.request("GET", "/x")
        finally:
            client.close()
    assert exc.value.summary.endswith(
        ": the server closed the connection without answering; tried once"
    )


def test_the_tls_check_of_an_http_url_is_bounded(
    hanging_listener: HangingListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a port that never answers the TLS hello, the check of an http:// URL gives up
    after HANDSHAKE_TIMEOUT (here shortened from 3 s to 0.3 s), not after the request timeout
    (here 600 s)."""
    monkeypatch.setattr(client_module, "HANDSHAKE_TIMEOUT", 0.3)
    client = Client(hanging_listener.url, attempts=1, timeout=600)
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(client.speaks_tls_instead()))
    thread.start()
    thread.join(HANDSHAKE_TIMEOUT * 20)  # far beyond the bound, far below the request timeout
    assert not thread.is_alive(), "the TLS check waited for the request timeout"
    assert result == [False]
