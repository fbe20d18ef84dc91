"""The one base stream of tap-zengrc: URL, auth, paging, parsing, retries and error classification.

Facts from ``../shared/sources/zengrc.md``: every collection is ``GET /api/v2/<collection>`` with the
records under ``data`` and the next page as a server-relative ``links.next.href`` that clients append
to the origin verbatim (§2.4); HTTP Basic with the API key id/secret (§2.2); no server-side
"changed since" filter exists (§2.5), so every stream is FULL_TABLE.
"""

from __future__ import annotations

import sys
import typing as t
from datetime import UTC, datetime
from functools import cached_property
from urllib.parse import parse_qsl, urljoin, urlsplit

import orjson
from landing_tap_kit.records import FastRecordStream
from landing_tap_kit.retries import RetryingRESTStream, RetryPolicy, number_setting
from landing_tap_kit.shaping import RecordShaper
from landing_tap_kit.transport import environment_session
from landing_tap_kit.versions import VersionAfterFullRead
from requests.auth import HTTPBasicAuth
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseHATEOASPaginator

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable
    from urllib.parse import ParseResult

    import requests
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

DEFAULT_REQUEST_TIMEOUT = 300
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_RETRY_SECONDS = 600.0
DEFAULT_RETRY_BASE_SECONDS = 2.0
VENDOR_URL = "https://{tenant}.api.zengrc.com/api/v2"
_BODY = "_zengrc_body"


def decoded_body(response: requests.Response) -> dict[str, t.Any]:
    """The page's JSON, decoded once (validation, parsing and paging all need it)."""
    body: dict[str, t.Any] = response.__dict__[_BODY]
    return body


class EndpointNotAvailableError(FatalAPIError):
    """403/404 on a stream's first request: the account's plan or API key lacks this collection."""


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


class ZenGRCStream(FastRecordStream, VersionAfterFullRead, RetryingRESTStream["ParseResult"]):
    """Base of every ZenGRC collection stream.

    Streams are FULL_TABLE: the API offers no way to ask for changed records only, so each run pages
    the whole collection. Deletions therefore surface through ``ACTIVATE_VERSION`` (emitted once the
    stream completed, see :meth:`get_records`): the loader marks rows missing from the new version as deleted.
    """

    primary_keys: t.ClassVar[t.Sequence[str]] = ("id",)
    source_name = "ZenGRC"
    replication_key = None
    #: Records come straight from JSON and :mod:`landing_tap_kit.shaping` already checked every top-level
    #: type: the SDK's conformance would only re-walk them (40% of the tap's CPU in profiles).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """A fresh page count per stream."""
        super().__init__(*args, **kwargs)
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
        """Wall-clock seconds for one whole request, body included (``landing_tap_kit.transport.DeadlineAdapter``)."""
        return int(number_setting(self.config, "request_timeout", DEFAULT_REQUEST_TIMEOUT) or DEFAULT_REQUEST_TIMEOUT)

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
    def shaper(self) -> RecordShaper:
        """Keeps undeclared fields and repairs drifted types (:mod:`landing_tap_kit.shaping`)."""
        return RecordShaper(self.name, self.schema, self.logger, always_emit_extra_fields=True)

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        row = self.shaper.shape(row)
        if self.start_date and (row.get("updated_at") or self.start_date) < self.start_date:
            return None
        return row

    @cached_property
    @override
    def retry_policy(self) -> RetryPolicy:
        """``max_retries``, ``max_retry_seconds``, ``retry_base_seconds``, with ZenGRC's defaults."""
        return RetryPolicy.from_config(
            self.config,
            max_retries=DEFAULT_MAX_RETRIES,
            max_retry_seconds=DEFAULT_MAX_RETRY_SECONDS,
            base_seconds=DEFAULT_RETRY_BASE_SECONDS,
        )

    # -- deletions: ACTIVATE_VERSION after the last record (landing_tap_kit.versions) --------------

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Yield the collection, then activate the new table version: only once every record was sent.

        A collection the account lacks (403/404 before any page was read) is skipped with one warning
        and, having sent nothing, announces no version: its table keeps its rows.
        """
        self.begin_version()
        try:
            yield from super().get_records(context)
        except EndpointNotAvailableError as exc:
            self.skipped_because = str(exc)
            self.logger.warning("stream %s skipped: %s", self.name, exc)
            self._refuse_if_every_stream_was_missing()
            return
        # Reached only when the last record has been written and no page failed.
        self.announce_version()

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
