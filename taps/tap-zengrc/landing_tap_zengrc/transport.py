"""How tap-zengrc talks HTTP: one session per stream, the network environment read once, a wall-clock deadline.

Why not plain ``requests``: its ``timeout`` bounds each socket read, so a server that trickles one byte
a second never trips it and a run hangs forever (issue 10 §5). The SDK sends prepared requests through
``Session.send``, which never reads ``REQUESTS_CA_BUNDLE`` and re-reads the proxy variables on every
request; reading them once per session honours the standard environment at no cost per page.
"""

from __future__ import annotations

import os
import sys
import time
import typing as t
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: Bytes asked for per read; ``read1`` returns whatever already arrived, so this is only an upper bound.
READ_CHUNK = 1 << 20


class DeadlineAdapter(HTTPAdapter):
    """Gives up on a request ``timeout`` seconds after it started, however slowly the body arrives.

    The body is read with ``read1`` (one socket read at a time) and the socket's timeout is cut to the
    time left before each read, so neither a silent nor a trickling server can stretch the limit.
    A blown deadline raises ``requests.ReadTimeout``: the SDK retries it like any other timeout.
    """

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
        limit = timeout[0] if isinstance(timeout, tuple) else timeout
        if limit is None or stream:
            return super().send(request, stream, timeout, verify, cert, proxies)
        started = time.monotonic()
        response = super().send(request, stream=True, timeout=limit, verify=verify, cert=cert, proxies=proxies)
        # How requests itself caches a body it has read: `response.content` then returns it.
        response._content = read_body_before(response, started + limit, limit)
        response._content_consumed = True  # type: ignore[attr-defined]
        return response


def read_body_before(response: requests.Response, deadline: float, limit: float) -> bytes:
    """The whole body, or ``requests.ReadTimeout`` once ``deadline`` (monotonic) has passed."""
    raw = response.raw
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    chunks: list[bytes] = []
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                response.close()
                msg = f"no complete answer within request_timeout={limit:g} s from {response.url}"
                raise requests.ReadTimeout(msg, request=response.request, response=response)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = raw.read1(READ_CHUNK, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except ReadTimeoutError as exc:
        response.close()
        msg = f"no complete answer within request_timeout={limit:g} s from {response.url}"
        raise requests.ReadTimeout(msg, request=response.request, response=response) from exc
    except ProtocolError as exc:  # a connection dropped mid-body
        raise requests.exceptions.ChunkedEncodingError(exc, request=response.request, response=response) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc, request=response.request, response=response) from exc
    except SSLError as exc:
        raise requests.exceptions.SSLError(exc, request=response.request, response=response) from exc


def environment_session(url: str) -> requests.Session:
    """A session that honours the standard network variables for ``url``'s host, resolved once.

    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` and ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` exactly as
    ``requests`` reads them; ``SSL_CERT_FILE`` (OpenSSL's and curl's variable) when neither bundle
    variable is set, because operators behind a TLS-inspecting proxy set that one as often.
    Every request of a stream goes to the same host (``links.next.href`` is resolved against the API
    origin), so one resolution holds for the whole session; ``trust_env`` is then switched off so
    ``Session.send`` does not redo it for each page.
    """
    session = requests.Session()
    settings = session.merge_environment_settings(url, {}, None, None, None)
    verify = settings["verify"]
    if verify is True and os.environ.get("SSL_CERT_FILE"):
        verify = os.environ["SSL_CERT_FILE"]
    session.verify = verify
    session.proxies = dict(settings["proxies"])
    session.trust_env = False
    adapter = DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def is_certificate_failure(exc: BaseException) -> bool:
    """True when TLS verification failed: retrying cannot fix a CA the process does not trust."""
    return isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc)


def certificate_failure_message(url: str, exc: BaseException) -> str:
    """One line naming the host and the two variables that fix it."""
    host = urlsplit(url).netloc
    reason = str(exc).rsplit("CERTIFICATE_VERIFY_FAILED]", 1)[-1].split("(_ssl", 1)[0].strip(" ,:')\"")
    detail = f" ({reason})" if reason else ""
    return (
        f"the TLS certificate of {host} could not be verified{detail}: set REQUESTS_CA_BUNDLE or SSL_CERT_FILE "
        "to the CA bundle that signs it (for example your company's TLS-inspecting proxy CA)"
    )
