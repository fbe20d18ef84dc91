"""The one base stream: POST an XML ``<call>``, classify the envelope, flatten elements into records."""

from __future__ import annotations

import itertools
import logging
import time
import typing as t
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import cached_property, wraps

import backoff
import requests
import singer_sdk.singerlib as singer
from lxml import etree
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator, SinglePagePaginator
from typing_extensions import override

from landing_tap_adaptive.transport import host_of, is_certificate_failure, retry_after_seconds, session_for
from landing_tap_adaptive.xmlapi import Envelope, MalformedXMLError, call_body, envelope_of, parse_document, snake

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, RequestFunc

#: wdadaptivepy raises InvalidCredentialsError on exactly this key (adaptive.md §4).
AUTH_FAILURE_KEY = "error-authentication-failure"
#: Adaptive limits concurrent requests per instance (adaptive.md §9.5); keys are undocumented: match words.
THROTTLE_WORDS = ("concurren", "throttl", "rate-limit", "too-many")
#: Feature-off / licence / permission failures (the contract's "plan-gated" 403/404 for an XML API that
#: answers HTTP 200): skipped with a warning if never read before, fatal if it was (see get_records).
UNSUPPORTED_WORDS = ("permission", "not-enabled", "not-licensed", "feature", "unsupported", "not-supported")
#: Failures the SDK's backoff retries (its own list, plus our deadline which is a Timeout).
RETRIABLE_ERRORS = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
#: Key in a stream's bookmarks recording its last complete, permitted read: what tells a revoked
#: permission (an error) from a method this instance never allowed (a warning).
READ_MARK = "last_successful_read_at"

Converter = Callable[[str], t.Any]


class PermissionDeniedError(FatalAPIError):
    """The instance refuses this method (feature off, licence missing, permission denied)."""


#: Old name, kept for code that imported it.
UnsupportedMethodError = PermissionDeniedError


class GaveUpError(FatalAPIError):
    """Retries ran out (``max_retries`` or ``max_retry_seconds``): one line naming URL, attempts and cause."""


class ConfigurationError(Exception):
    """A setting the instance contradicts (e.g. a version folder that does not exist)."""


# Converters return the typed value, None for the empty string (the API's "nothing", adaptive.md §9.7),
# and raise ValueError for text that does not fit: the caller keeps that text in extra_fields (type drift).


def to_bool(text: str) -> bool | None:
    """Adaptive mixes "1"/"0" and "true"/"false" encodings, even within one element (adaptive.md §4)."""
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "y"}:
        return True
    if lowered in {"0", "false", "no", "n"}:
        return False
    if not lowered:
        return None
    raise ValueError(text)


def to_int(text: str) -> int | None:
    """Integer attributes; group nodes carry empty strings (adaptive.md §9.7); "12.0" is still 12."""
    try:
        return int(text)
    except ValueError:
        if not text.strip():
            return None
        number = float(text)
        if not number.is_integer():
            raise
        return int(number)


def to_number(text: str) -> float | None:
    """Decimal attributes, empty string → null."""
    try:
        return float(text)
    except ValueError:
        if not text.strip():
            return None
        raise


def to_datetime(text: str) -> str | None:
    """User/audit timestamps come as "YYYY-MM-DD HH:MM:SS[.0]" without a zone; the API works in UTC."""
    text = text.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    raise ValueError(text)


def to_list(text: str) -> list[str]:
    """Comma-separated id lists (groupIds, permissionSetIds, permissions) become JSON arrays."""
    return [part.strip() for part in text.split(",") if part.strip()]


def to_string(text: str) -> str:
    """Text attributes kept as sent (empty strings included)."""
    return text


