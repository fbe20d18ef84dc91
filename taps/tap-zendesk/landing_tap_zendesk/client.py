"""The one base stream of tap-zendesk, its pagination families, and the side-loaded child base.

Zendesk has three ways of paging (../shared/sources/zendesk.md §3.2-3.3), so there is one base per
family, in the manner of MeltanoLabs/tap-zendesk:

- :class:`CursorListStream`: list endpoints with cursor pagination — ``page[size]`` (≤ 100), follow
  ``links.next`` while ``meta.has_more``;
- :class:`CursorExportStream`: ``/incremental/<x>/cursor.json`` — ``start_time`` once, then
  ``cursor=after_cursor`` until ``end_of_stream`` (1000 per page, the API maximum);
- :class:`TimeExportStream`: ``/incremental/<x>.json`` — ``start_time=end_time`` until ``end_of_stream``.

Zendesk's own rules (URL, auth, which status means what, JSON parsing, plan-gated streams, when a full
table may retire rows) live on :class:`ZendeskStream`; what every tap of the project does alike
(deadlines, proxies and CAs, Retry-After and the retry budget, record shaping, the fast record path)
comes from ``landing_tap_kit``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

import orjson
import requests
from landing_tap_kit.records import FastRecordStream
from landing_tap_kit.retries import RetryingRESTStream, RetryPolicy
from landing_tap_kit.shaping import RecordShaper
from landing_tap_kit.transport import prepare_session, url_without_secrets
from landing_tap_kit.versions import VersionAfterFullRead
from singer_sdk import Stream
from singer_sdk.authenticators import BasicAuthenticator, BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError, SkippableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator, BaseHATEOASPaginator
from typing_extensions import override

from landing_tap_zendesk import settings

if TYPE_CHECKING:
    from urllib.parse import ParseResult

    from singer_sdk.helpers.types import Context, Record

#: The pip distribution (PyPI's ``tap-zendesk`` is the singer-io tap): its version goes in the User-Agent.
DISTRIBUTION = "landing-tap-zendesk"
#: Zendesk's maximum page for incremental exports (tickets, users, organizations, metric events).
EXPORT_PAGE_SIZE = 1000
#: Exports reject a start_time less than a minute old (§3.2); stay a second clear of it.
EXPORT_MIN_AGE = 61
_PAYLOAD = "_zendesk_payload"
#: Stream state key set once a plan-gated stream was read: a later 403/404 there is an error, not a skip.
READ_BEFORE = "read_before"


class PlanGatedError(SkippableAPIError):
    """403/404 on the first request of an endpoint the account's plan lacks (SLA policies, Talk, CSAT…)."""


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
    return url_without_secrets(response.url)


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


TokenT = TypeVar("TokenT")


class PaginationCycleError(FatalAPIError):
    """A page token came back that this partition already requested: following it would loop forever."""


class CycleGuard:
    """Remembers every page token of one partition; a repeat of any of them is a cycle of some length.

    The SDK's paginators only catch a page pointing at itself (1 -> 1); 1 -> 2 -> 1 loops forever.
    """

    def __init__(self, stream: str, kind: str) -> None:
        """``kind`` names the token in the error (``cursor``, ``start_time``, ``page``)."""
        self.stream = stream
        self.kind = kind
        self.seen: set[Any] = set()

    def check(self, token: TokenT | None, hint: str = "") -> TokenT | None:
        """Return ``token`` if it is new; raise :class:`PaginationCycleError` if it was seen."""
        if token is None:
            return None
        if token in self.seen:
            msg = f"stream {self.stream}: pagination cycle: {self.kind} {token} was already requested in this run{hint}"
            raise PaginationCycleError(msg)
        self.seen.add(token)
        return token


class CursorPagePaginator(BaseHATEOASPaginator):
    """Cursor pagination: ``links.next`` while ``meta.has_more``; a body without ``meta`` is one page.

    Only the next link's query string is used (see ``CursorListStream.get_url_params``): it is the
    page token, and the host stays the configured ``api_url`` whatever host the link names.
    """

    def __init__(self, stream: str) -> None:
        """Start on the first page; ``stream`` names the stream in a cycle error."""
        super().__init__()
        self.guard = CycleGuard(stream, "page")

    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        payload = response_json(response)
        if not (payload.get("meta") or {}).get("has_more"):
            return None
        link = (payload.get("links") or {}).get("next")
        if link:
            self.guard.check(urlsplit(link).query or link)
        return link


