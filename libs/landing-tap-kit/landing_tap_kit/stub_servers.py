"""Tiny local HTTP(S) servers for what the emulator does not model: fixed pages, trickled bodies, TLS, a proxy.

The tap is still tested through real sockets; these servers only answer with bytes a test chose
(public sample responses, a pagination cycle, a body sent one byte at a time).
"""

from __future__ import annotations

import http.client
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Page:
    """One canned answer."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds between single bytes of the body (0: send it at once).
    trickle: float = 0.0


class StubServer:
    """Serves ``pages`` keyed by ``path`` or ``path?query``; 404 ``{"message": "Not Found"}`` otherwise."""

    def __init__(self, pages: dict[str, Page] | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.pages: dict[str, Page] = dict(pages or {})
        self.requests: list[str] = []
        self.connections = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                stub.requests.append(self.path)
                parts = urlsplit(self.path)
                page = stub.pages.get(f"{parts.path}?{parts.query}") or stub.pages.get(parts.path)
                if page is None:
                    page = Page(b'{"message": "Not Found"}', status=404)
                self.send_response(page.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(page.body)))
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    if page.trickle:
                        for byte in page.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(page.trickle)
                    else:
                        self.wfile.write(page.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> Any:
                stub.connections += 1
                return super().get_request()

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client refusing our certificate is what TLS tests expect

        self.server = Server(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Origin, e.g. ``http://127.0.0.1:40123``."""
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class ForwardProxy:
    """A plain-HTTP forward proxy that counts what passes through it (``HTTP_PROXY`` tests)."""

    def __init__(self) -> None:
        self.forwarded: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.forwarded.append(self.path)
                target = urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"proxy-connection", "connection"}}
                upstream.request("GET", f"{target.path}?{target.query}", headers=headers)
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

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ForwardProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key (openssl CLI; no Python crypto package needed)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
