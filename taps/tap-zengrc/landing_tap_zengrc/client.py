"""The one base stream of tap-zengrc: URL, auth, paging, parsing, retries and error classification.

Facts from ``../shared/sources/zengrc.md``: every collection is ``GET /api/v2/<collection>`` with the
records under ``data`` and the next page as a server-relative ``links.next.href`` that clients append
to the origin verbatim (§2.4); HTTP Basic with the API key id/secret (§2.2); no server-side
"changed since" filter exists (§2.5), so every stream is FULL_TABLE.
"""

from __future__ import annotations

import sys
import time
import typing as t
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from urllib.parse import parse_qsl, urljoin, urlsplit

import backoff
import orjson
import requests
import singer_sdk.singerlib as singer
from requests.auth import HTTPBasicAuth
from singer_sdk import RESTStream
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseHATEOASPaginator

from landing_tap_zengrc.records import EXTRA_FIELDS, RecordConformer
from landing_tap_zengrc.transport import certificate_failure_message, environment_session, is_certificate_failure

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable
    from urllib.parse import ParseResult

    from backoff.types import Details
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

#: Cap of one exponential backoff step (a ``Retry-After`` is never cut: the retry budget bounds it).
MAX_BACKOFF_SECONDS = 60.0
DEFAULT_REQUEST_TIMEOUT = 300
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_RETRY_SECONDS = 600.0
DEFAULT_RETRY_BASE_SECONDS = 2.0
VENDOR_URL = "https://{tenant}.api.zengrc.com/api/v2"
#: Every stream's schema carries it (issue 11 §3): what the API sent that the schema does not declare.
EXTRA_FIELDS_PROPERTY = th.Property(
    EXTRA_FIELDS,
    th.ObjectType(additional_properties=True),
    description="Top-level fields the API sent that this schema does not declare, and drifted values, as sent.",
)
#: What the SDK retries (its own list), with our wall-clock timeout among them as a ``requests.Timeout``.
RETRIABLE_ERRORS: tuple[type[Exception], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
_BODY = "_zengrc_body"


def decoded_body(response: requests.Response) -> dict[str, t.Any]:
    """The page's JSON, decoded once (validation, parsing and paging all need it)."""
    body: dict[str, t.Any] = response.__dict__[_BODY]
    return body


def number_setting(config: t.Mapping[str, t.Any], name: str, default: float) -> float:
    """A numeric setting as a float: Meltano may hand it over as a JSON number or as a numeric string."""
    value = config.get(name)
    return default if value is None or value == "" else float(value)


class EndpointNotAvailableError(FatalAPIError):
    """403/404 on a stream's first request: the account's plan or API key lacks this collection."""


class RetriesExhaustedError(FatalAPIError):
    """A request kept failing until ``max_retries`` or ``max_retry_seconds`` ran out."""


class CertificateVerificationError(FatalAPIError):
    """The server's TLS certificate is not trusted by this process: fatal at once, never retried."""


class PaginationCycleError(RuntimeError):
    """``links.next`` pointed at a page this stream already read: following it would loop forever."""


class ZenGRCNextLinkPaginator(BaseHATEOASPaginator):
    """Follows ``links.next.href``; stops on null, a missing key or an empty href (§2.4).

    Remembers every page it read, so a cycle of any length (1 -> 2 -> 1) ends the stream with an error
    rather than duplicates forever; the SDK itself only notices a page that links to itself.
    """

    def __init__(self, stream_name: str) -> None:
        """Start with no page read."""
        super().__init__()
        self.stream_name = stream_name
        self.pages_read: set[str] = set()

    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        current = urlsplit(response.request.url or "")
        self.pages_read.add(f"{current.path}?{current.query}")
        links = decoded_body(response).get("links") or {}
        next_link = links.get("next") if isinstance(links, dict) else None
        href = next_link.get("href") if isinstance(next_link, dict) else None
        if not href or not isinstance(href, str):
            return None
        target = urlsplit(href)
        if f"{target.path}?{target.query}" in self.pages_read:
            msg = (
                f"stream {self.stream_name}: pagination cycle: links.next points back to {href}, "
                "a page already read in this run"
            )
            raise PaginationCycleError(msg)
        return href

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        # An empty page that still links onwards is followed: stopping there would end the stream early
        # and then announce its version as complete, retiring the rows of the pages never read.
        return True


class RetryBudget:
    """Seconds a stream may spend without progress: failed attempts and waits since its last good page.

    ``max_retry_seconds`` bounds time lost in a row, not in total: a long backfill that answers an
    honoured 429 before many of its pages keeps going, because every good page resets what was spent.
    A stream that makes progress still ends, when its data ends (pagination cycles are caught).
    """

    def __init__(self, limit_seconds: float) -> None:
        """Nothing spent yet."""
        self.limit_seconds = limit_seconds
        self.spent = 0.0
        self._attempt_started: float | None = None
        #: Why the last give-up happened, when the budget (not ``max_retries``) caused it.
        self.exhausted_because: str | None = None

    @property
    def remaining(self) -> float:
        """Seconds left."""
        return self.limit_seconds - self.spent

    def start_attempt(self) -> None:
        """An attempt begins: its time counts if it fails."""
        self._attempt_started = time.monotonic()

    def progress(self) -> None:
        """A page arrived: the time lost before it no longer counts against the next one."""
        self.spent = 0.0
        self._attempt_started = None

    def charge_failed_attempt(self) -> None:
        """The attempt failed: its duration is spent."""
        if self._attempt_started is not None:
            self.spent += time.monotonic() - self._attempt_started
            self._attempt_started = None


class ZenGRCStream(RESTStream["ParseResult"]):
    """Base of every ZenGRC collection stream.

    Streams are FULL_TABLE: the API offers no way to ask for changed records only, so each run pages
    the whole collection. Deletions therefore surface through ``ACTIVATE_VERSION`` (emitted once the
    stream completed, see :meth:`get_records`): the loader marks rows missing from the new version as deleted.
    """

    primary_keys: t.ClassVar[t.Sequence[str]] = ("id",)
    replication_key = None
    #: Records come straight from JSON and :mod:`landing_tap_zengrc.records` already checked every top-level
    #: type: the SDK's conformance would only re-walk them (40% of the tap's CPU in profiles).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """A fresh retry budget and page count per stream."""
        super().__init__(*args, **kwargs)
        self.retry_budget = RetryBudget(number_setting(self.config, "max_retry_seconds", DEFAULT_MAX_RETRY_SECONDS))
        self.pages_read = 0
        #: Set when the account lacks this collection (403/404 on the first request).
        self.skipped_because: str | None = None

    @override
    @cached_property
    def url_base(self) -> str:
        return resolve_api_url(self.config)

    @cached_property
    def origin(self) -> str:
        """Scheme and host of the API: ``links.next.href`` already contains ``/api/v2/...``."""
        parts = urlsplit(self.url_base)
        return f"{parts.scheme}://{parts.netloc}"

    @override
    @cached_property
    def requests_session(self) -> requests.Session:
        return environment_session(self.url_base)

    @override
    @cached_property
    def authenticator(self) -> HTTPBasicAuth:
        return HTTPBasicAuth(self.config["username"], self.config["password"])

    @override
    @property
    def timeout(self) -> int:
        """Wall-clock seconds for one whole request, body included (see ``transport.DeadlineAdapter``)."""
        return int(number_setting(self.config, "request_timeout", DEFAULT_REQUEST_TIMEOUT))

    @override
    @property
    def user_agent(self) -> str:
        return str(self.config.get("user_agent") or "tap-zengrc")

    @override
    def get_new_paginator(self) -> ZenGRCNextLinkPaginator:
        return ZenGRCNextLinkPaginator(self.name)

    @override
    def get_url_params(self, context: Context | None, next_page_token: ParseResult | None) -> dict[str, t.Any]:
        if next_page_token is not None:
            return dict(parse_qsl(next_page_token.query))
        page_size = self.config.get("page_size")
        return {"page_size": page_size} if page_size else {}

    @override
    def get_url(self, context: Context | None) -> str:
        return self.url_base + self.path

    @override
    def get_http_request(self, *, page: PageContext[ParseResult]) -> HTTPRequest:
        request = super().get_http_request(page=page)
        token = page.next_page_token
        if token is not None:
            # The href is opaque: follow its path too, not only its query.
            request.url = urljoin(self.origin, token.path)
        return request

    # -- responses -------------------------------------------------------------------------------

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify errors, and decode the body here so that a broken page is retried like a 5xx."""
        status = response.status_code
        if status == 401:
            msg = (
                f"ZenGRC rejected the API key (HTTP 401 at {self._where(response)}): "
                "check the `username` (API key id) and `password` (API key secret) settings"
            )
            raise FatalAPIError(msg)
        if status in {403, 404} and self.pages_read == 0:
            msg = f"HTTP {status} at {self._where(response)}: this account's plan or API key does not include it"
            raise EndpointNotAvailableError(msg)
        if status == 403:
            msg = f"the ZenGRC API key may no longer read {self._where(response)} (HTTP 403): grant it read access"
            raise FatalAPIError(msg)
        if status == 404:
            msg = f"ZenGRC has no page at {self._where(response)} (HTTP 404) although earlier pages were read"
            raise FatalAPIError(msg)
        super().validate_response(response)
        response.__dict__[_BODY] = self._decode(response)

    def _decode(self, response: requests.Response) -> dict[str, t.Any]:
        content = response.content
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            try:
                # orjson refuses invalid UTF-8 outright; replacing the bad bytes keeps the page.
                body = orjson.loads(content.decode("utf-8", errors="replace"))
            except orjson.JSONDecodeError as exc:
                msg = f"malformed or truncated JSON from {self._where(response)} ({len(content)} bytes: {exc})"
                raise RetriableAPIError(msg, response) from exc
            self.logger.warning("Replaced invalid UTF-8 bytes in the page from %s", self._where(response))
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            msg = f"unexpected page shape from {self._where(response)}: no `data` list"
            raise RetriableAPIError(msg, response)
        return body

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return f"HTTP {response.status_code} {response.reason} from {self._where(response)}"

    @staticmethod
    def _where(response: requests.Response) -> str:
        """The request URL (credentials travel in a header, never in the URL)."""
        return str(response.request.url if response.request is not None else response.url)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        self.pages_read += 1
        records: list[dict[str, t.Any]] = decoded_body(response)["data"]
        return records

    @cached_property
    def start_date(self) -> str | None:
        """`start_date` as a UTC ISO string, comparable with the emitted `updated_at` values."""
        value = self.config.get("start_date")
        return datetime.fromisoformat(value).astimezone(UTC).isoformat() if value else None

    @cached_property
    def conformer(self) -> RecordConformer:
        """Keeps undeclared fields and repairs drifted types (:mod:`landing_tap_zengrc.records`)."""
        return RecordConformer(self.name, self.schema["properties"], self.logger)

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        row = self.conformer.conform(row)
        if self.start_date and (row.get("updated_at") or self.start_date) < self.start_date:
            return None
        return row

    @cached_property
    def _deselects_nothing(self) -> bool:
        """True when the catalog selects every property (the usual case)."""
        return all(selected for breadcrumb, selected in self.mask.items() if breadcrumb)

    @override
    def _generate_record_messages(self, record: dict[str, t.Any]) -> Generator[singer.RecordMessage, None, None]:
        """The SDK's record pipeline, minus the per-record selection walk when nothing is deselected.

        That walk visits every nested dict of every record and cost a fifth of the tap's CPU in
        profiles (bench/bench_zengrc.py); with a full selection it removes nothing.
        """
        if not self._deselects_nothing:
            pop_deselected_record_properties(record, self.schema, self.mask)
        for stream_map in self.stream_maps:
            mapped_record = stream_map.transform(record)
            if mapped_record is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped_record,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    # -- retries ---------------------------------------------------------------------------------

    @override
    def request_decorator(self, func: Callable[..., t.Any]) -> Callable[..., t.Any]:
        """The SDK's retry loop, plus a time budget without progress and an immediate stop on certificate failures.

        ``max_retries`` bounds the attempts at one page, ``max_retry_seconds`` the time the stream spends
        failing and waiting since its last good page (a success starts it afresh); whichever runs out
        first ends the stream in one line (:meth:`_give_up`).
        """
        budget = self.retry_budget
        decorate = backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_ERRORS,
            max_tries=self.backoff_max_tries,
            giveup=self._should_give_up,
            on_try=lambda _details: budget.start_attempt(),
            on_success=lambda _details: budget.progress(),
            on_backoff=self.backoff_handler,
            on_giveup=self._give_up,
            jitter=self.backoff_jitter,
            logger=None,
        )
        decorated: Callable[..., t.Any] = decorate(func)
        return decorated

    def _should_give_up(self, exc: Exception) -> bool:
        """Called after every failed attempt, before any wait."""
        budget = self.retry_budget
        budget.charge_failed_attempt()
        if is_certificate_failure(exc):
            return True
        if budget.remaining <= 0:
            budget.exhausted_because = "spent"
            return True
        return False

    def _give_up(self, details: Details) -> None:
        """Replace the last error by one line that says what was tried, for how long, and why it stopped."""
        # backoff's Details type does not declare the "exception" an on_giveup handler receives.
        raised: object = details.get("exception")
        exc = raised if isinstance(raised, BaseException) else None
        args = details.get("args") or ()
        url = str(getattr(args[0], "url", None) or self.get_url(None)) if args else self.get_url(None)
        if exc is not None and is_certificate_failure(exc):
            raise CertificateVerificationError(certificate_failure_message(url, exc)) from exc
        budget = self.retry_budget
        if budget.exhausted_because is None:
            limit = f"max_retries={self.backoff_max_tries() - 1}"
        else:
            limit = f"max_retry_seconds={budget.limit_seconds:g}"
            if budget.exhausted_because != "spent":
                limit += f"; {budget.exhausted_because}"
        cause = describe_error(exc) if exc is not None else "unknown error"
        msg = (
            f"gave up on {url} after {details['tries']} attempts in {budget.spent:.1f} s without progress "
            f"({limit}): {cause}"
        )
        raise RetriesExhaustedError(msg) from exc

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """Wait at least what ``Retry-After`` says; otherwise back off exponentially from ``retry_base_seconds``.

        A wait that would not fit in what is left of the retry budget (since the last good page) is not started: the
        stream gives up at once instead (returning ends backoff's retries).
        """
        base = number_setting(self.config, "retry_base_seconds", DEFAULT_RETRY_BASE_SECONDS)
        budget = self.retry_budget
        attempt = 0
        exception = yield 0.0
        while True:
            told = _retry_after_seconds(exception)
            wait = told if told is not None else min(base * 2**attempt, MAX_BACKOFF_SECONDS)
            if wait > budget.remaining:
                asked = "the server asked to wait" if told is not None else "the next wait would be"
                budget.exhausted_because = f"{asked} {wait:g} s, {max(budget.remaining, 0):.1f} s were left"
                return
            budget.spent += wait
            attempt += 1
            exception = yield wait

    @override
    def backoff_jitter(self, value: float) -> float:
        # Exact waits: Retry-After must be honoured as told, and one tap is no thundering herd.
        return value

    @override
    def backoff_handler(self, details: Details) -> None:
        # A retry is expected weather, not an error: WARNING, with the cause as we worded it.
        self.logger.warning(
            "Retrying in %.2f s (attempt %d failed): %s",
            details.get("wait", 0.0),
            details["tries"],
            details.get("exception", "unknown error"),
        )

    @override
    def backoff_max_tries(self) -> int:
        return int(number_setting(self.config, "max_retries", DEFAULT_MAX_RETRIES)) + 1

    # -- deletions -------------------------------------------------------------------------------

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # Never at the start of the stream (the SDK default): a loader soft-deletes every older row
        # on ACTIVATE_VERSION, and a run that then crashed would leave live rows marked deleted.
        return False

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Yield the collection, then activate the new table version: only once every record was sent.

        A collection the account lacks (403/404 before any page was read) is skipped with one warning
        and, having sent nothing, announces no version: its table keeps its rows.
        """
        announce = bool(self.config.get("emit_activate_version_messages", True))
        if announce:
            self._stream_version = self._initialized_at // 1000
        try:
            yield from super().get_records(context)
        except EndpointNotAvailableError as exc:
            self.skipped_because = str(exc)
            self.logger.warning("stream %s skipped: %s", self.name, exc)
            self._refuse_if_every_stream_was_missing()
            return
        # Reached only when the last record has been written and no page failed.
        if announce and self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)

    def _refuse_if_every_stream_was_missing(self) -> None:
        """Fail the run when the last selected stream is skipped and so were all the others.

        One collection answering 403/404 is an account without that module; all of them answering
        so is a wrong `api_url` or a key without rights, and must not pass as an empty success.
        """
        selected = [stream for stream in self._tap.streams.values() if stream.selected]
        if len(selected) < 2 or selected[-1] is not self:
            return
        if all(isinstance(stream, ZenGRCStream) and stream.skipped_because for stream in selected):
            msg = (
                f"every selected stream answered HTTP 403/404 (the last: {self.skipped_because}): "
                "check `api_url` and the API key's read rights"
            )
            raise FatalAPIError(msg)


def _retry_after_seconds(exception: t.Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date form), if the error carries one."""
    response = getattr(exception, "response", None)
    header = response.headers.get("Retry-After") if response is not None else None
    if not header:
        return None
    try:
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:  # the HTTP-date form
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def describe_error(exc: BaseException) -> str:
    """One line for the operator: what failed and where, never a credential."""
    if (
        isinstance(exc, requests.ConnectionError)
        and not isinstance(exc, requests.exceptions.SSLError)
        and exc.request is not None
    ):
        reason = exc.args[0] if exc.args else exc
        cause = str(getattr(reason, "reason", reason)).split(": ", 1)[-1]
        return f"cannot reach ZenGRC at {exc.request.url} ({cause}); check `api_url`"
    if isinstance(exc, requests.Timeout) and exc.request is not None:
        if "request_timeout=" in str(exc):
            return str(exc)
        return f"ZenGRC did not answer within `request_timeout` at {exc.request.url}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def resolve_api_url(config: t.Mapping[str, t.Any]) -> str:
    """`api_url`, else GitLab's `base_url`, else the vendor URL built from `tenant`."""
    url = config.get("api_url") or config.get("base_url")
    if not url and config.get("tenant"):
        url = VENDOR_URL.format(tenant=config["tenant"])
    if not url:
        msg = "set `api_url` (or `base_url`, or `tenant`): the ZenGRC API root, e.g. https://acme.api.zengrc.com/api/v2"
        raise ConfigValidationError(msg, errors=[msg])
    if not str(url).startswith(("http://", "https://")):
        msg = f"`api_url` must be an http(s) URL, got {url!r}"
        raise ConfigValidationError(msg, errors=[msg])
    return str(url).rstrip("/")
