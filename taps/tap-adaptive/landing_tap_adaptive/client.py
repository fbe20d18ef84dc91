"""The one base stream: POST an XML ``<call>``, classify the envelope, flatten the elements into records.

Concerns live beside it: the protocol in :mod:`~landing_tap_adaptive.xmlapi`, failure keys in
:mod:`~landing_tap_adaptive.errors`, what a complete read may do in
:mod:`~landing_tap_adaptive.complete_reads`, elements → records in :mod:`~landing_tap_adaptive.flatten`,
columns in :mod:`~landing_tap_adaptive.schemas`. What every tap does alike comes from ``landing_tap_kit``:
deadlines and the network environment (``transport``), Retry-After retries with a budget (``retries``),
the fast RECORD path (``records``).
"""

from __future__ import annotations

import typing as t
from functools import cached_property

import requests
from landing_tap_kit.records import FastRecordStream
from landing_tap_kit.retries import RetryingRESTStream, RetryPolicy, number_setting
from landing_tap_kit.transport import environment_session
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from landing_tap_adaptive.complete_reads import CompleteReadStream
from landing_tap_adaptive.errors import raise_for_envelope
from landing_tap_adaptive.flatten import ElementShape, Variance, first_of_each_key, flatten
from landing_tap_adaptive.xmlapi import Envelope, MalformedXMLError, call_body, envelope_of, parse_document

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from lxml import etree
    from singer_sdk.helpers.types import Context


class AdaptiveStream(FastRecordStream, CompleteReadStream, RetryingRESTStream[t.Any]):
    """Base of every export: one XML call per request, the envelope checked, elements flattened.

    Subclasses set :attr:`method` and either :attr:`shape` (elements → records, schema derived from it)
    or their own ``schema`` and ``parse_response``; :meth:`call_children` adds the method-specific
    request elements. Responses are parsed once, in :meth:`validate_response`, so that malformed or
    truncated XML is retried by the SDK's backoff like any transient fault.
    """

    source_name = "Adaptive"
    http_method = "POST"
    path = ""  # one endpoint for every method: the method is named in the body
    payload_as_json = False
    records_jsonpath = ""
    #: Records are built with the schema's own converters, so the SDK's per-record conformance is redundant.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    method: t.ClassVar[str]
    #: How this export's elements become rows (None: the stream parses its response itself).
    shape: t.ClassVar[ElementShape | None] = None
    #: The request elements after ``<credentials>`` of a parameterless export.
    request_children: t.ClassVar[str] = ""

    #: Whether the SDK's ``batch_config`` applies to this stream (export_data only, see get_batch_config).
    sends_batches: t.ClassVar[bool] = False

    _parsed: tuple[requests.Response, etree._Element] | None = None

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """What this run warned about so far (unknown attributes, drifted types)."""
        super().__init__(*args, **kwargs)
        self.variance = Variance(self.name, self.logger)

    @override
    @property
    def url_base(self) -> str:
        return str(self.config["api_url"]).rstrip("/")

    @override
    @cached_property
    def requests_session(self) -> requests.Session:
        """Wall-clock deadline per request, proxies and CA bundle from the environment (read once)."""
        return environment_session(self.url_base)

    @cached_property
    @override
    def retry_policy(self) -> RetryPolicy:
        """Retry settings and defaults of tap-adaptive, read as every tap reads them (``landing_tap_kit.retries``).

        ``max_retries`` (5), ``max_retry_seconds`` (600), ``retry_base_seconds`` (2), and the cap of the
        tap's own waits, ``max_retry_wait_seconds`` (60; a server's Retry-After is never capped).
        """
        cap = number_setting(self.config, "max_retry_wait_seconds", 60.0) or 0.0
        return RetryPolicy.from_config(
            self.config, max_retries=5, max_retry_seconds=600.0, base_seconds=2.0, max_exponential_seconds=cap
        )

    @override
    @property
    def http_headers(self) -> dict[str, str]:
        return {"Content-Type": "text/xml; charset=UTF-8", "Accept": "text/xml"}

    @override
    @property
    def timeout(self) -> int:
        """Wall-clock limit of one whole request, body included (enforced by the session's adapter)."""
        return int(number_setting(self.config, "request_timeout", 300) or 300)

    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        """Method-specific request elements after ``<credentials>``."""
        return self.request_children

    @override
    def prepare_request_payload(self, context: Context | None, next_page_token: t.Any) -> bytes:
        return call_body(self.method, self.config, self.call_children(context, next_page_token))

    # -- responses --------------------------------------------------------------------------------

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
        if not envelope.success:
            raise_for_envelope(envelope, self.method, response, username=str(self.config.get("username")))

    def parsed_root(self, response: requests.Response) -> etree._Element:
        """Return the tree validate_response already parsed for this response (parsed again if not cached)."""
        cached, self._parsed = self._parsed, None
        if cached is not None and cached[0] is response:
            return cached[1]
        return parse_document(response.content)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        root = self.parsed_root(response)
        output = root.find("output")
        if output is None or self.shape is None:
            return
        records = flatten(output, self.shape, self.variance)
        yield from first_of_each_key(records, tuple(self.primary_keys or ()), self.warn_repeated_keys)

    def warn_repeated_keys(self, summary: str) -> None:
        """A key listed twice in one response lands once (the first listing), with one warning."""
        self.logger.warning("stream %s: %s (%s)", self.name, summary, self.method)

    @override
    def get_batch_config(self, config: t.Mapping[str, t.Any]) -> t.Any:
        """``batch_config`` for export_data only: every other stream always sends RECORD messages.

        mapper-pii hashes personal fields in RECORD lines and refuses a BATCH of a hashed stream (it cannot
        hash files it never reads); the metadata streams are small, so records cost them nothing. Typed
        ``Any``: the SDK's ``BatchConfig`` lives in a private module that nothing re-exports.
        """
        return super().get_batch_config(config) if self.sends_batches else None

    @override
    def generate_child_contexts(self, record: dict[str, t.Any], context: Context | None) -> Iterable[Context | None]:
        # The SDK default copies every record as a child context even for a childless stream: with
        # exportData's one record per cell that copy was a measurable share of the run (profiled).
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)
