"""How a tap talks HTTP: the network environment read once, a wall-clock deadline, certificate failures fatal.

Why an adapter: ``requests``' ``timeout`` bounds each socket read, not a whole request, so a server
that trickles one byte a second keeps a request (and a scheduled run) alive forever. The adapter reads
every body against a deadline instead, cutting the socket timeout to what is left before each read.

Why the environment is read here, once: the SDK sends prepared requests through ``Session.send``,
which never reads ``REQUESTS_CA_BUNDLE`` and re-reads the proxy variables on every request (profiled
as the largest cost of one-request-per-record endpoints). A tap talks to one host, so resolving
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``, ``HTTP(S)_PROXY`` and ``NO_PROXY`` once per
session honours the standard environment at no cost per page.

Why a certificate failure is fatal: retrying cannot make this process trust a CA it does not know;
the one line names the host and the two variables that fix it.
"""

from __future__ import annotations

import os
import sys
import time
import typing as t
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError

from landing_tap_kit.stopping import waiting_on_source

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: Bytes asked for per read; ``read1`` returns whatever already arrived, so this is only an upper bound.
READ_CHUNK = 1 << 20


class CertificateError(FatalAPIError):
    """The server's TLS certificate did not verify: retrying cannot help, so the run stops at once."""


def url_without_secrets(url: str) -> str:
    """Scheme, host, port and path: names the endpoint; query strings and userinfo never leave here."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def certificate_failure_message(url: str, exc: BaseException) -> str:
    """One line naming the host, OpenSSL's reason, and the two variables that fix it."""
    host = urlsplit(url).netloc
    text = str(exc)
    start = text.find("certificate verify failed")
    reason = text[start : text.find(")", start)] if start >= 0 else ""
    detail = f" ({reason})" if reason else ""
    return (
        f"the TLS certificate of {host} could not be verified{detail}: set REQUESTS_CA_BUNDLE or SSL_CERT_FILE "
        "to the CA bundle that signs it (for example your company's TLS-inspecting proxy CA)"
    )


def is_certificate_failure(exc: BaseException) -> bool:
    """True when TLS verification failed (as opposed to a reset or a protocol error during the handshake)."""
    return isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc)


class DeadlineAdapter(HTTPAdapter):
    """Gives up on a request a fixed number of seconds after it was sent, however slowly the body arrives.

    The limit is ``seconds`` when given, else the ``timeout`` the caller passes to ``send`` (the SDK
    passes the stream's ``timeout``). A blown deadline raises ``requests.ReadTimeout``, which the SDK
    retries like any other timeout; a certificate failure raises :class:`CertificateError` (never retried).
    """

    def __init__(self, seconds: float | None = None) -> None:
        """Keep requests' default pool; ``seconds`` overrides the per-call timeout as the wall-clock limit."""
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
        """Send, then read the body as it arrives until the deadline (a stop signal meanwhile acts at once)."""
        limit = self.seconds if self.seconds is not None else (timeout[0] if isinstance(timeout, tuple) else timeout)
        with waiting_on_source():
            if limit is None or stream:
                return self._send(request, stream, timeout, verify, cert, proxies)
            started = time.monotonic()
            response = self._send(request, True, limit, verify, cert, proxies)
            try:
                body = read_body_before(response, started + limit, limit)
            except BaseException:
                response.close()
                raise
        # How requests itself caches a body it has read: ``response.content`` then returns it.
        response._content = body  # noqa: SLF001 requests' body cache: the body was read against the deadline
        response._content_consumed = True  # type: ignore[attr-defined]  # noqa: SLF001 requests' body cache
        response.raw.release_conn()
        return response

    def _send(  # noqa: PLR0917 - HTTPAdapter.send's positional signature
        self,
        request: requests.PreparedRequest,
        stream: bool,
        timeout: float | tuple[float, float] | tuple[float, None] | None,
        verify: bool | str,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None,
        proxies: Mapping[str, str] | None,
    ) -> requests.Response:
        try:
            return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        except requests.exceptions.SSLError as exc:
            if is_certificate_failure(exc):
                raise CertificateError(certificate_failure_message(request.url or "", exc)) from None
            raise


def read_body_before(response: requests.Response, deadline: float, limit: float) -> bytes:
    """The whole (decoded) body, or ``requests.ReadTimeout`` once ``deadline`` (monotonic) has passed."""
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    chunks: list[bytes] = []
    where = url_without_secrets(response.url or (response.request.url if response.request else "") or "")
    message = f"no complete answer within request_timeout={limit:g} s from {where}"
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise requests.ReadTimeout(message, request=response.request, response=response)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = raw.read1(READ_CHUNK, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except ReadTimeoutError as exc:
        raise requests.ReadTimeout(message, request=response.request, response=response) from exc
    except ProtocolError as exc:  # a connection dropped mid-body
        raise requests.exceptions.ChunkedEncodingError(exc, request=response.request, response=response) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc, request=response.request, response=response) from exc
    except Urllib3SSLError as exc:
        raise requests.exceptions.SSLError(exc, request=response.request, response=response) from exc


def prepare_session(session: requests.Session, url: str, request_timeout: float | None = None) -> requests.Session:
    """Resolve proxies and CA bundle for ``url`` once, then serve every request through the deadline adapter.

    ``SSL_CERT_FILE`` (OpenSSL's and curl's variable) is the fallback after ``REQUESTS_CA_BUNDLE`` /
    ``CURL_CA_BUNDLE``: requests ships certifi's bundle and ignores it, which surprises operators behind a
    TLS-inspecting proxy. ``trust_env`` is then switched off so ``Session.send`` does not redo it per page.
    ``request_timeout``: the wall-clock limit; unset, the ``timeout`` each ``send`` is given.
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
    return session


def environment_session(url: str, request_timeout: float | None = None) -> requests.Session:
    """A new session prepared by :func:`prepare_session`."""
    return prepare_session(requests.Session(), url, request_timeout)


def describe_request_error(exc: BaseException, *, source: str, url_setting: str = "api_url") -> str:
    """One line for the operator: what failed and where, never a credential (URLs lose their query).

    ``source`` names the vendor ("ZenGRC"), ``url_setting`` the setting to check when it is unreachable.
    """
    request = getattr(exc, "request", None)
    url = url_without_secrets(request.url) if request is not None and request.url else None
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.exceptions.SSLError) and url:
        reason = exc.args[0] if exc.args else exc
        cause = str(getattr(reason, "reason", reason)).split(": ", 1)[-1]
        return f"cannot reach {source} at {url} ({cause}); check `{url_setting}`"
    if isinstance(exc, requests.Timeout) and url:
        if "request_timeout=" in str(exc):
            return str(exc)
        return f"{source} did not answer within `request_timeout` at {url}"
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
