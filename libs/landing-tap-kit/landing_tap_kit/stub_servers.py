"""Tiny local HTTP(S) servers for tests: canned answers, trickled or cut bodies, TLS, a forward proxy.

What an emulator does not model (a public sample response, a pagination cycle, a body sent one byte at
a time, an untrusted certificate) is still tested through real sockets: these servers only answer with
bytes a test chose. Every server listens on a free port of 127.0.0.1.
"""

from __future__ import annotations

import http.client
import ssl
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import socket
    from pathlib import Path


@dataclass
class Page:
    """One canned answer."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds between single bytes of the body (0: send it at once).
    trickle: float = 0.0
    #: Send only this many bytes of the body, then close the connection (a drop mid-body).
    cut_after: int | None = None


#: What a path answers: one page every time, or pages in turn (the last one repeats).
Answer = Page | list[Page]


class StubServer:
    """Serves ``pages`` by ``path?query`` or ``path`` (GET or POST); otherwise 404 ``{"message": "Not Found"}``."""

    def __init__(self, pages: dict[str, Answer] | None = None, tls: tuple[Path, Path] | None = None) -> None:
        """``tls``: (certificate, key) to serve HTTPS with."""
        self.pages: dict[str, Answer] = dict(pages or {})
        #: Request targets (path and query) in arrival order.
        self.requests: list[str] = []
        self.connections = 0
        self._served: dict[str, int] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                stub.requests.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                page = stub.answer(self.path)
                self.send_response(page.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(page.body)))
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                body = page.body if page.cut_after is None else page.body[: page.cut_after]
                try:
                    if page.trickle:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(page.trickle)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if page.cut_after is not None:
                    self.wfile.flush()
                    self.close_connection = True

            do_POST = do_GET

            @override
            def log_message(self, format: str, *args: t.Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            @override
            def get_request(self) -> tuple[socket.socket, t.Any]:
                stub.connections += 1
                return super().get_request()

            @override
            def handle_error(self, request: t.Any, client_address: t.Any) -> None:
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

    def answer(self, target: str) -> Page:
        """The page for ``target`` (``path?query`` first, then ``path``); a list is served in turn."""
        parts = urlsplit(target)
        key = f"{parts.path}?{parts.query}"
        if key not in self.pages:
            key = parts.path
        answer = self.pages.get(key)
        if answer is None:
            return Page(b'{"message": "Not Found"}', status=404)
        if isinstance(answer, Page):
            return answer
        served = self._served.get(key, 0)
        self._served[key] = served + 1
        return answer[min(served, len(answer) - 1)]

    @property
    def url(self) -> str:
        """Origin, e.g. ``http://127.0.0.1:40123``."""
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StubServer:
        """Start serving in a daemon thread."""
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


class ForwardProxy:
    """A plain-HTTP forward proxy that records what passes through it (``HTTP_PROXY`` tests)."""

    def __init__(self) -> None:
        """Listen on a free port; :attr:`forwarded` lists each absolute URL it carried."""
        self.forwarded: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.forwarded.append(self.path)
                target = urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"proxy-connection", "connection"}}
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else None
                upstream.request(self.command, f"{target.path}?{target.query}", body=payload, headers=headers)
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

            @override
            def log_message(self, format: str, *args: t.Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ForwardProxy:
        """Start forwarding in a daemon thread."""
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop and close the socket."""
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
