"""One retry behaviour for every HTTP tap, built on the SDK's backoff hooks.

- ``Retry-After`` is read in both forms RFC 9110 allows (delta-seconds and HTTP-date) on any retried
  response (429, 503…) and is never shortened or capped: retrying before the server allows only earns
  another 429. The SDK itself does not read the header (``shared/reference/meltano-notes.md`` §5b).
- Without the header: exponential backoff from ``retry_base_seconds``, each step capped at 60 s, with
  "equal jitter" (a random 50-100 % of the step), so parallel jobs hitting one vendor do not retry in step.
  A 429 without the header waits ``rate_limit_default_wait`` when the tap has that setting.
- ``max_retry_seconds`` bounds time *without progress*: failed attempts plus waits since the last good
  response. Every success starts it afresh, so a long backfill that honours a 429 before many of its
  pages keeps going; a wait that does not fit in what is left is not started (the stream fails at once).
- ``max_retries`` (when the tap has it) bounds the attempts at one request.
- Giving up is one line: ``gave up on <url> after <n> attempts in <s> s without progress (<limit>): <cause>``.

:class:`RetryingRESTStream` wires this into ``RESTStream``'s public hooks (``request_decorator``,
``backoff_wait_generator``, ``backoff_jitter``, ``backoff_max_tries``, ``backoff_handler``); taps that are
not REST streams use :func:`retrying` directly.
"""

from __future__ import annotations

import functools
import random
import sys
import time
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property

import backoff
import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams import RESTStream

from landing_tap_kit.transport import describe_request_error, url_without_secrets

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping

    from backoff.types import Details

_TToken = t.TypeVar("_TToken")

DEFAULT_MAX_RETRY_SECONDS = 600.0
DEFAULT_RETRY_BASE_SECONDS = 2.0
#: Cap of one exponential step (a ``Retry-After`` is never capped: the budget bounds it).
MAX_EXPONENTIAL_WAIT = 60.0
#: Try limit when a tap bounds retries by time only (backoff wants a number; the budget ends retries first).
UNBOUNDED_TRIES = 1_000_000

#: What the SDK's ``request_decorator`` retries; a missed deadline is a ``requests.Timeout``.
RETRIABLE_ERRORS: tuple[type[Exception], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class GaveUpError(FatalAPIError):
    """A request kept failing until ``max_retries`` or ``max_retry_seconds`` ran out: the line says where and why."""


def retry_after_seconds(response: requests.Response | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds, from either form RFC 9110 allows; ``None`` when absent or unreadable."""
    told = response.headers.get("Retry-After") if response is not None else None
    if not told:
        return None
    try:
        return max(0.0, float(told))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(told)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def number_setting(config: Mapping[str, t.Any], name: str, default: float | None) -> float | None:
    """A numeric setting as a float: Meltano may hand it over as a JSON number or a numeric string."""
    value = config.get(name)
    return default if value is None or value == "" else float(value)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before each retry, and when to stop."""

    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS
    #: Retries of one request; ``None``: only the time budget bounds them.
    max_retries: int | None = None
    base_seconds: float = DEFAULT_RETRY_BASE_SECONDS
    max_exponential_seconds: float = MAX_EXPONENTIAL_WAIT
    #: Wait after a 429 without ``Retry-After``; ``None``: back off exponentially as for a 5xx.
    default_429_seconds: float | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, t.Any], **defaults: t.Any) -> RetryPolicy:
        """The policy from the settings every tap names alike; ``defaults`` are the tap's own defaults.

        ``max_retry_seconds``, ``max_retries``, ``retry_base_seconds``, ``rate_limit_default_wait``; a tap
        without one of these settings simply never sets it.
        """
        policy = cls(**defaults)
        retries = number_setting(config, "max_retries", policy.max_retries)
        return cls(
            max_retry_seconds=number_setting(config, "max_retry_seconds", policy.max_retry_seconds) or 0.0,
            max_retries=None if retries is None else int(retries),
            base_seconds=number_setting(config, "retry_base_seconds", policy.base_seconds) or 0.0,
            max_exponential_seconds=policy.max_exponential_seconds,
            default_429_seconds=number_setting(config, "rate_limit_default_wait", policy.default_429_seconds),
        )

    @property
    def max_tries(self) -> int:
        """Attempts at one request (the first plus the retries), as backoff counts them."""
        return UNBOUNDED_TRIES if self.max_retries is None else self.max_retries + 1

    def wait(self, exc: BaseException | None, attempt: int) -> tuple[float, bool]:
        """Seconds to wait before retry number ``attempt + 1``, and whether the server said so."""
        response = getattr(exc, "response", None)
        told = retry_after_seconds(response if isinstance(response, requests.Response) else None)
        if told is not None:
            return told, True
        status = getattr(response, "status_code", None)
        if status == 429 and self.default_429_seconds is not None:
            return self.default_429_seconds, False
        step = min(self.max_exponential_seconds, self.base_seconds * 2.0**attempt)
        return step * random.uniform(0.5, 1.0), False


