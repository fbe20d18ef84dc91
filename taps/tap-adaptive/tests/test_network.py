"""The standard environment is honoured: CA bundle, proxies, NO_PROXY; a bad certificate fails at once."""

from __future__ import annotations

import asyncio
import gc
import http.client
import logging
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from emulators.registry import create
from tests.conftest import LOGIN, PASSWORD, run_tap

ENVIRONMENT = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start from no proxy and no CA bundle settings (this machine sets a system bundle)."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem).

    Made with the openssl command line (the dev venv has no ``cryptography``; adding it would change the
    shared lock for a test fixture).
    """
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test CA", cwd=folder
    )
    _openssl("req", *ec, "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "cert.pem", "-days", "1", "-extfile", "san.ext", cwd=folder,
    )  # fmt: skip
    return folder / "ca.pem", folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_emulator(tmp_path: Path) -> Iterator[tuple[str, Path, object]]:
    """The Adaptive emulator behind TLS with a certificate from a private CA: (origin, ca.pem, emulator)."""
    ca, cert, key = _certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    emulator = create("adaptive", seed=7, volume=20)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(emulator.make_app(), access_log=None, handle_signals=False)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        return int(runner.addresses[0][1])

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    yield f"https://127.0.0.1:{port}", ca, emulator
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()
    # aiohttp leaves the server side of a kept-alive TLS connection to the garbage collector: collect it
    # here, where its ResourceWarning is about this fixture, not about the next test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _config(origin: str) -> dict[str, object]:
    return {
        "api_url": f"{origin}/api/v38",
        "username": LOGIN,
        "password": PASSWORD,
        "max_retries": 5,
        "retry_base_seconds": 0,
    }


def test_an_untrusted_certificate_fails_at_once_naming_the_host(tls_emulator, caplog):
    origin, _, emulator = tls_emulator
    caplog.set_level(logging.WARNING)
    run = run_tap(_config(origin), select={"export_groups"}, expect_error=True)
    message = str(run.error)
    host = urlsplit(origin).netloc
    assert message.startswith(f"the TLS certificate of {host} could not be verified")
    assert "REQUESTS_CA_BUNDLE" in message
    assert not [r for r in caplog.records if "retrying" in r.getMessage().lower()]  # fatal, not retried
    assert list(emulator.requests) == []


def test_requests_ca_bundle_makes_the_private_ca_trusted(tls_emulator, monkeypatch):
    origin, ca, emulator = tls_emulator
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    run = run_tap(_config(origin), select={"export_groups"})
    assert len(run.records["export_groups"]) == len(emulator.truth()["exportGroups"])


def test_ssl_cert_file_is_honoured_too(tls_emulator, monkeypatch):
    origin, ca, emulator = tls_emulator
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    run = run_tap(_config(origin), select={"export_groups"})
    assert len(run.records["export_groups"]) == len(emulator.truth()["exportGroups"])


class CountingProxy(ThreadingHTTPServer):
    """A forward HTTP proxy that counts what it relays."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.relayed: list[str] = []


class _ProxyHandler(BaseHTTPRequestHandler):
    server: CountingProxy

    def do_POST(self) -> None:
        target = urlsplit(self.path)  # a proxy receives the absolute URL
        self.server.relayed.append(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        upstream.request("POST", target.path, body=body, headers={"Content-Type": self.headers["Content-Type"]})
        answer = upstream.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type", "text/xml"))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        upstream.close()

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def proxy() -> Iterator[CountingProxy]:
    server = CountingProxy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_http_proxy_carries_the_requests(adaptive, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    run = run_tap(_config(adaptive.url), select={"export_groups", "export_levels"})
    assert run.records["export_groups"]
    assert proxy.relayed == [f"{adaptive.url}/api/v38"] * 2


def test_no_proxy_bypasses_the_proxy(adaptive, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    run = run_tap(_config(adaptive.url), select={"export_groups"})
    assert run.records["export_groups"]
    assert proxy.relayed == []
