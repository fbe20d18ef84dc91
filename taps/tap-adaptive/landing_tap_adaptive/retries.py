"""Retries bounded in attempts and in time without progress, Retry-After honoured (tap contract §1).

The SDK's backoff hooks (``backoff_wait_generator``, ``backoff_max_tries``, ``backoff_jitter``,
``backoff_handler``) carry the policy; :meth:`RetryBudgetStream.request_decorator` adds the clock.
"""

from __future__ import annotations

import itertools
import logging
import time
import typing as t
from functools import wraps

import backoff
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from landing_tap_adaptive.transport import host_of, is_certificate_failure, retry_after_seconds

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, RequestFunc

#: Failures the SDK's backoff retries (its own list, plus our deadline which is a Timeout).
RETRIABLE_ERRORS = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class GaveUpError(FatalAPIError):
    """Retries ran out (``max_retries`` or ``max_retry_seconds``): one line naming URL, attempts and cause."""


class RetryBudgetStream(RESTStream[t.Any]):
    """A REST stream whose retries stop after ``max_retries`` or ``max_retry_seconds`` without progress."""

    #: Named in retry warnings instead of the request (whose body holds the credentials).
    method: t.ClassVar[str]
    #: Seconds of failed attempts and waits since the last good response (max_retry_seconds): time lost
    #: in a row, not in total, so a long read that meets many honoured 429s is not killed for it.
    retry_spent = 0.0
    #: Attempts of the request in flight.
    attempts = 0

    @property
    def retry_budget(self) -> float:
        """``max_retry_seconds``: failed attempts plus waits since the last good response (without progress)."""
        return float(self.config.get("max_retry_seconds", 600))

    @override
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """The SDK's backoff, with attempts timed against the budget without progress and one line on give-up.

        A good response is progress: it sets the time spent back to zero. A stream that keeps progressing
        still ends, when its data ends; one that stops progressing ends within ``max_retry_seconds``.
        """

        @wraps(func)
        def attempt(prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            started = time.monotonic()
            self.attempts += 1
            try:
                response = func(prepared_request, context)
            except requests.exceptions.SSLError as exc:
                if is_certificate_failure(exc):
                    host = host_of(prepared_request.url or self.url_base)
                    msg = (
                        f"certificate verification failed for {host}: set REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) "
                        "to the CA bundle that signs it"
                    )
                    raise FatalAPIError(msg) from None
                self.retry_spent += time.monotonic() - started
                raise
            except RETRIABLE_ERRORS:
                self.retry_spent += time.monotonic() - started
                raise
            self.attempts = 0
            self.retry_spent = 0.0  # progress: only time lost in a row counts
            return response

        # The SDK's own decorator with the same hooks, but backoff's give-up log at DEBUG: the one ERROR
        # line of a failed run is the tap's own "gave up on ..." (tap contract §1).
        retried = backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_ERRORS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=self.logger,
            giveup_log_level=logging.DEBUG,
        )(attempt)

        @wraps(func)
        def call(prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
            try:
                return retried(prepared_request, context)
            except RETRIABLE_ERRORS as exc:  # max_retries reached
                limit = f"max_retries={self.backoff_max_tries() - 1}"
                url = prepared_request.url or self.url_base
                raise GaveUpError(self.gave_up_line(url, exc, limit)) from None

        return call

    def gave_up_line(self, url: str | None, cause: BaseException | str, limit: str) -> str:
        """``gave up on <url> after <n> attempts in <s> s without progress (<limit>): <cause>`` (no secret in it)."""
        url = url or self.url_base
        spent = f"{self.retry_spent:.0f} s without progress"
        return f"gave up on {url} after {self.attempts} attempts in {spent} ({limit}): {cause}"

    @override
    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        attempt = itertools.count()
        base = float(self.config.get("retry_base_seconds", 2.0))
        cap = float(self.config.get("max_retry_wait_seconds", 60.0))

        def wait(exc: Exception) -> float:
            n = next(attempt)
            response = getattr(exc, "response", None)
            asked = retry_after_seconds(response)
            # The server's Retry-After is a floor, never capped: retrying sooner is refused anyway.
            seconds = asked if asked is not None else float(min(base * 2**n, cap))
            left = self.retry_budget - self.retry_spent
            if seconds > left:
                cause = f"{exc}; the server asked to wait {asked:g} s" if asked is not None else exc
                raise GaveUpError(self.gave_up_line(_url_of(exc), cause, f"max_retry_seconds={self.retry_budget:g}"))
            self.retry_spent += seconds
            return seconds

        return self.backoff_runtime(value=wait)

    @override
    def backoff_max_tries(self) -> int:
        return int(float(self.config.get("max_retries", 5))) + 1

    @override
    def backoff_jitter(self, value: float) -> float:
        return value

    @override
    def backoff_handler(self, details: Details) -> None:
        # The SDK's handler logs the call's args; ours names only the method and the error, never the body.
        self.logger.warning(
            "%s: retrying in %.1f s after attempt %d: %s",
            self.method,
            details.get("wait") or 0.0,
            details.get("tries", 0),
            details.get("exception"),
        )


def _url_of(exc: BaseException) -> str | None:
    """The URL a failed attempt went to (RetriableAPIError carries the response, requests errors the request)."""
    response = getattr(exc, "response", None)
    request = getattr(response, "request", None) or getattr(exc, "request", None)
    return getattr(request, "url", None)
