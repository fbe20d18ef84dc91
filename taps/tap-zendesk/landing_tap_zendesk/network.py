"""The tap's one requests adapter and session setup: wall-clock deadlines, TLS and proxy environment.

Why an adapter: ``requests``' ``timeout`` bounds each socket read, not a whole request, so a server
that trickles one byte a second keeps a request alive forever. The adapter reads every body against
a deadline instead. Why the environment is read here once: ``requests`` re-reads the proxy and CA
variables three times per request when ``trust_env`` is on, which profiled as the largest cost of the
one-request-per-ticket audits; resolving them once per session (the tap talks to one host) keeps
``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, ``HTTP(S)_PROXY`` and ``NO_PROXY`` honoured at no cost.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError
from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Bytes asked for per read of a body; ``read1`` returns whatever has arrived, up to this.
READ_SIZE = 1 << 20


class CertificateError(FatalAPIError):
    """The server's TLS certificate did not verify: retrying cannot help, so the run stops at once."""


def url_without_secrets(url: str) -> str:
    """Scheme, host, port and path: names the endpoint; query strings and userinfo never leave here."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose requests end, body included, within ``seconds`` of being sent."""

    def __init__(self, seconds: float) -> None:
        """Keep requests' default pool; ``seconds`` is the wall-clock limit of one request."""
        super().__init__()
        self.seconds = seconds

    @override
    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send, then read the body in pieces as they arrive, failing once the deadline passes.

        A missed deadline raises ``requests.exceptions.ReadTimeout`` so the SDK retries it like any
        other timeout; a certificate failure raises :class:`CertificateError` (never retried).
        """
        deadline = time.monotonic() + self.seconds
        try:
            response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        except requests.exceptions.SSLError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                host = urlsplit(request.url or "").hostname
                msg = (
                    f"TLS certificate of {host} could not be verified ({_ssl_reason(exc)}); "
                    "if a proxy or a private CA signs it, point REQUESTS_CA_BUNDLE or SSL_CERT_FILE at that CA bundle"
                )
                raise CertificateError(msg) from None
            raise
        if stream:
            return response
        try:
            body = self._read_body(response, deadline)
        except BaseException:
            response.close()
            raise
        response._content = body  # what requests' own .content does
        response._content_consumed = True  # type: ignore[attr-defined]
        response.raw.release_conn()
        return response

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        """The whole body as it arrives; ``ReadTimeout`` once the deadline has passed."""
        pieces: list[bytes] = []
        raw: Any = response.raw
        while piece := raw.read1(READ_SIZE):
            pieces.append(piece)
            if time.monotonic() > deadline:
                where = url_without_secrets(response.request.url or "")
                msg = f"no complete response from {where} within request_timeout={self.seconds:g} s"
                raise requests.exceptions.ReadTimeout(msg, request=response.request, response=response)
        return b"".join(pieces)


def _ssl_reason(exc: requests.exceptions.SSLError) -> str:
    text = str(exc)
    start = text.find("certificate verify failed")
    if start < 0:
        return "certificate verify failed"
    end = text.find(")", start)
    return text[start : end if end > 0 else None]


def prepare_session(session: requests.Session, url: str, request_timeout: float) -> None:
    """Resolve proxies and CA bundle for ``url`` once, then serve every request through the deadline adapter.

    ``SSL_CERT_FILE`` is read as a fallback after ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``: requests
    itself ships certifi's bundle and ignores it, which surprises operators behind a TLS-inspecting proxy.
    """
    if session.trust_env:
        settings = session.merge_environment_settings(url, {}, None, None, None)
        session.proxies.update(settings["proxies"])
        verify = settings["verify"]
        if verify is True and os.environ.get("SSL_CERT_FILE"):
            verify = os.environ["SSL_CERT_FILE"]
        session.verify = verify
        session.trust_env = False
    adapter = DeadlineAdapter(request_timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