class ExportCursorPaginator(BaseAPIPaginator[str | None]):
    """Cursor-based export: the next token is ``after_cursor`` until ``end_of_stream``."""

    def __init__(self, stream: str) -> None:
        """Start without a cursor (the first request sends ``start_time``)."""
        super().__init__(None)
        self.guard = CycleGuard(stream, "cursor")

    @override
    def get_next(self, response: requests.Response) -> str | None:
        payload = response_json(response)
        if payload.get("end_of_stream"):
            return None
        return self.guard.check(payload.get("after_cursor"))


class TimeExportPaginator(BaseAPIPaginator[int | None]):
    """Time-based export: the next ``start_time`` is ``end_time`` until ``end_of_stream``.

    Zendesk's next ``start_time`` is the timestamp of the page's last item (duplicates at the
    boundary are expected, loaders upsert them). When more items than one page holds share that
    timestamp, the next request is the same request again and the API cannot move past it
    (the infinite loop zenpy issue #489 reports): the stream fails with that explanation.
    """

    def __init__(self, stream: str) -> None:
        """Start from the stream's bookmark (the first request's ``start_time`` counts as requested)."""
        super().__init__(None)
        self.guard = CycleGuard(stream, "start_time")
        self.last_start: int | None = None

    @override
    def get_next(self, response: requests.Response) -> int | None:
        if self.last_start is None:
            first = dict(parse_qsl(urlsplit(response.request.url or "").query)).get("start_time")
            self.last_start = self.guard.check(int(first)) if first and first.isdigit() else None
        payload = response_json(response)
        if payload.get("end_of_stream"):
            return None
        end_time = payload.get("end_time")
        hint = ""
        if end_time is not None and end_time == self.last_start:
            hint = (
                f" (the whole page changed at {end_time}: more items share that second than one export page "
                "holds, so Zendesk's time-based export cannot move past it)"
            )
        self.last_start = self.guard.check(end_time, hint)
        return self.last_start


