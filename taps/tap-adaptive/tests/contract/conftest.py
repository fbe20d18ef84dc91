"""A tiny local server that answers each XML ``<call method=..>`` with a fixture file, over real HTTP."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).with_name("fixtures")


class ReplayServer(ThreadingHTTPServer):
    """Serves ``routes[method]`` for every POST naming that method: a fixture file name, or a list of them
    answered in turn (the last one repeats)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Replay)
        self.routes: dict[str, str | list[str]] = {}
        self.calls: list[ET.Element] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v38"

    def config(self, **overrides: object) -> dict[str, object]:
        return {
            "api_url": self.api_url,
            "username": "someone@example.com",
            "password": "secret",
            "max_retries": 0,
            "export_data_account_codes": ["1000", "2000", "4000"],
            **overrides,
        }


class _Replay(BaseHTTPRequestHandler):
    server: ReplayServer

    def do_POST(self) -> None:
        call = ET.fromstring(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.calls.append(call)
        route = self.server.routes.get(call.get("method", ""))
        name = route.pop(0) if isinstance(route, list) and len(route) > 1 else route
        if isinstance(name, list):
            name = name[0]
        if name is None:
            self.send_error(404, "no fixture for this method")
            return
        body = (FIXTURES / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