class RetryBudget:
    """Seconds one stream may spend without progress: failed attempts and waits since its last good response."""

    def __init__(self, limit_seconds: float) -> None:
        """Nothing spent yet."""
        self.limit_seconds = limit_seconds
        self.spent = 0.0
        self._attempt_started: float | None = None
        #: Why the last give-up happened, when the budget (not the try limit) caused it.
        self.exhausted_because: str | None = None

    @property
    def remaining(self) -> float:
        """Seconds left."""
        return self.limit_seconds - self.spent

    def start_attempt(self) -> None:
        """An attempt begins: its time counts if it fails."""
        self._attempt_started = time.monotonic()

    def progress(self) -> None:
        """A good response arrived: the time lost before it no longer counts against the next one."""
        self.spent = 0.0
        self._attempt_started = None
        self.exhausted_because = None

    def charge_failed_attempt(self) -> None:
        """The attempt failed: its duration is spent."""
        if self._attempt_started is not None:
            self.spent += time.monotonic() - self._attempt_started
            self._attempt_started = None


def budgeted_waits(policy: RetryPolicy, budget: RetryBudget) -> Generator[float, t.Any, None]:
    """Wait generator for backoff: the policy's waits, each charged to ``budget``; ends when one would not fit."""
    attempt = 0
    exc = yield 0.0  # primed by backoff, then sent each exception
    while True:
        wait, told = policy.wait(exc, attempt)
        if wait > budget.remaining:
            asked = "the server asked to wait" if told else "the next wait would be"
            budget.exhausted_because = f"{asked} {wait:g} s, {max(budget.remaining, 0):.1f} s were left"
            return
        budget.spent += wait
        attempt += 1
        exc = yield wait


def retrying(
    func: Callable[..., t.Any],
    *,
    policy: RetryPolicy,
    budget: RetryBudget,
    describe: Callable[[BaseException], str] = str,
    on_backoff: Callable[[Details], None] | None = None,
    retriable: tuple[type[Exception], ...] = RETRIABLE_ERRORS,
    where: Callable[[tuple[t.Any, ...]], str] | None = None,
) -> Callable[..., t.Any]:
    """``func`` retried on ``retriable`` errors by ``policy`` and charged to ``budget``, or :class:`GaveUpError`.

    ``describe`` words the last error for the give-up line; ``where`` names the endpoint from the call's
    arguments (default: the ``url`` of the first argument, a prepared request, without its query).
    """

    def give_up_now(_exc: Exception) -> bool:
        budget.charge_failed_attempt()
        if budget.remaining <= 0:
            budget.exhausted_because = "spent"
            return True
        return False

    def give_up(details: Details) -> None:
        raised: object = details.get("exception")  # backoff's Details does not declare it
        exc = raised if isinstance(raised, BaseException) else None
        args = tuple(details.get("args") or ())
        if where is not None:
            endpoint = where(args)
        else:
            url = getattr(args[0], "url", None) if args else None
            endpoint = url_without_secrets(str(url)) if url else "the source"
        if budget.exhausted_because is None:
            limit = f"max_retries={policy.max_tries - 1}"
        else:
            limit = f"max_retry_seconds={budget.limit_seconds:g}"
            if budget.exhausted_because != "spent":
                limit += f"; {budget.exhausted_because}"
        cause = describe(exc) if exc is not None else "unknown error"
        msg = (
            f"gave up on {endpoint} after {details['tries']} attempts in {budget.spent:.1f} s without progress "
            f"({limit}): {cause}"
        )
        raise GaveUpError(msg) from exc

    decorate = backoff.on_exception(
        functools.partial(budgeted_waits, policy, budget),
        retriable,
        max_tries=policy.max_tries,
        giveup=give_up_now,
        on_try=lambda _details: budget.start_attempt(),
        on_success=lambda _details: budget.progress(),
        on_backoff=on_backoff,
        on_giveup=give_up,
        jitter=None,  # the policy's waits are final: jitter is in the exponential steps, never on Retry-After
        logger=None,
    )
    decorated: Callable[..., t.Any] = decorate(func)
    return decorated


