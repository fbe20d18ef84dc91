"""Sessions from landing_tap_kit.transport against real local servers: deadlines, drops, TLS, proxies."""

from __future__ import annotations

import json

import pytest
import requests
from landing_tap_kit.stub_servers import ForwardProxy, Page, StubServer, self_signed_certificate
from landing_tap_kit.testing import NETWORK_VARIABLES
from landing_tap_kit.transport import CertificateError, describe_request_error, environment_session

BODY = json.dumps({"data": [{"id": 1, "name": "one"}] * 20}).encode()


@pytest.fixture(autouse=True)
def _no_network_variables(monkeypatch):
    for name in NETWORK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_a_whole_body_arrives_as_content():
    with StubServer({"/things": Page(BODY)}) as server:
        response = environment_session(server.url).get(f"{server.url}/things", timeout=5)
    assert response.json() == json.loads(BODY)


def test_a_trickled_body_ends_at_the_wall_clock_limit_although_every_read_is_quick():
    """One byte every 50 ms never trips a per-read timeout of 1 s; the whole request still ends at 1 s."""
    with StubServer({"/things": Page(BODY, trickle=0.05)}) as server:
        session = environment_session(server.url)
        with pytest.raises(requests.ReadTimeout) as error:
            session.get(f"{server.url}/things?secret=1", timeout=1)
    assert f"no complete answer within request_timeout=1 s from {server.url}/things" in str(error.value)
    assert "secret" not in str(error.value)


def test_a_connection_dropped_mid_body_is_a_retriable_chunked_encoding_error():
    with (
        StubServer({"/things": Page(BODY, cut_after=10)}) as server,
        pytest.raises(requests.exceptions.RequestException) as error,
    ):
        environment_session(server.url).get(f"{server.url}/things", timeout=5)
    assert isinstance(error.value, requests.exceptions.ChunkedEncodingError | requests.exceptions.ConnectionError)


def test_an_untrusted_certificate_is_fatal_naming_the_host_and_the_variables(certificate):
    with StubServer({"/things": Page(BODY)}, tls=certificate) as server, pytest.raises(CertificateError) as error:
        environment_session(server.url).get(f"{server.url}/things", timeout=5)
    host = server.url.removeprefix("https://")
    assert f"the TLS certificate of {host} could not be verified" in str(error.value)
    assert "REQUESTS_CA_BUNDLE or SSL_CERT_FILE" in str(error.value)


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_ca_bundle_named_in_the_environment_is_trusted(certificate, monkeypatch, variable):
    monkeypatch.setenv(variable, str(certificate[0]))
    with StubServer({"/things": Page(BODY)}, tls=certificate) as server:
        response = environment_session(server.url).get(f"{server.url}/things", timeout=5)
    assert response.json() == json.loads(BODY)


def test_http_proxy_carries_every_request_and_no_proxy_bypasses_it(monkeypatch):
    with StubServer({"/things": Page(BODY)}) as server, ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        proxied = environment_session(server.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = environment_session(server.url)
        for _ in range(2):
            proxied.get(f"{server.url}/things", timeout=5)
            direct.get(f"{server.url}/things", timeout=5)
    assert proxy.forwarded == [f"{server.url}/things", f"{server.url}/things"]
    assert len(server.requests) == 4


def test_the_environment_is_read_once_per_session(monkeypatch):
    """A proxy variable set after the session was made does not reroute it (resolved once, not per request)."""
    with StubServer({"/things": Page(BODY)}) as server, ForwardProxy() as proxy:
        session = environment_session(server.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        session.get(f"{server.url}/things", timeout=5)
    assert proxy.forwarded == []


def test_an_unreachable_host_is_described_with_the_setting_to_check():
    session = environment_session("http://127.0.0.1:9")
    with pytest.raises(requests.ConnectionError) as error:
        session.get("http://127.0.0.1:9/api/things?token=x", timeout=5)
    line = describe_request_error(error.value, source="Sample", url_setting="api_url")
    assert line.startswith("cannot reach Sample at http://127.0.0.1:9/api/things (")
    assert line.endswith("check `api_url`")
    assert "token" not in line
