"""The one base stream: POST an XML ``<call>``, classify the envelope, flatten elements into records."""

from __future__ import annotations

import itertools
import typing as t
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import cached_property

import requests
import singer_sdk.singerlib as singer
from lxml import etree
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator, SinglePagePaginator
from typing_extensions import override

from tap_adaptive.xmlapi import Envelope, MalformedXMLError, call_body, envelope_of, parse_document, snake

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context

#: wdadaptivepy raises InvalidCredentialsError on exactly this key (adaptive.md §4).
AUTH_FAILURE_KEY = "error-authentication-failure"
#: Adaptive limits concurrent requests per instance (adaptive.md §9.5); keys are undocumented: match words.
THROTTLE_WORDS = ("concurren", "throttl", "rate-limit", "too-many")
#: Feature-off / licence / permission failures: the table must still exist, empty ("skeleton tables", §2).
UNSUPPORTED_WORDS = ("permission", "not-enabled", "not-licensed", "feature", "unsupported", "not-supported")

Converter = Callable[[str], t.Any]


class UnsupportedMethodError(FatalAPIError):
    """The instance refuses this method (feature off, no permission): the stream ends empty."""


class ConfigurationError(Exception):
    """A setting the instance contradicts (e.g. a version folder that does not exist)."""


def to_bool(text: str) -> bool | None:
    """Adaptive mixes "1"/"0" and "true"/"false" encodings, even within one element (adaptive.md §4)."""
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "y"}:
        return True
    if lowered in {"0", "false", "no", "n"}:
        return False
    return None


def to_int(text: str) -> int | None:
    """Integer attributes; group nodes carry empty strings (adaptive.md §9.7)."""
    try:
        return int(text)
    except ValueError:
        return None


def to_number(text: str) -> float | None:
    """Decimal attributes, empty string → null."""
    try:
        return float(text)
    except ValueError:
        return None


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
    return None


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
        return int(self.config.get("request_timeout", 300))

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
            raise UnsupportedMethodError(f"{where}: {key}: {text}")
        raise FatalAPIError(f"{where} failed ({key}): {text}")

    # -- retries: bounded, Retry-After honoured (meltano-notes §5b) --------------------------------

    @override
    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        attempt = itertools.count()
        base = float(self.config.get("retry_base_seconds", 2.0))
        cap = float(self.config.get("max_retry_wait_seconds", 60.0))

        def wait(exc: Exception) -> float:
            n = next(attempt)
            response = getattr(exc, "response", None)
            header = response.headers.get("Retry-After") if response is not None else None
            if header:
                try:
                    return min(float(header), cap)
                except ValueError:
                    pass
            return float(min(base * 2**n, cap))

        return self.backoff_runtime(value=wait)

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 5)) + 1

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

    # -- deletions -----------------------------------------------------------------------------

    #: Whether a complete sync announces its table version so loaders retire rows Adaptive no longer has.
    activate_versions: t.ClassVar[bool] = True

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # Never before the records (the SDK default): target-snowflake soft-deletes older rows when the
        # message arrives, so a run dying half way would leave live rows marked deleted.
        return False

    @override  # type: ignore[misc]
    def sync(self, context: Context | None = None) -> None:
        """Sync, then activate the new table version once every record of it was sent."""
        announce = (
            self.activate_versions
            and self.selected
            and self.replication_method == "FULL_TABLE"
            and bool(self.config.get("emit_activate_version_messages", True))
        )
        if announce:
            self._stream_version = self._initialized_at // 1000
        super().sync(context)
        if announce and self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)

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

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        try:
            yield from super().get_records(context)
        except UnsupportedMethodError as exc:
            if not self._warned_unsupported:
                self._warned_unsupported = True  # child streams fan out: one warning per run, not per parent
                self.logger.warning("%s: not available on this instance, table left empty (%s)", self.name, exc)

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
        yield from self.flatten(output)

    def flatten(self, output: etree._Element) -> Iterator[dict[str, t.Any]]:  # noqa: PLR0912
        """One record per node, pre-order; containers under ``<output>`` are descended into without a record.

        Iterative (explicit stack) rather than recursive generators: a 50k-node account tree nine
        levels deep would otherwise pass every record through a chain of nested generators.
        """
        texts = [(attr, snake(attr)) for attr, kind in self.fields.items() if kind == "str"]
        converted = [(attr, snake(attr), CONVERTERS[kind][0]) for attr, kind in self.fields.items() if kind != "str"]
        tags = self.node_tags
        hierarchy, root_key, with_attributes = self.hierarchy, self.root_key, self.has_attributes
        child_fields = self.child_fields
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
            record: dict[str, t.Any] = {column: attrib.get(attr) for attr, column in texts}
            for attr, column, convert in converted:
                raw = attrib.get(attr)
                record[column] = None if raw is None else convert(raw)
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
            for child in el:
                tag = child.tag
                if tag in tags:
                    children.append(child)
                elif tag == "attributes":
                    attributes.extend({snake(k): v for k, v in a.attrib.items()} for a in child)
                elif tag in child_fields:
                    if child_fields[tag] == "object":
                        record[snake(tag)] = {snake(k): to_bool(v) for k, v in child.attrib.items()}
                    else:
                        record[snake(tag)] = [element_object(c) for c in child if isinstance(c.tag, str)]
            if with_attributes:
                record["attributes"] = attributes
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
        return {"type": "object", "properties": props}
