"""A Snowflake stand-in the unchanged MeltanoLabs loader reaches: fakesnow's server behind a TLS proxy.

Usage (in the fakesnow venv): ``python standin.py WORKDIR``. Prints one JSON line once ready::

    {"proxy": "http://127.0.0.1:P", "ca": "WORKDIR/ca.pem", "fakesnow_port": F}

target-snowflake 0.20.4 has no host/port/protocol settings: its connector always opens
``https://<account>.snowflakecomputing.com:443``. It does honour ``HTTPS_PROXY``/``HTTP_PROXY`` and
``REQUESTS_CA_BUNDLE`` (vendored ``requests`` with ``trust_env``), so this process is that proxy:

- ``CONNECT <account>.snowflakecomputing.com:443`` -> TLS terminated with a certificate for the
  host, signed by a CA made here (``ca.pem``, trusted through ``REQUESTS_CA_BUNDLE``); the HTTP
  requests inside go to fakesnow's server (plain HTTP, ``fakesnow -s``) unchanged. CONNECTs to any
  other host are refused (403) and recorded, so a test sees every host the loader tried.
- absolute-form ``http://...`` requests (how the connector uploads a staged file to the GCS-style
  presigned URL fakesnow hands out for ``PUT``) are forwarded to fakesnow the same way.
- origin-form requests are the test's own: ``GET /traffic`` returns what the loader sent and got
  back (every SQL text with its bindings and fakesnow's answer, every upload), ``POST /sql`` runs
  SQL on the same fakesnow databases and returns the rows.

No statement is rewritten: what fakesnow cannot run fails exactly as it fails, and the test reads
that failure from the traffic log (docs/snowflake.md, "Snowflake stand-in").
"""

from __future__ import annotations

import datetime
import gzip
import http.client
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import fakesnow.server
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SNOWFLAKE_DOMAIN = ".snowflakecomputing.com"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "proxy-authorization"}


def make_certificates(workdir: Path) -> tuple[Path, Path, Path]:
    """A CA (written to ca.pem for the client) and a server certificate for *.snowflakecomputing.com."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "snowflake stand-in test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "*" + SNOWFLAKE_DOMAIN)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("*" + SNOWFLAKE_DOMAIN)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = workdir / "ca.pem", workdir / "server.pem", workdir / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


class Traffic:
    """What the loader sent through the proxy, in order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connects: list[str] = []
        self.requests: list[dict[str, Any]] = []

    def add_connect(self, target: str) -> None:
        with self._lock:
            self.connects.append(target)

    def add_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"connects": list(self.connects), "requests": list(self.requests)}


def read_head(stream: BinaryIO) -> tuple[str, str, list[tuple[str, str]]] | None:
    """Request line and headers of the next request, or None at end of stream."""
    line = stream.readline()
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = []
    while (header := stream.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return method, target, headers


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def read_body(stream: BinaryIO, headers: list[tuple[str, str]]) -> bytes:
    if (header(headers, "transfer-encoding") or "").lower() == "chunked":
        chunks = []
        while size := int(stream.readline().split(b";")[0], 16):
            chunks.append(stream.read(size))
            stream.readline()
        while stream.readline() not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)
    return stream.read(int(header(headers, "content-length") or 0))


def decoded_json(body: bytes, headers: list[tuple[str, str]]) -> Any:
    if (header(headers, "content-encoding") or "").lower() == "gzip":
        body = gzip.decompress(body)
    try:
        return json.loads(body)
    except ValueError:
        return None


class Standin(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fakesnow_port: int, tls: ssl.SSLContext, workdir: Path) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.fakesnow_port = fakesnow_port
        self.tls = tls
        self.workdir = workdir
        self.traffic = Traffic()
        self.uploads = 0


