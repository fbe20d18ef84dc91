"""The Adaptive XML protocol, free of SDK concerns: call bodies, safe parsing, envelopes, CSV output.

Facts from ``shared/sources/adaptive.md``: one POST endpoint, credentials inside the ``<call>`` body
(§1, so bodies must never be logged), failures as HTTP 200 with ``success="false"`` and
``<message key=...>`` (§1, §4), streamed exportData puts success and ``rowCountSent`` on a trailing
``<status>`` element instead of the root (§4, §9.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from lxml import etree

#: libxml2 caps text nodes at 10 MB unless huge_tree is on; exportData CSV is one text node.
#: Entity resolution, DTD loading and network access stay off, which is what makes the parser safe.
_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": True,
}
FEED_CHUNK = 1 << 20


class MalformedXMLError(ValueError):
    """The body is not the well-formed XML envelope the API promises (truncated, garbage, DTD)."""


@dataclass
class Message:
    """One ``<message key type>text</message>`` of a failure envelope."""

    key: str
    type: str
    text: str


@dataclass
class Envelope:
    """What every response says about itself, whatever its payload."""

    success: bool
    messages: list[Message] = field(default_factory=list)
    row_count_sent: int | None = None


def _reject_doctype(body: bytes) -> None:
    # A DOCTYPE is the vehicle of entity-expansion and XXE attacks; the API never sends one.
    if b"<!DOCTYPE" in body[:4096] or b"<!ENTITY" in body[:4096]:
        raise MalformedXMLError("response declares a DOCTYPE/ENTITY, refused")


def call_body(method: str, config: Mapping[str, Any], children: str = "", *, stream: bool = False) -> bytes:
    """Build a ``<call>`` document. Attribute values are XML-escaped (passwords may hold ``&<"``)."""
    creds = {"login": config.get("username") or "", "password": config.get("password") or ""}
    if config.get("locale"):
        creds["locale"] = config["locale"]
    if config.get("instance_code"):
        creds["instanceCode"] = config["instance_code"]
    cred_attrs = "".join(f" {k}={quoteattr(str(v))}" for k, v in creds.items())
    stream_attr = ' stream="true"' if stream else ""
    caller = quoteattr(str(config.get("caller_name") or "tap-adaptive"))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<call method="{method}" callerName={caller}{stream_attr}>'
        f"<credentials{cred_attrs}/>{children}</call>"
    ).encode()


def element(tag: str, attrs: Mapping[str, Any] | None = None, children: str = "") -> str:
    """One request element; booleans rendered the way the API spells them (``true``/``false``)."""
    text = "".join(
        f" {k}={quoteattr(str(v).lower() if isinstance(v, bool) else str(v))}"
        for k, v in (attrs or {}).items()
        if v is not None
    )
    return f"<{tag}{text}>{children}</{tag}>" if children else f"<{tag}{text}/>"


def parse_document(body: bytes) -> etree._Element:
    """Parse a whole (metadata) response with the safe parser."""
    _reject_doctype(body)
    try:
        return etree.fromstring(body, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise MalformedXMLError(str(exc)) from None


def envelope_of(root: etree._Element) -> Envelope:
    """Success flag and messages of a parsed document (root ``success`` or streamed ``<status>``)."""
    messages = [
        Message(m.get("key") or "", m.get("type") or "", (m.text or "").strip())
        for m in root.iterfind("messages/message")
    ]
    flag = root.get("success")
    status = root.find("status")
    count = None
    if flag is None and status is not None:
        flag = status.get("success")
        count = _int(status.get("rowCountSent"))
    return Envelope(success=flag == "true", messages=messages, row_count_sent=count)


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


class _Collector:
    """lxml parser target: keeps the envelope facts and hands out ``<output>`` text as it arrives.

    A target parser never builds a tree, so a streamed exportData response costs the response bytes
    plus one feed chunk of text, however large the CSV is.
    """

    def __init__(self, keep_output: bool) -> None:
        self.keep_output = keep_output
        self.depth = 0
        self.in_output = False
        self.root_success: str | None = None
        self.status: dict[str, str] | None = None
        self.messages: list[Message] = []
        self._message: tuple[str, str, list[str]] | None = None
        self.pieces: list[str] = []
        self.saw_root_end = False

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        if self.depth == 0:
            self.root_success = attrib.get("success")
        elif self.depth == 1 and tag == "output":
            self.in_output = True
        elif self.depth == 1 and tag == "status":
            self.status = dict(attrib)
        elif tag == "message":
            self._message = (attrib.get("key", ""), attrib.get("type", ""), [])
        self.depth += 1

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self.depth == 1 and tag == "output":
            self.in_output = False
        elif tag == "message" and self._message is not None:
            key, kind, text = self._message
            self.messages.append(Message(key, kind, "".join(text).strip()))
            self._message = None
        if self.depth == 0:
            self.saw_root_end = True

    def data(self, text: str) -> None:
        if self.in_output and self.depth == 2:
            if self.keep_output:
                self.pieces.append(text)
        elif self._message is not None:
            self._message[2].append(text)

    def close(self) -> _Collector:
        return self

    def envelope(self) -> Envelope:
        flag = self.root_success
        count = None
        if flag is None and self.status is not None:
            flag = self.status.get("success")
            count = _int(self.status.get("rowCountSent"))
        return Envelope(success=flag == "true", messages=self.messages, row_count_sent=count)


def _feed(body: bytes, collector: _Collector) -> Iterator[str]:
    parser = etree.XMLParser(target=collector, **_PARSER_OPTIONS)
    view = memoryview(body)
    try:
        for start in range(0, len(body), FEED_CHUNK):
            parser.feed(bytes(view[start : start + FEED_CHUNK]))
            if collector.pieces:
                text = "".join(collector.pieces)
                collector.pieces.clear()
                yield text
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise MalformedXMLError(str(exc)) from None
    if collector.pieces:
        yield "".join(collector.pieces)
        collector.pieces.clear()


def scan_envelope(body: bytes) -> Envelope:
    """Check a (possibly huge) streamed response end to end without keeping its text."""
    _reject_doctype(body)
    collector = _Collector(keep_output=False)
    for _ in _feed(body, collector):
        pass
    if not collector.saw_root_end:
        raise MalformedXMLError("response ended before its root element closed")
    return collector.envelope()


def output_lines(body: bytes) -> Iterator[str]:
    """Yield the ``<output>`` CSV of a response line by line (line ends kept for quoted multi-line fields).

    Lines are sliced out of each text piece one at a time: ``StringIO``/``splitlines`` would copy the
    whole CSV again (StringIO even at 4 bytes a character). libxml2 hands a CDATA section over in one
    piece, so the peak is the response plus its text, whatever the row count.
    """
    _reject_doctype(body)
    carry = ""
    for piece in _feed(body, _Collector(keep_output=True)):
        text = carry + piece if carry else piece
        start = 0
        find = text.find
        while (end := find("\n", start)) >= 0:
            yield text[start : end + 1]
            start = end + 1
        carry = text[start:]
    if carry:
        yield carry


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake(name: str) -> str:
    """Column name for an API attribute: ``isReportingCurrency`` → ``is_reporting_currency``."""
    return _CAMEL.sub("_", name).replace("-", "_").lower()
