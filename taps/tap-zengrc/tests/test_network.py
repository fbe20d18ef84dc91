"""The standard network environment is honoured; an untrusted certificate fails at once, naming the host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from landing_tap_kit.stub_servers import ForwardProxy, Page, StubServer, self_signed_certificate

from tests.support import catalog_selecting, clean_environment, tap_config

ONE_PAGE = json.dumps({"data": [{"id": 7, "title": "TLS"}], "links": {"next": None}}).encode()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_an_untrusted_certificate_fails_at_once_naming_the_host(certificate, tap, tmp_path):
    with StubServer({"/api/v2/controls": Page(ONE_PAGE)}, tls=certificate) as server:
        run = tap(tap_config(server.url, max_retries=5), "--catalog", catalog_selecting(tmp_path, "controls"))
        handshakes = server.connections
    assert run.returncode == 1
    final = run.error_lines()[-1]
    host = server.url.removeprefix("https://")
    assert f"the TLS certificate of {host} could not be verified" in final
    assert "REQUESTS_CA_BUNDLE or SSL_CERT_FILE" in final
    assert "Retrying" not in run.log
    assert handshakes == 1


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_ca_bundle_from_the_environment_is_trusted(certificate, tap, tmp_path, variable):
    with StubServer({"/api/v2/controls": Page(ONE_PAGE)}, tls=certificate) as server:
        env = clean_environment(**{variable: str(certificate[0])})
        run = tap(tap_config(server.url), "--catalog", catalog_selecting(tmp_path, "controls"), env=env)
    assert run.returncode == 0, run.log
    assert [r["id"] for r in run.records("controls")] == [7]


def test_http_proxy_carries_every_request(emulator, tap, tmp_path):
    server = emulator("zengrc", seed=4, volume=7, only="issues")
    with ForwardProxy() as proxy:
        env = clean_environment(HTTP_PROXY=proxy.url)
        config = tap_config(server.url, page_size=3)
        run = tap(config, "--catalog", catalog_selecting(tmp_path, "issues"), env=env)
        forwarded = list(proxy.forwarded)
    assert run.returncode == 0, run.log
    assert len(run.records("issues")) == 7
    assert len(forwarded) == 3
    assert all(url.startswith(f"{server.url}/api/v2/issues") for url in forwarded)


def test_no_proxy_bypasses_the_proxy(emulator, tap, tmp_path):
    server = emulator("zengrc", seed=4, volume=7, only="issues")
    with ForwardProxy() as proxy:
        env = clean_environment(HTTP_PROXY=proxy.url, NO_PROXY="127.0.0.1")
        run = tap(tap_config(server.url), "--catalog", catalog_selecting(tmp_path, "issues"), env=env)
        forwarded = list(proxy.forwarded)
    assert run.returncode == 0, run.log
    assert len(run.records("issues")) == 7
    assert forwarded == []