class ProxyHandler(socketserver.StreamRequestHandler):
    server: Standin

    def handle(self) -> None:
        head = read_head(self.rfile)
        if head is None:
            return
        method, target, headers = head
        if method == "CONNECT":
            self.tunnel(target, headers)
        elif target.startswith("http://"):
            host = urlsplit(target).hostname or ""
            if host.endswith(SNOWFLAKE_DOMAIN):
                self.forward(self.rfile, self.wfile, head, scheme="http")
            else:
                # e.g. the connector's cloud platform probes (169.254.169.254): no such service here
                self.server.traffic.add_request({"scheme": "http", "host": host, "method": method, "status": 404})
                self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            self.admin(method, target, read_body(self.rfile, headers))

    def tunnel(self, target: str, headers: list[tuple[str, str]]) -> None:
        self.server.traffic.add_connect(target)
        host = target.rsplit(":", 1)[0]
        if not host.endswith(SNOWFLAKE_DOMAIN):
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        try:
            tls = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused our certificate: visible to the test as a CONNECT without requests
        reader, writer = tls.makefile("rb"), tls.makefile("wb")
        while (head := read_head(reader)) is not None:
            if not self.forward(reader, writer, head, scheme="https"):
                break

    def forward(
        self, reader: BinaryIO, writer: BinaryIO, head: tuple[str, str, list[tuple[str, str]]], scheme: str
    ) -> bool:
        """Send one request to fakesnow and its answer back; record both. False when the client closes."""
        method, target, headers = head
        body = read_body(reader, headers)
        parts = urlsplit(target)
        path = parts.path + (f"?{parts.query}" if parts.query else "") if parts.scheme else target
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.fakesnow_port, timeout=300)
        upstream.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                upstream.putheader(name, value)
        upstream.putheader("Content-Length", str(len(body)))
        upstream.endheaders(body)
        response = upstream.getresponse()
        answer = response.read()
        upstream.close()
        self.record(scheme, method, path, headers, body, response.status, response.getheaders(), answer)
        writer.write(f"HTTP/1.1 {response.status} {response.reason}\r\n".encode("latin-1"))
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                writer.write(f"{name}: {value}\r\n".encode("latin-1"))
        writer.write(f"Content-Length: {len(answer)}\r\n\r\n".encode("latin-1") + answer)
        writer.flush()
        return (header(headers, "connection") or "").lower() != "close" and scheme == "https"

    def record(
        self,
        scheme: str,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        status: int,
        response_headers: list[tuple[str, str]],
        answer: bytes,
    ) -> None:
        entry: dict[str, Any] = {"scheme": scheme, "method": method, "path": path, "status": status}
        if path.startswith("/queries/v1/query-request"):
            request = decoded_json(body, headers) or {}
            reply = decoded_json(answer, response_headers) or {}
            entry["sql"] = request.get("sqlText")
            entry["bindings"] = request.get("bindings")
            entry["success"] = reply.get("success")
            entry["message"] = reply.get("message")
        elif path.startswith("/fs_bucket/"):
            self.server.uploads += 1
            saved = self.server.workdir / f"upload-{self.server.uploads}"
            saved.write_bytes(body)
            entry["saved"] = str(saved)
        self.server.traffic.add_request(entry)

    def admin(self, method: str, target: str, body: bytes) -> None:
        if method == "GET" and target == "/traffic":
            payload: Any = self.server.traffic.snapshot()
        elif method == "POST" and target == "/sql":
            payload = run_sql(json.loads(body))
        else:
            self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        data = json.dumps(payload, default=str).encode()
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        self.wfile.write(f"Content-Length: {len(data)}\r\n\r\n".encode() + data)


def run_sql(statements: list[str]) -> list[dict[str, Any]]:
    """Each statement's rows (as dicts) or its error, on the databases the loader wrote."""
    conn = fakesnow.server.shared_fs.connect(None, None)
    results: list[dict[str, Any]] = []
    for sql in statements:
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            names = [column[0].lower() for column in cursor.description or []]
            results.append({"rows": [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]})
        except Exception as exc:
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    return results


def main(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_certificates(workdir)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        fakesnow_port = probe.getsockname()[1]
    config = uvicorn.Config(fakesnow.server.app, host="127.0.0.1", port=fakesnow_port, log_level="warning")
    snowflake = uvicorn.Server(config)
    threading.Thread(target=snowflake.run, name="fakesnow server", daemon=True).start()
    while not snowflake.started:
        time.sleep(0.05)
    standin = Standin(fakesnow_port, tls, workdir)
    host, port = standin.server_address[:2]
    ready = {"proxy": f"http://{host}:{port}", "ca": str(ca), "fakesnow_port": fakesnow_port}
    print(json.dumps(ready), flush=True)
    standin.serve_forever()


if __name__ == "__main__":
    socket.setdefaulttimeout(600)
    main(Path(sys.argv[1]))
