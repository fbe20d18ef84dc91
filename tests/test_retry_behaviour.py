"""One retry and error behaviour for every HTTP tap (issue 14 §2): the same headers and failures, the same outcome.

Each HTTP tap runs as operators run it (its console script, its own process) against its emulator, reached
through one fault-injecting reverse proxy defined here: the proxy answers chosen requests itself (a 429 with
``Retry-After`` in seconds or as an HTTP-date, a 503) and forwards the rest, over HTTP or over TLS with a
certificate the tap does not trust. So every tap meets byte-identical faults, whatever its emulator models.
The expected behaviour is landing_tap_kit's (libs/landing-tap-kit/README.md):

- a told wait is waited as told (never shortened), in either form, then the run completes;
- a 5xx is retried, then the run completes;
- a wait longer than ``max_retry_seconds`` is not started: one ``gave up`` line, exit code 1, one request;
- an untrusted certificate fails at once: one line naming the host and the variables to set, no retry;
- a garbage --config file: one line naming it, exit code 1 (for every tap, Xactly's too).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from landing_tap_kit.stub_servers import self_signed_certificate

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class HttpTap:
    """How to run one HTTP tap against its emulator behind the proxy."""

    name: str
    emulator: str
    options: dict[str, Any]
    config: Callable[[str], dict[str, Any]]

    @property
    def command(self) -> str:
        return str(BIN / f"landing-{self.name}")


def _zengrc_config(origin: str) -> dict[str, Any]:
    from emulators.zengrc import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET  # noqa: PLC0415 - per-tap ground truth

    return {"api_url": f"{origin}/api/v2", "username": DEFAULT_KEY_ID, "password": DEFAULT_KEY_SECRET}


def _zendesk_config(origin: str) -> dict[str, Any]:
    return {
        "api_url": f"{origin}/api/v2",
        "email": "admin@main.example.com",
        "api_token": "main-api-token",
        "start_date": "2023-01-01T00:00:00Z",
    }


def _adaptive_config(origin: str) -> dict[str, Any]:
    return {
        "api_url": f"{origin}/api/v38",
        "username": "emulator@example.com",
        "password": "emulator-password",
        "export_data_account_codes": ["RPO"],
    }


HTTP_TAPS = [
    HttpTap("tap-zengrc", "zengrc", {"seed": 31, "volume": 3, "only": "controls"}, _zengrc_config),
    HttpTap("tap-zendesk", "zendesk", {"seed": 31, "volume": 3}, _zendesk_config),
    HttpTap("tap-adaptive", "adaptive", {"seed": 31, "volume": 3}, _adaptive_config),
]
#: Settings every case sets the same way in every tap (a tap without one of them ignores it).
COMMON = {"max_retry_seconds": 30, "max_retries": 3, "retry_base_seconds": 0.05, "request_timeout": 30}


@dataclass
class Fault:
    """The proxy answers the first ``times`` requests itself with this status and these headers."""

    status: int
    headers: Callable[[], dict[str, str]] = dict
    times: int | None = 1
    fired: int = 0


@dataclass
class FaultProxy:
    """A reverse proxy in front of an emulator: injects :class:`Fault` answers, forwards everything else."""

    upstream: str
    fault: Fault | None = None
    tls: tuple[Path, Path] | None = None
    requests: list[str] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        proxy = self
        target = re.match(r"http://([^:/]+):(\d+)", self.upstream)
        assert target is not None
        host, port = target.group(1), int(target.group(2))

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.requests.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else None
                fault = proxy.fault
                if fault is not None and (fault.times is None or fault.fired < fault.times):
                    fault.fired += 1
                    body = b'{"error": "injected"}'
                    self.send_response(fault.status)
                    for name, value in fault.headers().items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                upstream = http.client.HTTPConnection(host, port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"connection", "host"}}
                upstream.request(self.command, self.path, body=payload, headers=headers)
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                upstream.close()

            do_POST = do_GET

            def log_message(self, *_: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> Any:
                proxy.connections += 1
                return super().get_request()

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a tap refusing the certificate is what the TLS case expects

        self.server = Server(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            self.server.socket = context.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Run:
    returncode: int
    stdout: str
    log: str

    @property
    def records(self) -> int:
        return self.stdout.count('"type":"RECORD"') + self.stdout.count('"type": "RECORD"')

    def errors(self) -> list[str]:
        return [line for line in self.log.splitlines() if "| ERROR" in line]

    def waits(self) -> list[float]:
        return [float(w) for w in re.findall(r"Retrying in ([0-9.]+) s", self.log)]


def _run(command: str, config_path: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper() and "CA_BUNDLE" not in k.upper()}
    env.pop("SSL_CERT_FILE", None)
    result = subprocess.run(
        [command, "--config", str(config_path)], capture_output=True, text=True, timeout=300, check=False, env=env
    )
    return Run(result.returncode, result.stdout, result.stderr)


@pytest.fixture(params=HTTP_TAPS, ids=[tap.name for tap in HTTP_TAPS])
def http_tap(request: pytest.FixtureRequest) -> HttpTap:
    tap: HttpTap = request.param
    return tap


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def behind_proxy(emulator, tmp_path) -> Iterator[Callable[..., tuple[Run, FaultProxy]]]:
    """``behind_proxy(tap, fault, tls=None)``: run the tap against its emulator through a FaultProxy."""
    proxies: list[FaultProxy] = []

    def run(tap: HttpTap, fault: Fault | None, tls: tuple[Path, Path] | None = None) -> tuple[Run, FaultProxy]:
        server = emulator(tap.emulator, **tap.options)
        proxy = FaultProxy(server.url, fault, tls)
        proxies.append(proxy)
        config_path = tmp_path / f"{tap.name}.json"
        config_path.write_text(json.dumps({**tap.config(proxy.origin), **COMMON}))
        return _run(tap.command, config_path), proxy

    yield run
    for proxy in proxies:
        proxy.close()


def test_retry_after_in_seconds_is_waited_as_told_then_the_run_completes(http_tap, behind_proxy):
    run, _ = behind_proxy(http_tap, Fault(429, lambda: {"Retry-After": "1"}))
    assert run.returncode == 0, run.errors()
    assert run.waits() == [1.0]
    assert run.records > 0


def test_retry_after_as_an_http_date_is_waited_until_that_moment(http_tap, behind_proxy):
    def three_seconds_ahead() -> dict[str, str]:
        return {"Retry-After": format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)}

    run, _ = behind_proxy(http_tap, Fault(429, three_seconds_ahead))
    assert run.returncode == 0, run.errors()
    (wait,) = run.waits()
    assert 1.0 < wait <= 3.0  # the header has whole seconds: the told moment is 2-3 s after it was written
    assert run.records > 0


def test_a_503_is_retried_then_the_run_completes(http_tap, behind_proxy):
    run, _ = behind_proxy(http_tap, Fault(503))
    assert run.returncode == 0, run.errors()
    assert len(run.waits()) == 1
    assert run.records > 0


def test_a_wait_longer_than_the_budget_ends_the_run_at_once_in_one_line(http_tap, behind_proxy):
    run, proxy = behind_proxy(http_tap, Fault(429, lambda: {"Retry-After": "3600"}, times=None))
    assert run.returncode == 1
    assert run.waits() == []
    assert len(proxy.requests) == 1
    (line,) = run.errors()
    assert f"{http_tap.name}: error: gave up on {proxy.origin}/" in line
    assert "after 1 attempts in" in line
    assert "(max_retry_seconds=30; the server asked to wait 3600 s" in line
    assert "HTTP 429" in line


def test_an_untrusted_certificate_fails_at_once_naming_host_and_variables(http_tap, behind_proxy, certificate):
    run, proxy = behind_proxy(http_tap, None, tls=certificate)
    assert run.returncode == 1
    (line,) = run.errors()
    host = proxy.origin.removeprefix("https://")
    assert f"{http_tap.name}: error: the TLS certificate of {host} could not be verified" in line
    assert "REQUESTS_CA_BUNDLE or SSL_CERT_FILE" in line
    assert run.waits() == []
    assert proxy.connections == 1


@pytest.mark.parametrize("tap", ["tap-zengrc", "tap-zendesk", "tap-adaptive", "tap-xactly"])
def test_a_garbage_config_file_is_one_line_naming_it(tap, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text("garbage")
    run = _run(str(BIN / f"landing-{tap}"), config_path)
    assert run.returncode == 1
    assert [line for line in run.log.splitlines() if line.strip()] == run.errors(), run.log
    (line,) = run.errors()
    assert f"{tap}: error: --config {config_path} is not valid JSON" in line