CONVERTERS: dict[str, tuple[Converter, dict[str, t.Any]]] = {
    "str": (to_string, {"type": ["string", "null"]}),
    "int": (to_int, {"type": ["integer", "null"]}),
    "num": (to_number, {"type": ["number", "null"]}),
    "bool": (to_bool, {"type": ["boolean", "null"]}),
    "datetime": (to_datetime, {"type": ["string", "null"], "format": "date-time"}),
    "date": (lambda s: s or None, {"type": ["string", "null"], "format": "date"}),
    "list": (to_list, {"type": ["array", "null"], "items": {"type": "string"}}),
}


def element_object(el: etree._Element) -> dict[str, t.Any]:
    """Keep a child element whole (sheet columns, transaction fields): its tag, attributes, children."""
    obj: dict[str, t.Any] = {"type": el.tag, **{snake(k): v for k, v in el.attrib.items()}}
    children = [element_object(c) for c in el if isinstance(c.tag, str)]
    if children:
        obj["items"] = children
    return obj


#: Every stream's catch-all for what the API sent that the schema does not declare (tap contract §4).
EXTRA_FIELDS_SCHEMA: dict[str, t.Any] = {"type": ["object", "null"], "additionalProperties": True}
#: JSON type named in drift warnings, per converter kind.
KIND_TYPES = {"int": "integer", "num": "number", "bool": "boolean", "datetime": "date-time string", "date": "date"}


