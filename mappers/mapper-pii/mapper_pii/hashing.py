"""Keyed hashing of personal values, and the field paths that say where they are.

Pure functions, no Singer I/O: the mapper (``mapper.py``) applies them to SCHEMA and RECORD
messages. Everything here is deterministic for a given key, which is what makes the hashes
joinable across sources and stable across runs (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MIN_KEY_LENGTH = 16
"""A shorter key is refused: a keyed hash is only as private as its key is hard to guess."""

_SEGMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<each>\[\])?")
#: Last part of a path that hashes every value of an object and keeps its keys (``extra_fields.*``).
EVERY_VALUE = "*"
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]{5,}[0-9]")
_HASHED_DESCRIPTION = "HMAC-SHA256 (hex) of the normalised personal value; see docs/privacy.md."


class PiiConfigError(ValueError):
    """A hashing configuration that would let a raw personal value through, or cannot run."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One step of a field path: a property name, and whether it holds a list to walk.

    ``every_value`` (last step only): the value is an object whose every value is hashed
    (``name.*``), keys kept, rather than the whole object being hashed into one string.
    """

    name: str
    each: bool
    every_value: bool = False


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A configured personal field, e.g. ``email``, ``requester.email``, ``reviewers[].reviewer.name``.

    ``extra_fields.*`` names every value of an object: a tap's catch-all column carries whatever
    the vendor added (a new phone attribute, a drifted ``email`` object), so each value is hashed
    while the keys stay readable and operators still see which new fields arrived.
    """

    text: str
    segments: tuple[Segment, ...]

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        """Read the dotted path syntax of docs/privacy.md; ``[]`` after a name walks a list.

        A final ``.*`` marks the step before it as an object whose values are all hashed.
        """
        parts = text.split(".")
        every_value = len(parts) > 1 and parts[-1] == EVERY_VALUE
        if every_value:
            parts.pop()
        segments = []
        for part in parts:
            match = _SEGMENT.fullmatch(part)
            if match is None:
                msg = (
                    f"invalid field path {text!r} (expected names joined by '.', '[]' after list names, "
                    "optionally '.*' last)"
                )
                raise PiiConfigError(msg)
            segments.append(Segment(match["name"], each=match["each"] is not None))
        if every_value:
            segments[-1] = Segment(segments[-1].name, each=segments[-1].each, every_value=True)
        return cls(text, tuple(segments))