class ZendeskStream(FastRecordStream, VersionAfterFullRead, RetryingRESTStream[Any]):
    """Base of every Zendesk Support API stream.

    Retries, Retry-After, the ``max_retry_seconds`` budget and the one-line give-up come from
    ``landing_tap_kit.retries``; deadlines, TLS and proxy environment from ``landing_tap_kit.transport``;
    the record fast path from ``landing_tap_kit.records``.
    """

    source_name = "Zendesk"

    #: The response key holding the records (``tickets``, ``audits``, ``phone_numbers``…).
    records_key: ClassVar[str]
    #: Whether a 403/404 on the stream's first request means "not on this account's plan": the stream
    #: is skipped with one warning, unless an earlier run read it (then a permission was taken away,
    #: which is an error: issue 10 §4). Exports exist on every plan, so there a 403/404 is a real error.
    plan_gated: ClassVar[bool] = True
    #: Whether each run reads the whole collection, so a finished read may retire what it did not see.
    read_whole_each_run: ClassVar[bool] = False
    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    #: Zendesk already sends JSON types, so the SDK's per-field conformance pass (the largest cost
    #: per record in profiles) is skipped; the kit's ``RecordShaper`` keeps unknown fields and repairs
    #: drifted top-level types instead; nested objects pass through whole.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Response fields that are neither schema nor extra: side-loads ``generate_child_contexts``
    #: takes out for child streams.
    side_loads: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Start the stream's page counter (a 403/404 after the first page is no plan gate)."""
        super().__init__(*args, **kwargs)
        self.pages_read = 0

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

    @cached_property
    @override
    def requests_session(self) -> requests.Session:
        """The SDK's session with the environment resolved once and the deadline adapter mounted."""
        return prepare_session(super().requests_session, self.url_base, self.timeout)

    @cached_property
    @override
    def http_headers(self) -> dict[str, str]:
        """Built once: the SDK asks for it on every request."""
        return {"Accept": "application/json"}

    @cached_property
    @override
    def user_agent(self) -> str:
        """``tap-zendesk/<version>``, looked up once: the lookup reads package metadata from disk."""
        try:
            return f"tap-zendesk/{version(DISTRIBUTION)}"
        except PackageNotFoundError:
            return "tap-zendesk"

    @cached_property
    @override
    def retry_policy(self) -> RetryPolicy:
        """The kit's policy with Zendesk's defaults.

        60 s after a 429 without Retry-After (singer-io's wait; Zendesk's limits are per minute),
        exponential steps from 1 s otherwise.
        """
        return RetryPolicy.from_config(
            self.config, default_429_seconds=settings.DEFAULT_RATE_LIMIT_WAIT, base_seconds=1.0
        )

    @property
    @override
    def timeout(self) -> int:
        """``request_timeout``: the socket timeout, and the wall-clock limit of the deadline adapter."""
        return int(self.config.get("request_timeout") or settings.DEFAULT_REQUEST_TIMEOUT)

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
        if status in {403, 404} and self.plan_gated and self.pages_read == 0:
            raise PlanGatedError(f"HTTP {status} from {url} ({detail})")
        if status in {403, 404} and self.pages_read:
            msg = f"HTTP {status} {response.reason} from {url} after {self.pages_read} page(s) of stream {self.name}"
            raise FatalAPIError(f"{msg}: {detail}")
        if status == 403:
            msg = f"HTTP 403 Forbidden from {url} ({detail}): incremental exports need an admin's credentials"
            raise FatalAPIError(msg)
        raise FatalAPIError(f"HTTP {status} {response.reason} from {url}: {detail}")

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        self.pages_read += 1
        yield from response_json(response).get(self.records_key) or ()

    @cached_property
    def shaper(self) -> RecordShaper:
        """Keeps fields the schema lacks and repairs type drift (``landing_tap_kit.shaping``)."""
        return RecordShaper(self.name, self.schema, self.logger, passthrough=self.side_loads)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return self.shaper.shape(row)

    # -- skipping, deletions ---------------------------------------------------------------------

    @property
    @override
    def announces_versions(self) -> bool:
        """Only lists read whole each run retire what they did not see (the kit adds full table + setting)."""
        return self.read_whole_each_run and super().announces_versions

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The partition's records; then, for a full-table stream read to its end, ACTIVATE_VERSION."""
        self.pages_read = 0
        self.begin_version()
        state = self.get_context_state(context)
        try:
            yield from super().get_records(context)
        except PlanGatedError as exc:
            if state.get(READ_BEFORE):
                msg = (
                    f"stream {self.name}: {exc}, but an earlier run read it (state: {READ_BEFORE}); "
                    "a permission or plan was taken away: deselect the stream if that is intended"
                )
                raise FatalAPIError(msg) from None
            self.logger.warning("stream %s: skipped, not available on this Zendesk account's plan: %s", self.name, exc)
            return
        except RecordGoneError as exc:
            self.logger.debug("Skipping %s for %s: %s", self.name, context, exc)
            return
        # Reached only after the last page was read and its last record written.
        if self.plan_gated:
            state[READ_BEFORE] = True  # from now on a 403/404 here is a lost permission, not a plan without it
        self.announce_version()


class CursorListStream(ZendeskStream):
    """List endpoints with cursor pagination, read whole each run (full table).

    Zendesk has no server-side change filter on these lists, so every run pages them completely
    anyway; emitting every row (they are small) lets the stream end with ACTIVATE_VERSION, so rows
    deleted in Zendesk (a removed group membership, a deleted macro) are retired by the loader.
    """

    read_whole_each_run = True

    @override
    def get_new_paginator(self) -> CursorPagePaginator:
        return CursorPagePaginator(self.name)

    @override
    def get_url_params(self, context: Context | None, next_page_token: ParseResult | None) -> dict[str, Any]:
        if next_page_token is not None:
            return dict(parse_qsl(next_page_token.query))
        return {"page[size]": self.page_size}


class ExportStream(ZendeskStream):
    """Incremental exports: sorted by their timestamp, so state is resumable mid-stream."""

    is_sorted = True
    #: Exports exist on every plan: a 403 means the credentials are not an admin's, a 404 a wrong api_url.
    plan_gated = False
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
        return ExportCursorPaginator(self.name)

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
        return TimeExportPaginator(self.name)

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        start = next_page_token if next_page_token is not None else self.start_time(context)
        return {"start_time": start, "per_page": EXPORT_PAGE_SIZE}


class SideloadedStream(FastRecordStream, Stream):
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

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # Each partition is one changed ticket's share: a version announced here would retire the rest.
        return False

    @cached_property
    def shaper(self) -> RecordShaper:
        """Keeps fields the schema lacks and repairs type drift (``landing_tap_kit.shaping``)."""
        return RecordShaper(self.name, self.schema, self.logger)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return self.shaper.shape(row)
