"""The one base stream of tap-zendesk, its pagination families, and the side-loaded child base.

Zendesk has three ways of paging (../shared/sources/zendesk.md §3.2-3.3), so there is one base per
family, in the manner of MeltanoLabs/tap-zendesk:

- :class:`CursorListStream`: list endpoints with cursor pagination — ``page[size]`` (≤ 100), follow
  ``links.next`` while ``meta.has_more``;
- :class:`CursorExportStream`: ``/incremental/<x>/cursor.json`` — ``start_time`` once, then
  ``cursor=after_cursor`` until ``end_of_stream`` (1000 per page, the API maximum);
- :class:`TimeExportStream`: ``/incremental/<x>.json`` — ``start_time=end_time`` until ``end_of_stream``.

Everything else (URL, auth, error classification, Retry-After-aware backoff, JSON parsing) lives on
:class:`ZendeskStream`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Generator, Iterable
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import orjson
import singer_sdk.singerlib as singer
from requests.utils import get_environ_proxies
from singer_sdk import Stream
from singer_sdk.authenticators import BasicAuthenticator, BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError, SkippableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator, BaseHATEOASPaginator
from singer_sdk.streams import RESTStream
from typing_extensions import override

from tap_zendesk import settings

if TYPE_CHECKING:
    from urllib.parse import ParseResult

    import requests
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, Record

#: Zendesk's maximum page for incremental exports (tickets, users, organizations, metric events).
EXPORT_PAGE_SIZE = 1000
#: Exports reject a start_time less than a minute old (§3.2); stay a second clear of it.
EXPORT_MIN_AGE = 61
#: Ceiling on exponential waits for 5xx / connection errors without a Retry-After.
MAX_EXPONENTIAL_WAIT = 60.0
_PAYLOAD = "_zendesk_payload"


class PlanGatedError(SkippableAPIError):
    """403 on an endpoint the account's plan does not include (SLA policies, Talk, CSAT…)."""


class RecordGoneError(SkippableAPIError):
    """404 on a child endpoint: the parent was deleted between the export and this request."""


def response_json(response: requests.Response) -> dict[str, Any]:
    """Return the page's JSON, parsed once with orjson and cached on the response.

    Both ``parse_response`` and the paginator need it; parsing a 1000-ticket page twice would cost
    more than everything else the tap does with it.
    """
    cached: dict[str, Any] | None = getattr(response, _PAYLOAD, None)
    if cached is None:
        cached = orjson.loads(response.content)
        setattr(response, _PAYLOAD, cached)
    return cached