def normalise(value: Any) -> str:
    """Return the canonical text of a value, so one person hashes the same in every source.

    Text: Unicode NFKC, whitespace collapsed, lower case (e-mail addresses and names differ
    in case between systems). Phone-like text keeps only a leading ``+`` and the digits
    ("+1 (555) 010-2000" and "+15550102000" are one number). Numbers use their shortest
    decimal form (Xactly salaries arrive as 85000, 85000.0 or 85000.00).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        return format(number.normalize(), "f") if number.is_finite() else str(number)
    if isinstance(value, str):
        text = " ".join(unicodedata.normalize("NFKC", value).split()).lower()
        if _PHONE.fullmatch(text):
            digits = "".join(ch for ch in text if ch.isdigit())
            return f"+{digits}" if text.startswith("+") else digits
        return text
    # An object or list where the configuration expected a scalar: hash all of it rather than
    # let any part through.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class KeyedHasher:
    """HMAC-SHA256 under one secret key; ``None`` and empty text stay as they are."""

    def __init__(self, key: str) -> None:
        if len(key) < MIN_KEY_LENGTH:
            msg = f"hash_key is shorter than {MIN_KEY_LENGTH} characters"
            raise PiiConfigError(msg)
        self._base = hmac.new(key.encode(), digestmod=hashlib.sha256)

    def __call__(self, value: Any) -> Any:
        """Hash one value (see :func:`normalise` for what counts as the same value)."""
        if value is None:
            return None
        text = normalise(value)
        if not text:
            return value
        digest = self._base.copy()
        digest.update(text.encode())
        return digest.hexdigest()


def hash_in_record(node: Any, segments: tuple[Segment, ...], hasher: Callable[[Any], Any]) -> None:
    """Replace, in place, every value the path reaches; missing keys and nulls are left alone.

    Fails safe on shape surprises: a list where an object was expected is walked item by item,
    and a leaf that is an object or list is hashed whole. A ``name.*`` leaf that is an object
    keeps its keys and has each value hashed whole; any other value there is hashed whole.
    """
    if isinstance(node, list):
        for item in node:
            hash_in_record(item, segments, hasher)
        return
    if not isinstance(node, dict):
        return
    head, rest = segments[0], segments[1:]
    if head.name not in node:
        return
    value = node[head.name]
    if rest:
        hash_in_record(value, rest, hasher)
    elif head.each and isinstance(value, list):
        node[head.name] = [_hash_leaf(item, head, hasher) for item in value]
    else:
        node[head.name] = _hash_leaf(value, head, hasher)


def _hash_leaf(value: Any, segment: Segment, hasher: Callable[[Any], Any]) -> Any:
    """The hashed form of one value a path ends at: per value for ``name.*`` objects, else whole."""
    if segment.every_value and isinstance(value, dict):
        return {key: hasher(item) for key, item in value.items()}
    return hasher(value)


def hash_in_schema(schema: dict[str, Any], path: FieldPath, stream: str) -> None:
    """Retype the path's leaf as a string (its hash) in a stream's JSON schema, in place.

    A name missing from a declared ``properties`` map is a configuration error (a typo would
    otherwise let the real field through unhashed). Below a free-form object (no
    ``properties``) there is nothing to retype, and the record walk still hashes the value.
    A ``name.*`` leaf stays an object (nullable if it was) whose values are all hashed strings.
    """
    node: dict[str, Any] = schema
    for index, segment in enumerate(path.segments):
        properties = _properties(node)
        if properties is None:
            return
        if segment.name not in properties:
            msg = f"stream {stream!r} has no field {segment.name!r} for hash path {path.text!r}"
            raise PiiConfigError(msg)
        last = index == len(path.segments) - 1
        child: dict[str, Any] = properties[segment.name]
        if segment.each:
            holder = _array_holder(child)
            if holder is None:
                if _declares_type(child):
                    msg = f"stream {stream!r}: {segment.name!r} is not a list in hash path {path.text!r}"
                    raise PiiConfigError(msg)
                return
            if last:
                holder["items"] = _hashed_leaf(holder.get("items", {}), path, stream)
                return
            node = holder.get("items", {})
        elif last:
            properties[segment.name] = _hashed_leaf(child, path, stream)
        else:
            node = child


def _properties(node: dict[str, Any]) -> dict[str, Any] | None:
    if "properties" in node:
        props: dict[str, Any] = node["properties"]
        return props
    for alternative in node.get("anyOf", []) + node.get("oneOf", []):
        if isinstance(alternative, dict) and "properties" in alternative:
            alt_props: dict[str, Any] = alternative["properties"]
            return alt_props
    return None


def _types(node: dict[str, Any]) -> set[str]:
    declared = node.get("type", [])
    found = {declared} if isinstance(declared, str) else set(declared)
    for alternative in node.get("anyOf", []) + node.get("oneOf", []):
        if isinstance(alternative, dict):
            found |= _types(alternative)
    return found


def _declares_type(node: dict[str, Any]) -> bool:
    return bool(_types(node))


def _array_holder(node: dict[str, Any]) -> dict[str, Any] | None:
    if "items" in node or "array" in _types({"type": node.get("type", [])}):
        return node
    for alternative in node.get("anyOf", []) + node.get("oneOf", []):
        if isinstance(alternative, dict) and ("items" in alternative or alternative.get("type") == "array"):
            return alternative
    return None


def _hashed_leaf(old: dict[str, Any], path: FieldPath, stream: str) -> dict[str, Any]:
    """The schema of a path's leaf once hashed: a string, or for ``name.*`` an object of strings."""
    if not path.segments[-1].every_value:
        return _hashed(old)
    types = _types(old)
    if types - {"object", "null"}:
        # Also a scalar or a list: a record could carry it and it would be hashed whole, but the
        # column's type would then have to be a string as well. Say so rather than guess.
        msg = f"stream {stream!r}: {path.segments[-1].name!r} is not an object in hash path {path.text!r}"
        raise PiiConfigError(msg)
    nullable = not types or "null" in types
    return {
        "type": ["object", "null"] if nullable else "object",
        "additionalProperties": _hashed({}),
        "description": f"Keys as sent; each value is the {_HASHED_DESCRIPTION}",
    }


def _hashed(old: dict[str, Any]) -> dict[str, Any]:
    types = _types(old)
    nullable = not types or "null" in types
    return {"type": ["string", "null"] if nullable else "string", "description": _HASHED_DESCRIPTION}


class MessageHasher:
    """The one place that decides what a Singer message looks like after hashing.

    Used by both ways personal fields are hashed in this project: the ``pii-hashed-tap`` launcher
    that every extractor with personal fields runs through (``launcher.py``), and the standalone
    ``mapper-pii`` inline mapper (``mapper.py``). Both therefore hash the same fields the same way.
    """

    def __init__(self, key: str | None, hash_fields: Mapping[str, Sequence[str]] | None) -> None:
        """Parse the configured paths and check the key before any message is read.

        Raises :class:`PiiConfigError` when a stream is configured but the key is missing or too
        short, or a path is malformed: hashing must be able to run before anything is extracted.
        """
        self.paths: dict[str, tuple[FieldPath, ...]] = {
            stream: tuple(FieldPath.parse(text) for text in texts)
            for stream, texts in (hash_fields or {}).items()
            if texts
        }
        if self.paths and not key:
            streams = ", ".join(sorted(self.paths))
            msg = (
                f"refusing to start: hash_key is not set (export PII_HASH_KEY) but hashing is "
                f"configured for streams: {streams}"
            )
            raise PiiConfigError(msg)
        self._hasher = KeyedHasher(key) if key else None

    def hash_message(self, message: dict[str, Any]) -> None:
        """Hash a SCHEMA or RECORD message of a configured stream in place; others are left alone.

        A BATCH message of a configured stream is refused: its files would carry the raw values
        past this process.
        """
        stream = message.get("stream")
        paths = self.paths.get(stream) if isinstance(stream, str) else None
        if not paths:
            return
        kind = message.get("type")
        if kind == "RECORD" and self._hasher is not None:
            for path in paths:
                hash_in_record(message["record"], path.segments, self._hasher)
        elif kind == "SCHEMA":
            for path in paths:
                hash_in_schema(message["schema"], path, stream)  # type: ignore[arg-type]
        elif kind == "BATCH":
            msg = (
                f"stream {stream!r} sent a BATCH message: batch files cannot be hashed; turn off the tap's batch_config"
            )
            raise PiiConfigError(msg)