class AdaptiveStream(RESTStream[t.Any]):
    """Base of every export: one XML call per request, envelope classification, element flattening.

    Subclasses set :attr:`method` and :attr:`fields`; :meth:`call_children` adds the method-specific
    request elements. Responses are parsed once, in :meth:`validate_response`, so that malformed or
    truncated XML is retried by the SDK's backoff like any transient fault.
    """

    http_method = "POST"
    path = ""  # one endpoint for every method: the method is named in the body
    payload_as_json = False
    records_jsonpath = ""
    #: Records are built with the schema's own converters, so the SDK's per-record conformance is redundant.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    method: t.ClassVar[str]
    #: Element tag → node type (None when the stream has one kind of node).
    node_tags: t.ClassVar[dict[str, str | None]] = {}
    #: API attribute → converter kind; column names are the snake_case attribute names.
    fields: t.ClassVar[dict[str, str]] = {}
    #: Child elements kept as JSON: tag → "object" (attributes as booleans) or "elements" (list of objects).
    child_fields: t.ClassVar[dict[str, str]] = {}
    hierarchy: t.ClassVar[bool] = False
    has_attributes: t.ClassVar[bool] = False
    root_key: t.ClassVar[str | None] = None
    #: Columns the stream adds itself (context keys, synthetic keys).
    extra_properties: t.ClassVar[dict[str, t.Any]] = {}

    _warned_unsupported = False
    _parsed: tuple[requests.Response, etree._Element] | None = None

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Per-run bookkeeping: retry budget, what was warned about, whether the read was complete."""
        super().__init__(*args, **kwargs)
        # The SDK made a plain session; ours enforces the wall-clock deadline and carries the proxies and
        # CA bundle resolved from the environment once (transport.py).
        self._requests_session = session_for(self.url_base)
        # Seconds of failed attempts and waits since the last good response (max_retry_seconds): time lost
        # in a row, not in total, so a long read that meets many honoured 429s is not killed for it.
        self._retry_spent = 0.0
        self._attempts = 0  # attempts of the request in flight
        self._denied = False  # a permission/licence refusal ended this stream's read
        self._synced = False  # at least one context was read to the end
        self._warned_extra: set[str] = set()
        self._warned_drift: set[str] = set()

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        """Derive each subclass's schema from its field table."""
        super().__init_subclass__(**kwargs)
        if "schema" not in cls.__dict__ and "fields" in cls.__dict__:
            cls.schema = cls.build_schema()  # type: ignore[method-assign,assignment]

    @override
    @property
    def url_base(self) -> str:
        return str(self.config["api_url"]).rstrip("/")

    @override
    @property
    def http_headers(self) -> dict[str, str]:
        return {"Content-Type": "text/xml; charset=UTF-8", "Accept": "text/xml"}

    @override
    @property
    def timeout(self) -> int:
        """Wall-clock limit of one whole request, body included (enforced by the session's adapter)."""
        return int(float(self.config.get("request_timeout", 300)))

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[t.Any] | None:
        return SinglePagePaginator()

    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        """Method-specific request elements after ``<credentials>``."""
        return ""

    @override
    def prepare_request_payload(self, context: Context | None, next_page_token: t.Any) -> bytes:
        return call_body(self.method, self.config, self.call_children(context, next_page_token))

    # -- errors ---------------------------------------------------------------------------------

    def inspect(self, response: requests.Response) -> Envelope:
        """Parse the body (cached for parse_response) and return its envelope."""
        root = parse_document(response.content)
        self._parsed = (response, root)
        return envelope_of(root)

    @override
    def validate_response(self, response: requests.Response) -> None:
        where = f"{self.method} at {response.url}"
        if response.status_code == 429 or response.status_code >= 500:
            raise RetriableAPIError(f"{where}: HTTP {response.status_code} {response.reason}", response)
        if response.status_code >= 400:
            msg = f"{where}: HTTP {response.status_code} {response.reason}; check the `api_url` setting"
            raise FatalAPIError(msg)
        try:
            envelope = self.inspect(response)
        except MalformedXMLError as exc:
            raise RetriableAPIError(f"{where}: malformed XML response ({exc})", response) from None
        if envelope.success:
            return
        self.raise_for_messages(envelope, where, response)

    def raise_for_messages(self, envelope: Envelope, where: str, response: requests.Response) -> None:
        """Turn a ``success="false"`` envelope into the right exception, naming the message key."""
        message = envelope.messages[0] if envelope.messages else None
        key = message.key if message else "(no message)"
        text = message.text if message else "the API answered success=false"
        if key == AUTH_FAILURE_KEY:
            msg = (
                f"authentication failed for username {self.config.get('username')!r} at {self.url_base} "
                f"({key}): check the `username` and `password` settings"
            )
            raise FatalAPIError(msg)
        lowered = key.lower()
        if any(word in lowered for word in THROTTLE_WORDS):
            raise RetriableAPIError(f"{where}: throttled ({key}: {text})", response)
        if any(word in lowered for word in UNSUPPORTED_WORDS):
            raise PermissionDeniedError(f"{where}: {key}: {text}")
        raise FatalAPIError(f"{where} failed ({key}): {text}")

    # -- retries: bounded in attempts and in time, Retry-After honoured (tap contract §1) -----------

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
            self._attempts += 1
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
                self._retry_spent += time.monotonic() - started
                raise
            except RETRIABLE_ERRORS:
                self._retry_spent += time.monotonic() - started
                raise
            self._attempts = 0
            self._retry_spent = 0.0  # progress: only time lost in a row counts
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
        spent = f"{self._retry_spent:.0f} s without progress"
        return f"gave up on {url} after {self._attempts} attempts in {spent} ({limit}): {cause}"

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
            left = self.retry_budget - self._retry_spent
            if seconds > left:
                cause = f"{exc}; the server asked to wait {asked:g} s" if asked is not None else exc
                raise GaveUpError(self.gave_up_line(_url_of(exc), cause, f"max_retry_seconds={self.retry_budget:g}"))
            self._retry_spent += seconds
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

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return f"{self.method} at {response.url}: HTTP {response.status_code} {response.reason}"

    @override
    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        # The SDK logs "An unhandled error occurred while syncing" at ERROR for every stream the error
        # passes through; the tap's own one line (tap.py) says what happened, so these go to DEBUG.
        if level >= logging.ERROR and message.startswith("An unhandled error occurred while syncing"):
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)

    # -- deletions -----------------------------------------------------------------------------

    #: Whether a complete sync announces its table version so loaders retire rows Adaptive no longer has.
    activate_versions: t.ClassVar[bool] = True

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # Never before the records (the SDK default): target-snowflake soft-deletes older rows when the
        # message arrives, so a run dying half way would leave live rows marked deleted.
        return False

    @property
    def announces_versions(self) -> bool:
        """Whether this stream's complete reads end with ACTIVATE_VERSION."""
        return (
            self.activate_versions
            and self.selected
            and self.replication_method == "FULL_TABLE"
            and bool(self.config.get("emit_activate_version_messages", True))
        )

    @override  # type: ignore[misc]
    def sync(self, context: Context | None = None) -> None:
        """Sync; a top-level stream then activates its table version and its children's.

        Children sync once per parent record, so their version is announced only after the parent's
        whole sync returned: one message per table, after its last record, never between partitions.
        A stream skipped for a refused permission announces nothing (nothing was read).
        """
        if self.announces_versions:
            self._stream_version = self._initialized_at // 1000
        super().sync(context)
        if self.parent_stream_type is None:
            self._activate_complete_versions()

    def _activate_complete_versions(self) -> None:
        if self.announces_versions and self._synced and not self._denied and self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)
        for child in self.child_streams:
            if isinstance(child, AdaptiveStream):
                child._activate_complete_versions()

    # -- records -------------------------------------------------------------------------------

    @cached_property
    def nothing_deselected(self) -> bool:
        """Whether the catalog keeps every property of this stream (the usual ``<stream>.*`` select)."""
        return all(self.mask.values())

    @override
    def _generate_record_messages(self, record: dict[str, t.Any]) -> t.Generator[singer.RecordMessage, None, None]:
        """Skip the SDK's per-record deselection walk when nothing is deselected (as tap-zendesk does).

        SDK 0.54 walks every record to drop deselected properties: a no-op under the usual select, yet
        the largest single cost of exportData's one-record-per-cell output in profiles. Conformance is
        off (``NONE``), so what remains is the SDK's next step: stream maps, one RECORD per map.
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
    def generate_child_contexts(self, record: dict[str, t.Any], context: Context | None) -> Iterable[Context | None]:
        # The SDK default copies every record as a child context even for a childless stream: with
        # exportData's one record per cell that copy was a measurable share of the run (profiled).
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)

    @property
    def read_mark_state(self) -> dict[str, t.Any]:
        """The stream-level bookmark holding :data:`READ_MARK` (partitioned streams included)."""
        return t.cast("dict[str, t.Any]", self.stream_state)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Records of one context; a refused permission is a warning the first time, an error after a read.

        The state remembers the last complete read (``bookmarks.<stream>.last_successful_read_at``). A
        method refused although it was read before is a revoked permission: the stream fails (no
        ACTIVATE_VERSION, so nothing is retired). Never read before: the instance never allowed it
        (plan, licence, role): one warning, an empty table, and the run goes on.
        """
        try:
            yield from super().get_records(context)
        except PermissionDeniedError as exc:
            self._denied = True
            last_read = self.read_mark_state.get(READ_MARK)
            if last_read:
                msg = (
                    f"stream {self.name}: {exc}; it was read on {last_read} (state bookmarks.{self.name}."
                    f"{READ_MARK}), so the permission was revoked: restore the API user's access to "
                    f"{self.method} or deselect {self.name}; nothing was retired"
                )
                raise FatalAPIError(msg) from None
            if not self._warned_unsupported:
                self._warned_unsupported = True  # child streams fan out: one warning per run, not per parent
                self.logger.warning(
                    "%s: not available on this instance (never read before), table left empty (%s)", self.name, exc
                )
            return
        self._synced = True
        self.read_mark_state[READ_MARK] = datetime.now(UTC).isoformat(timespec="seconds")

    def parsed_root(self, response: requests.Response) -> etree._Element:
        """Return the tree validate_response already parsed for this response (parsed again if not cached)."""
        cached = getattr(self, "_parsed", None)
        if cached is not None and cached[0] is response:
            return t.cast("etree._Element", cached[1])
        return parse_document(response.content)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        root = self.parsed_root(response)
        self._parsed = None
        output = root.find("output")
        if output is None:
            return
        yield from self.unique(self.flatten(output))

    def unique(self, records: Iterable[dict[str, t.Any]]) -> Iterator[dict[str, t.Any]]:
        """Drop a record whose key an earlier record of the same response already had (warned once).

        A loader upserts by key, so a second element with one key (a dimension value listed twice within
        its dimension) would silently replace the first; the first one listed is kept.
        """
        keys = tuple(self.primary_keys or ())
        seen: set[tuple[t.Any, ...]] = set()
        repeated: dict[tuple[t.Any, ...], int] = {}
        for record in records:
            if not keys or keys[0] not in record:  # key made later (post_process), e.g. event_id
                yield record
                continue
            key = tuple(record.get(k) for k in keys)
            if key in seen:
                repeated[key] = repeated.get(key, 1) + 1
                continue
            seen.add(key)
            yield record
        if repeated:
            shown = "; ".join(
                f"{dict(zip(keys, key, strict=True))} x{count}" for key, count in list(repeated.items())[:5]
            )
            self.logger.warning(
                "stream %s: %d key(s) listed more than once in one %s response, first occurrence kept: %s",
                self.name,
                len(repeated),
                self.method,
                shown,
            )

    # -- variance: unknown attributes and type drift are kept, never dropped ------------------------

    def note_extra_fields(self, names: Iterable[str]) -> None:
        """Warn once per new name per run: ``stream <name>: fields not in the schema kept in extra_fields``."""
        new = set(names) - self._warned_extra
        if new:
            self._warned_extra |= new
            self.logger.warning(
                "stream %s: fields not in the schema kept in extra_fields: %s", self.name, ", ".join(sorted(new))
            )

    def note_drift(self, column: str, kind: str) -> None:
        """Warn once per stream and field that a value did not fit its declared type."""
        if column not in self._warned_drift:
            self._warned_drift.add(column)
            self.logger.warning(
                "stream %s: field %s sent as string, schema says %s; kept in extra_fields",
                self.name,
                column,
                KIND_TYPES.get(kind, kind),
            )

    def flatten(self, output: etree._Element) -> Iterator[dict[str, t.Any]]:  # noqa: PLR0912, PLR0915
        """One record per node, pre-order; containers under ``<output>`` are descended into without a record.

        Iterative (explicit stack) rather than recursive generators: a 50k-node account tree nine
        levels deep would otherwise pass every record through a chain of nested generators.
        Attributes the field table does not know, and child elements nobody asked for, land in
        ``extra_fields`` as sent; a value that does not fit its type lands there too (column null).
        """
        texts = [(attr, snake(attr)) for attr, kind in self.fields.items() if kind == "str"]
        converted = [
            (attr, snake(attr), CONVERTERS[kind][0], kind) for attr, kind in self.fields.items() if kind != "str"
        ]
        known = frozenset(self.fields)
        tags = self.node_tags
        hierarchy, root_key, with_attributes = self.hierarchy, self.root_key, self.has_attributes
        child_fields = self.child_fields
        child_columns = [snake(tag) for tag in child_fields]
        top: list[etree._Element] = []
        containers = [output]
        while containers:
            for el in containers.pop(0):
                if isinstance(el.tag, str):
                    (top if el.tag in tags else containers).append(el)
        # (element, parent id, depth, parent path, root id)
        stack: list[tuple[etree._Element, t.Any, int, list[str], t.Any]] = [
            (el, None, 0, [], None) for el in reversed(top)
        ]
        while stack:
            el, parent_id, depth, path, root_id = stack.pop()
            attrib = dict(el.attrib)
            extra: dict[str, t.Any] | None = None
            if not known.issuperset(attrib):
                extra = {k: v for k, v in attrib.items() if k not in known}
                self.note_extra_fields(extra)
            record: dict[str, t.Any] = {column: attrib.get(attr) for attr, column in texts}
            for attr, column, convert, kind in converted:
                raw = attrib.get(attr)
                if raw is None:
                    record[column] = None
                    continue
                try:
                    record[column] = convert(raw)
                except ValueError:
                    record[column] = None
                    extra = extra or {}
                    extra[column] = raw
                    self.note_drift(column, kind)
            node_type = tags[el.tag]
            if node_type is not None:
                record["node_type"] = node_type
            node_id = record.get("id", record.get("code"))
            own_path = [*path, attrib.get("name") or attrib.get("label") or attrib.get("code") or ""]
            if hierarchy:
                record["parent_id"] = parent_id
                record["depth"] = depth
                record["path"] = own_path
            own_root = root_id if depth else node_id
            if root_key:
                record[root_key] = own_root
            children: list[etree._Element] = []
            attributes: list[dict[str, t.Any]] = []
            for column in child_columns:
                record[column] = None  # the same keys on every record, present or not
            for child in el:
                tag = child.tag
                if tag in tags:
                    children.append(child)
                elif tag == "attributes":
                    attributes.extend({snake(k): v for k, v in a.attrib.items()} for a in child)
                elif tag in child_fields:
                    if child_fields[tag] == "object":
                        record[snake(tag)] = {snake(k): to_bool_or_text(v) for k, v in child.attrib.items()}
                    else:
                        record[snake(tag)] = [element_object(c) for c in child if isinstance(c.tag, str)]
                elif isinstance(tag, str):
                    extra = extra or {}
                    extra.setdefault(tag, []).append(element_object(child))
                    self.note_extra_fields([tag])
            if with_attributes:
                record["attributes"] = attributes
            record["extra_fields"] = extra
            stack.extend((child, node_id, depth + 1, own_path, own_root) for child in reversed(children))
            yield record

    @classmethod
    def build_schema(cls) -> dict[str, t.Any]:
        """JSON schema from the field table, so the table is the single source of columns and types."""
        props: dict[str, t.Any] = {snake(attr): dict(CONVERTERS[kind][1]) for attr, kind in cls.fields.items()}
        if len(set(cls.node_tags.values()) - {None}) > 0:
            props["node_type"] = {"type": ["string"]}
        # parent and root ids share the id column's type, so the warehouse can join them.
        id_type = "integer" if cls.fields.get("id") == "int" else "string"
        if cls.hierarchy:
            props["parent_id"] = {"type": [id_type, "null"]}
            props["depth"] = {"type": ["integer"]}
            props["path"] = {"type": ["array"], "items": {"type": "string"}}
        if cls.root_key:
            props[cls.root_key] = {"type": [id_type, "null"]}
        if cls.has_attributes:
            props["attributes"] = {"type": ["array", "null"], "items": {"type": "object"}}
        for tag, kind in cls.child_fields.items():
            props[snake(tag)] = (
                {"type": ["object", "null"]}
                if kind == "object"
                else {"type": ["array", "null"], "items": {"type": "object"}}
            )
        props.update(cls.extra_properties)
        props["extra_fields"] = dict(EXTRA_FIELDS_SCHEMA)
        return {"type": "object", "properties": props}


def _url_of(exc: BaseException) -> str | None:
    """The URL a failed attempt went to (RetriableAPIError carries the response, requests errors the request)."""
    response = getattr(exc, "response", None)
    request = getattr(response, "request", None) or getattr(exc, "request", None)
    return getattr(request, "url", None)


def to_bool_or_text(text: str) -> bool | str | None:
    """Flag objects (user subscriptions): booleans when they are flags, the text as sent otherwise."""
    try:
        return to_bool(text)
    except ValueError:
        return text