class RetryingRESTStream(RESTStream[_TToken]):
    """A ``RESTStream`` whose retries follow :class:`RetryPolicy` and one :class:`RetryBudget` per stream.

    Override :attr:`retry_policy` to set the tap's defaults, :meth:`describe_retry_error` to word causes.
    """

    #: Names the vendor in "cannot reach <source> at <url>" lines.
    source_name: t.ClassVar[str] = "the source"
    #: The setting an operator checks when the host is unreachable.
    url_setting: t.ClassVar[str] = "api_url"

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """The policy from this stream's config (see :meth:`RetryPolicy.from_config`)."""
        return RetryPolicy.from_config(self.config)

    @cached_property
    def retry_budget(self) -> RetryBudget:
        """Time without progress of this stream (``max_retry_seconds``)."""
        return RetryBudget(self.retry_policy.max_retry_seconds)

    def describe_retry_error(self, exc: BaseException) -> str:
        """The cause in the give-up line and in retry warnings: what failed and where, never a credential."""
        return describe_request_error(exc, source=self.source_name, url_setting=self.url_setting)

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """``HTTP <status> <reason> from <url>``: the same words in every tap, no body, no query string."""
        url = response.request.url if response.request is not None else response.url
        return f"HTTP {response.status_code} {response.reason} from {url_without_secrets(url or '')}"

    @override
    def request_decorator(self, func: Callable[..., t.Any]) -> Callable[..., t.Any]:
        """The SDK's retry decorator, with the kit's policy, budget and one-line give-up."""
        return retrying(
            func,
            policy=self.retry_policy,
            budget=self.retry_budget,
            describe=self.describe_retry_error,
            on_backoff=self.backoff_handler,
        )

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """The policy's waits charged to the stream's budget (see :func:`budgeted_waits`)."""
        return budgeted_waits(self.retry_policy, self.retry_budget)

    @override
    def backoff_jitter(self, value: float) -> float:
        """No jitter on top: Retry-After is waited as told; exponential steps carry their own."""
        # Retry-After is waited as told; the exponential steps carry their own jitter (RetryPolicy.wait).
        return value

    @override
    def backoff_max_tries(self) -> int:
        """``max_retries`` + 1 when the tap bounds tries, else effectively unbounded (the budget ends retries)."""
        return self.retry_policy.max_tries

    @override
    def backoff_handler(self, details: Details) -> None:
        """One WARNING per retry, with the cause as worded for the operator."""
        # A retry is expected weather, not an error: WARNING, with the cause as worded for the operator.
        raised: object = details.get("exception")
        cause = self.describe_retry_error(raised) if isinstance(raised, BaseException) else "unknown error"
        self.logger.warning(
            "Retrying in %.2f s (attempt %d failed): %s", details.get("wait", 0.0), details["tries"], cause
        )