def where(response: requests.Response) -> str:
    """Return the URL without query string: names the endpoint, never carries credentials."""
    parts = urlsplit(response.url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def zendesk_error(response: requests.Response) -> str:
    """Zendesk's own explanation from an error body (``error``/``description``), if any."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.reason or ""
    if not isinstance(body, dict):
        return response.reason or ""
    error: Any = body.get("error")
    description: Any = body.get("description")
    if isinstance(error, dict):
        error, description = error.get("title"), error.get("message")
    return ": ".join(str(part) for part in (error, description) if part) or (response.reason or "")


def drop_unknown(row: Record, known: frozenset[str], stream: Stream) -> Record:
    """Remove top-level fields the schema does not know (Zendesk adds fields over time).

    The SDK's conformance pass would do this field by field; a set difference does it in one step.
    """
    extra = row.keys() - known
    if extra:
        _report_unknown(stream.name, tuple(sorted(extra)), stream.logger)
        for key in extra:
            del row[key]
    return row


@lru_cache
def _report_unknown(stream_name: str, fields: tuple[str, ...], logger: logging.Logger) -> None:
    logger.warning("Fields %s of '%s' are not in the schema; not emitted", fields, stream_name)


class CursorPagePaginator(BaseHATEOASPaginator):
    """Cursor pagination: ``links.next`` while ``meta.has_more``; a body without ``meta`` is one page."""

    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        payload = response_json(response)
        if not (payload.get("meta") or {}).get("has_more"):
            return None
        return (payload.get("links") or {}).get("next")


class ExportCursorPaginator(BaseAPIPaginator[str | None]):
    """Cursor-based export: the next token is ``after_cursor`` until ``end_of_stream``."""

    @override
    def get_next(self, response: requests.Response) -> str | None:
        payload = response_json(response)
        return None if payload.get("end_of_stream") else payload.get("after_cursor")


class TimeExportPaginator(BaseAPIPaginator[int | None]):
    """Time-based export: the next ``start_time`` is ``end_time`` until ``end_of_stream``."""

    @override
    def get_next(self, response: requests.Response) -> int | None:
        payload = response_json(response)
        return None if payload.get("end_of_stream") else payload.get("end_time")


class ZendeskStream(RESTStream[Any]):
    """Base of every Zendesk Support API stream."""

    #: The response key holding the records (``tickets``, ``audits``, ``phone_numbers``…).
    records_key: ClassVar[str]
    #: Plan-gated endpoint: a 403 skips the stream with one warning instead of failing the run.
    optional: ClassVar[bool] = False
    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    #: Zendesk already sends JSON types, so the SDK's per-field conformance pass (the largest cost
    #: per record in profiles) is skipped; :meth:`post_process` drops unknown top-level fields instead,
    #: and nested objects (``via``, ``metadata``…) pass through whole.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Response fields kept past :meth:`post_process` although not in the schema (side-loads that
    #: ``generate_child_contexts`` takes out for child streams).
    side_loads: ClassVar[frozenset[str]] = frozenset()

    @property
    @override
    def url_base(self) -> str:
        return settings.api_url(self.config)

    @cached_property
    @override
    def authenticator(self) -> BasicAuthenticator | BearerTokenAuthenticator:
        """API token (Basic ``{email}/token:{api_token}``) when given, else OAuth Bearer (§3.1)."""
        if self.config.get("api_token"):
            return BasicAuthenticator(username=f"{self.config['email']}/token", password=self.config["api_token"])
        return BearerTokenAuthenticator(token=self.config["access_token"])

    @property
    @override
    def requests_session(self) -> requests.Session:
        """The SDK's session, with proxy settings read from the environment once, for our one host.

        ``requests`` otherwise re-reads every environment variable three times per request (its
        proxy lookup), which profiles as the largest cost of the one-request-per-ticket audits.
        """
        session = super().requests_session
        if session.trust_env:
            session.proxies.update(get_environ_proxies(self.url_base))
            session.trust_env = False
        return session

    @cached_property
    @override
    def http_headers(self) -> dict[str, str]:
        """Built once: the version lookup behind the User-Agent reads package metadata from disk."""
        return {"Accept": "application/json", "User-Agent": f"tap-zendesk/{self._tap.plugin_version}"}

    @property
    @override
    def timeout(self) -> int:
        return int(self.config.get("request_timeout") or 300)

    @property
    def page_size(self) -> int:
        """``page[size]`` for cursor-paginated lists (Zendesk caps them at 100)."""
        return int(self.config.get("page_size") or 100)

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        url = where(response)
        if status == 429 or status >= 500:
            raise RetriableAPIError(f"HTTP {status} {response.reason} from {url}", response)
        if status < 400:
            try:
                response_json(response)
            except orjson.JSONDecodeError as exc:
                raise RetriableAPIError(f"unparseable JSON page from {url}: {exc}", response) from None
            return
        detail = zendesk_error(response)
        if status == 401:
            msg = (
                f"HTTP 401 Unauthorized from {url} ({detail}): Zendesk rejected the credentials; "
                "check the email + api_token (or access_token) settings for this account"
            )
            raise FatalAPIError(msg)
        if status == 403 and self.optional:
            raise PlanGatedError(f"HTTP 403 from {url} ({detail})")
        if status == 403:
            msg = f"HTTP 403 Forbidden from {url} ({detail}): incremental exports need an admin's credentials"
            raise FatalAPIError(msg)
        raise FatalAPIError(f"HTTP {status} {response.reason} from {url}: {detail}")

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        yield from response_json(response).get(self.records_key) or ()

    @cached_property
    def nothing_deselected(self) -> bool:
        """Whether the catalog keeps every property of this stream (the usual ``<stream>.*`` select)."""
        return all(self.mask.values())

    @override
    def _generate_record_messages(self, record: Record) -> Generator[singer.RecordMessage, None, None]:
        """Skip the SDK's per-record deselection walk when nothing is deselected.

        SDK 0.54 walks every record and each nested object to drop deselected properties; for a
        ticket that walk is ~30% of the tap's per-record cost in profiles, and a no-op when the
        catalog selects every property. Type conformance is off (``NONE``), so what remains is what
        the SDK does next: the stream maps, then one RECORD message per map. Otherwise: the SDK's path.
        """
        if not self.nothing_deselected:
            yield from super()._generate_record_messages(record)
            return
        extracted = datetime.now(UTC)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=extracted,
                )

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return drop_unknown(row, self.known_fields, self)

    @cached_property
    def known_fields(self) -> frozenset[str]:
        """Top-level fields emitted (the schema's) plus side-loads taken out later."""
        return frozenset(self.schema["properties"]) | self.side_loads

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        try:
            yield from super().get_records(context)
        except PlanGatedError as exc:
            self.logger.warning("Skipping stream '%s': not available on this Zendesk plan — %s", self.name, exc)
        except RecordGoneError as exc:
            self.logger.debug("Skipping %s for %s: %s", self.name, context, exc)

    # -- retries: Zendesk says how long to wait (Retry-After), the SDK's backoff does the waiting ---

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Yield the waits of one request's retries; ending makes backoff give up and re-raise.

        429 (and 503 with the header) wait exactly ``Retry-After`` seconds (§3.4); a 429 without it
        waits ``rate_limit_default_wait``; other transient errors back off exponentially with jitter.
        The sum of waits is bounded by ``max_retry_seconds``.
        """
        budget = float(self.config.get("max_retry_seconds", settings.DEFAULT_MAX_RETRY_SECONDS))
        default_wait = float(self.config.get("rate_limit_default_wait", settings.DEFAULT_RATE_LIMIT_WAIT))
        spent, attempt = 0.0, 0
        exc = yield  # type: ignore[misc]  # primed by backoff, then sent each exception
        while True:
            wait = self._wait_for(exc, attempt, default_wait)
            if spent + wait > budget:
                return
            spent += wait
            attempt += 1
            exc = yield wait

    @staticmethod
    def _wait_for(exc: BaseException, attempt: int, default_wait: float) -> float:
        response = exc.response if isinstance(exc, RetriableAPIError) else None
        if response is not None:
            told = response.headers.get("Retry-After")
            if told is not None:
                try:
                    return max(0.0, float(told))
                except ValueError:
                    pass  # an HTTP-date: fall through to the default
            if response.status_code == 429:
                return default_wait
        return min(MAX_EXPONENTIAL_WAIT, 2.0**attempt) * random.uniform(0.5, 1.0)

    @override
    def backoff_jitter(self, value: float) -> float:
        """No jitter on top: a told wait is waited exactly (jitter is already in exponential waits)."""
        return value

    @override
    def backoff_max_tries(self) -> int:
        return 20  # the time budget in backoff_wait_generator is the real bound

    @override
    def backoff_handler(self, details: Details) -> None:
        exc = details.get("exception")
        reason = str(exc) if exc else "error"
        self.logger.warning("Retrying in %.1fs (try %d): %s", details.get("wait", 0.0), details.get("tries", 0), reason)


class CursorListStream(ZendeskStream):
    """List endpoints with cursor pagination.

    Streams with a replication key filter rows older than the bookmark client-side, as the singer-io
    tap does: these endpoints have no server-side ``updated_at`` filter, so each run pages the whole
    (small) list and emits only what changed.
    """

    @override
    def get_new_paginator(self) -> CursorPagePaginator:
        return CursorPagePaginator()

    @override
    def get_url_params(self, context: Context | None, next_page_token: ParseResult | None) -> dict[str, Any]:
        if next_page_token is not None:
            return dict(parse_qsl(next_page_token.query))
        return {"page[size]": self.page_size}

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        if self.replication_key and row.get(self.replication_key):
            since = self.get_starting_timestamp(context)
            if since is not None and settings.parse_datetime(row[self.replication_key]) < since:
                return None
        return super().post_process(row, context)


class ExportStream(ZendeskStream):
    """Incremental exports: sorted by their timestamp, so state is resumable mid-stream."""

    is_sorted = True
    #: A STATE message after every full export page: a run that dies re-reads at most one page.
    STATE_MSG_FREQUENCY = EXPORT_PAGE_SIZE

    @property
    @override
    def check_sorted(self) -> bool:
        """Trust the export order instead of enforcing it.

        Exports are ordered by their timestamp (the cursor encodes it); a tie or clock skew on
        Zendesk's side must not abort a daily load.
        """
        return False

    def start_time(self, context: Context | None) -> int:
        """Unix seconds to export from: the bookmark, else ``start_date``; never under a minute old."""
        value = self.get_starting_replication_key_value(context)
        if value is None:
            value = self.config["start_date"]
        moment = value if isinstance(value, int) else int(settings.parse_datetime(value).timestamp())
        return min(moment, int(time.time()) - EXPORT_MIN_AGE)


class CursorExportStream(ExportStream):
    """``/incremental/<x>/cursor.json``: ``start_time`` once, then ``cursor`` (§3.2)."""

    @override
    def get_new_paginator(self) -> ExportCursorPaginator:
        return ExportCursorPaginator(None)

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict[str, Any]:
        if next_page_token:
            return {"cursor": next_page_token, "per_page": EXPORT_PAGE_SIZE}
        return {"start_time": self.start_time(context), "per_page": EXPORT_PAGE_SIZE}


class TimeExportStream(ExportStream):
    """``/incremental/<x>.json``: ``start_time`` = previous ``end_time`` until ``end_of_stream``.

    Items sharing a page-boundary timestamp come twice (§3.2); loaders upsert on the primary key.
    """

    @override
    def get_new_paginator(self) -> TimeExportPaginator:
        return TimeExportPaginator(None)

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        start = next_page_token if next_page_token is not None else self.start_time(context)
        return {"start_time": start, "per_page": EXPORT_PAGE_SIZE}


class SideloadedStream(Stream):
    """Records that arrive inside the parent's response (ticket metric sets, audit comments).

    No request of their own: the parent puts them in the child context under :attr:`context_key`.
    Their bookmark is the parent's, so they keep no state of their own.
    """

    context_key: ClassVar[str]
    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    state_partitioning_keys: ClassVar[tuple[str, ...]] = ()
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from (context or {}).get(self.context_key) or ()

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return drop_unknown(row, self.known_fields, self)

    @cached_property
    def known_fields(self) -> frozenset[str]:
        """Top-level fields emitted: the schema's."""
        return frozenset(self.schema["properties"])
