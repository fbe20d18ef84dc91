"""HTTP plumbing under the one base stream: wall-clock deadlines, the standard environment, Retry-After.

Why not plain ``requests``: the SDK sends with ``Session.send``, which applies a per-socket-read timeout
(a server trickling one byte a second never trips it) and, unlike ``Session.request``, never reads
``REQUESTS_CA_BUNDLE``. Both are fixed here once per session, not per request (issue 10 §5, §7).
"""

from __future__ import annotations

import os
import time
import typing as t
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: Body read size: large enough that a 100 MB exportData response costs ~100 reads, small enough that a
#: trickling server is checked against the deadline after every byte it manages to send.
READ_CHUNK = 1 << 20


class DeadlineExceededError(requests.exceptions.Timeout):
    """A whole request (connect, headers and body) took longer than ``request_timeout``.

    A :class:`requests.exceptions.Timeout`, so the SDK's backoff retries it like any other timeout.
    """


class DeadlineAdapter(HTTPAdapter):
    """Sends with ``stream=True`` and reads the body in chunks against one wall-clock deadline.

    The ``timeout`` the SDK passes (``request_timeout``) becomes the deadline of the whole request; the
    socket timeout is lowered to what is left of it before every read, so neither a silent server nor a
    trickling one can hold a request longer than the limit (plus one socket read at most).
    """

    @override
    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: t.Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send, then read the body before returning (``stream`` is ignored: callers want the content)."""
        limit = float(timeout[0] if isinstance(timeout, tuple) else timeout or 300)
        deadline = time.monotonic() + limit
        response = super().send(request, stream=True, timeout=limit, verify=verify, cert=cert, proxies=proxies)
        try:
            response._content = self._read_body(response, deadline, limit)  # requests caches the body here
        finally:
            response.close()
        return response

    @staticmethod
    def _read_body(response: requests.Response, deadline: float, limit: float) -> bytes:
        raw = response.raw
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        chunks: list[bytes] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                msg = f"{response.url}: no complete response within request_timeout={limit:g} s"
                raise DeadlineExceededError(msg, response=response)
            if sock is not None:
                sock.settimeout(left)
            try:
                chunk = raw.read1(READ_CHUNK)
            except Exception as exc:
                # urllib3 errors (timeouts, resets) mid-body: surface them as requests' own types.
                if "timed out" in str(exc).lower():
                    msg = f"{response.url}: no complete response within request_timeout={limit:g} s"
                    raise DeadlineExceededError(msg, response=response) from None
                raise requests.exceptions.ChunkedEncodingError(str(exc), response=response) from None
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def ca_bundle_from_environment() -> str | None:
    """``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` as requests reads them, then OpenSSL's ``SSL_CERT_FILE``."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def session_for(url: str) -> requests.Session:
    """A session for one API host: deadline adapter mounted, proxies and CA bundle resolved once.

    ``trust_env`` is switched off afterwards so requests does not re-read the environment (and re-run
    its proxy-bypass checks) on every request: what it would have found is already on the session.
    """
    session = requests.Session()
    adapter = DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies = dict(settings.get("proxies") or {})
    bundle = ca_bundle_from_environment()
    session.verify = bundle if bundle else True
    session.trust_env = False
    return session


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP-date), or None."""
    if response is None:
        return None
    header = response.headers.get("Retry-After")
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def is_certificate_failure(exc: BaseException) -> bool:
    """Whether an SSL error is a failed certificate verification (fatal at once, never retried)."""
    return isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc)


def host_of(url: str) -> str:
    """Host (and port) of a URL, for messages."""
    return urlsplit(url).netloc or url
