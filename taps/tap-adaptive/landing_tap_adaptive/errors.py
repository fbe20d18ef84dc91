"""What a ``success="false"`` envelope means, and the exceptions the streams raise for it.

Adaptive answers API-level failures with HTTP 200 and ``<message key=...>`` (adaptive.md §1, §4): the
key, not the status, says whether to stop, retry, or skip the stream.
"""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

if t.TYPE_CHECKING:
    import requests

    from landing_tap_adaptive.xmlapi import Envelope

#: wdadaptivepy raises InvalidCredentialsError on exactly this key (adaptive.md §4).
AUTH_FAILURE_KEY = "error-authentication-failure"
#: Adaptive limits concurrent requests per instance (adaptive.md §9.5); keys are undocumented: match words.
THROTTLE_WORDS = ("concurren", "throttl", "rate-limit", "too-many")
#: Feature-off / licence / permission failures (the contract's "plan-gated" 403/404 for an XML API that
#: answers HTTP 200): skipped with a warning if never read before, fatal if it was (complete_reads.py).
UNSUPPORTED_WORDS = ("permission", "not-enabled", "not-licensed", "feature", "unsupported", "not-supported")


class PermissionDeniedError(FatalAPIError):
    """The instance refuses this method (feature off, licence missing, permission denied)."""


class ConfigurationError(Exception):
    """A setting the instance contradicts (e.g. a version folder that does not exist)."""


def raise_for_envelope(envelope: Envelope, method: str, response: requests.Response, *, username: str) -> None:
    """Turn a ``success="false"`` envelope into the right exception, naming the message key (never a secret)."""
    where = f"{method} at {response.url}"
    message = envelope.messages[0] if envelope.messages else None
    key = message.key if message else "(no message)"
    text = message.text if message else "the API answered success=false"
    if key == AUTH_FAILURE_KEY:
        msg = (
            f"authentication failed for username {username!r} at {response.url} "
            f"({key}): check the `username` and `password` settings"
        )
        raise FatalAPIError(msg)
    lowered = key.lower()
    if any(word in lowered for word in THROTTLE_WORDS):
        raise RetriableAPIError(f"{where}: throttled ({key}: {text})", response)
    if any(word in lowered for word in UNSUPPORTED_WORDS):
        raise PermissionDeniedError(f"{where}: {key}: {text}")
    raise FatalAPIError(f"{where} failed ({key}): {text}")
