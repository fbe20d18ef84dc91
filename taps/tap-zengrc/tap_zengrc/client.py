"""The one base stream of tap-zengrc: URL, auth, paging, parsing and error classification.

Facts from ``shared/sources/zengrc.md``: every collection is ``GET /api/v2/<collection>`` with the
records under ``data`` and the next page as a server-relative ``links.next.href`` that clients append
to the origin verbatim (§2.4); HTTP Basic with the API key id/secret (§2.2); no server-side
"changed since" filter exists (§2.5), so every stream is FULL_TABLE.
"""

from __future__ import annotations

import sys
import typing as t
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from urllib.parse import parse_qsl, urljoin, urlsplit

import orjson
import singer_sdk.singerlib as singer
from requests.auth import HTTPBasicAuth
from singer_sdk import RESTStream
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseHATEOASPaginator

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable
    from urllib.parse import ParseResult

    import requests
    from backoff.types import Details
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

#: Longest wait we accept from a ``Retry-After`` header; beyond it the run fails rather than hangs.
MAX_RETRY_AFTER_SECONDS = 300.0
#: Cap of one exponential backoff step.
MAX_BACKOFF_SECONDS = 60.0
VENDOR_URL = "https://{tenant}.api.zengrc.com/api/v2"
_BODY = "_zengrc_body"


def decoded_body(response: requests.Response) -> dict[str, t.Any]:
    """The page's JSON, decoded once (validation, parsing and paging all need it)."""
    body: dict[str, t.Any] = response.__dict__[_BODY]
    return body


class ZenGRCNextLinkPaginator(BaseHATEOASPaginator):
    """Follows ``links.next.href``; stops on null, a missing key or an empty href (§2.4)."""

    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        links = decoded_body(response).get("links") or {}
        next_link = links.get("next") or {}
        href = next_link.get("href") if isinstance(next_link, dict) else None
        return href or None


class ZenGRCStream(RESTStream["ParseResult"]):
    """Base of every ZenGRC collection stream.

    Streams are FULL_TABLE: the API offers no way to ask for changed records only, so each run pages
    the whole collection. Deletions therefore surface through ``ACTIVATE_VERSION`` (emitted once the
    stream completed, see :meth:`sync`): the loader marks rows missing from the new version as deleted.
    """

    primary_keys: t.ClassVar[t.Sequence[str]] = ("id",)
    replication_key = None
    #: Records come straight from JSON, so every value already has its JSON type: the SDK's type
    #: conformance would only re-check them (40% of the tap's CPU in profiles). Fields the schema does
    #: not know are still dropped, in :meth:`_generate_record_messages`.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Date-time fields the API sends with arbitrary UTC offsets; emitted as UTC.
    datetime_fields: t.ClassVar[tuple[str, ...]] = ("created_at", "updated_at")

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
    def authenticator(self) -> HTTPBasicAuth:
        return HTTPBasicAuth(self.config["username"], self.config["password"])

    @override
    @property
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 60))

    @override
    @property
    def user_agent(self) -> str:
        return str(self.config.get("user_agent") or "tap-zengrc")

    @override
    def get_new_paginator(self) -> ZenGRCNextLinkPaginator:
        return ZenGRCNextLinkPaginator()

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
        if status == 403:
            msg = f"the ZenGRC API key may not read {self._where(response)} (HTTP 403): grant it read access"
            raise FatalAPIError(msg)
        if status == 404:
            msg = f"ZenGRC has no collection at {self._where(response)} (HTTP 404): check `api_url`"
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
        records: list[dict[str, t.Any]] = decoded_body(response)["data"]
        return records

    @cached_property
    def start_date(self) -> str | None:
        """`start_date` as a UTC ISO string, comparable with the emitted `updated_at` values."""
        value = self.config.get("start_date")
        return datetime.fromisoformat(value).astimezone(UTC).isoformat() if value else None

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        for name in self.datetime_fields:
            value = row.get(name)
            if value and not value.endswith("+00:00"):
                row[name] = datetime.fromisoformat(value).astimezone(UTC).isoformat()
        if self.start_date and (row.get("updated_at") or self.start_date) < self.start_date:
            return None
        return row

    @cached_property
    def _known_fields(self) -> frozenset[str]:
        return frozenset(self.schema["properties"])

    def _drop_unknown_fields(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Keep what the schema declares; name the rest once per stream (a tenant-specific field)."""
        unknown = sorted(set(record) - self._known_fields)
        if unknown and not self._warned_unknown:
            self._warned_unknown = True
            self.logger.warning("Fields not in the %s schema were dropped: %s", self.name, ", ".join(unknown))
        return {key: value for key, value in record.items() if key in self._known_fields}

    _warned_unknown = False

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
        if not self._known_fields.issuperset(record):
            record = self._drop_unknown_fields(record)
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
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """Wait what ``Retry-After`` says when the server says it; otherwise back off exponentially."""
        base = float(self.config.get("retry_base_seconds", 2.0))
        attempt = 0
        exception = yield 0.0
        while True:
            told = _retry_after_seconds(exception)
            wait = (
                min(told, MAX_RETRY_AFTER_SECONDS) if told is not None else min(base * 2**attempt, MAX_BACKOFF_SECONDS)
            )
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
        return int(self.config.get("max_retries", 5)) + 1

    # -- deletions -------------------------------------------------------------------------------

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # Never at the start of the stream (the SDK default): a loader soft-deletes every older row
        # on ACTIVATE_VERSION, and a run that then crashed would leave live rows marked deleted.
        return False

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Yield the collection, then activate the new table version: only once every record was sent."""
        announce = bool(self.config.get("emit_activate_version_messages", True))
        if announce:
            self._stream_version = self._initialized_at // 1000
        yield from super().get_records(context)
        # Reached only when the last record has been written and no page failed.
        if announce and self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)


def _retry_after_seconds(exception: t.Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form), if the error carries one."""
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
