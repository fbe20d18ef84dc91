"""Records as real accounts send them: unknown fields kept in ``extra_fields``, type drift made safe.

Zendesk adds fields over time and accounts differ (add-ons, custom objects), so a field the schema
does not declare is kept under ``extra_fields`` instead of being dropped. A declared field whose value
has another JSON type is converted when nothing is lost (``"42"`` → 42, ``"true"``/``1`` → true);
otherwise the column gets null and the value as sent goes to ``extra_fields[<field>]``, so one odd
record cannot break a typed warehouse column. Each oddity is warned about once per stream.

The hot path is one set difference and one ``type()`` test per declared field present: no JSON
Schema validation per record (the SDK's conformance pass is off, see ``ZendeskStream``).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Record

EXTRA_FIELDS = "extra_fields"
#: The schema fragment every stream gets: one nullable open object.
EXTRA_FIELDS_SCHEMA: dict[str, Any] = {"type": ["object", "null"], "additionalProperties": True}
_PYTHON_TYPES: dict[str, frozenset[type]] = {
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "string": frozenset({str}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}
_JSON_NAMES: dict[type, str] = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
    dict: "object",
    list: "array",
}
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_NOT_CONVERTED = object()
#: Bound on remembered clean record shapes per stream (each is two small tuples).
MAX_REMEMBERED_SHAPES = 4096


def with_extra_fields(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` plus the ``extra_fields`` property."""
    return {**schema, "properties": {**schema["properties"], EXTRA_FIELDS: EXTRA_FIELDS_SCHEMA}}


class RecordShaper:
    """Keeps unknown top-level fields and repairs drifted types for one stream."""

    def __init__(
        self, stream: str, schema: dict[str, Any], logger: logging.Logger, passthrough: Iterable[str] = ()
    ) -> None:
        """``passthrough``: response fields that are neither schema nor extra (side-loads taken out later)."""
        self.stream = stream
        self.logger = logger
        properties: dict[str, Any] = schema["properties"]
        self.known = frozenset(properties) | frozenset(passthrough)
        self.checks = dict(_declared_types(properties))
        self.warned_extra = False
        self.warned_drift: set[str] = set()
        self.clean_shapes: set[tuple[tuple[str, ...], tuple[type, ...]]] = set()

    def shape(self, row: Record) -> Record:
        """Return ``row`` with unknown fields moved into ``extra_fields`` and drifted values repaired.

        Records of one stream come in few shapes (the same keys in the same order; a field is null or
        not): a shape seen clean before is passed at the cost of hashing its keys and value types,
        a quarter of checking field by field.
        """
        signature = (tuple(row), tuple(map(type, row.values())))
        if signature in self.clean_shapes:
            return row
        if self._repair(row) and len(self.clean_shapes) < MAX_REMEMBERED_SHAPES:
            self.clean_shapes.add(signature)
        return row

    def _repair(self, row: Record) -> bool:
        """Move unknown fields and repair drifted values in place; return whether the row was clean."""
        extra_names = row.keys() - self.known
        extra: dict[str, Any] | None = None
        if extra_names:
            extra = {name: row.pop(name) for name in sorted(extra_names)}
            if not self.warned_extra:
                self.warned_extra = True
                self.logger.warning(
                    "stream %s: fields not in the schema kept in extra_fields: %s", self.stream, ", ".join(extra)
                )
        checks = self.checks
        drifted = False
        for name, value in row.items():
            if value is None:
                continue
            expected = checks.get(name)
            if expected is None or type(value) in expected[0]:
                continue
            repaired = _convert(value, expected[1])
            drifted = True
            if repaired is not _NOT_CONVERTED:
                row[name] = repaired
                continue
            row[name] = None
            if extra is None:
                extra = {}
            extra[name] = value
            self._warn_drift(name, value, expected[1])
        if extra is not None:
            row[EXTRA_FIELDS] = extra
        return extra is None and not drifted

    def _warn_drift(self, name: str, value: Any, kinds: tuple[str, ...]) -> None:
        if name in self.warned_drift:
            return
        self.warned_drift.add(name)
        sent = _JSON_NAMES.get(type(value), type(value).__name__)
        self.logger.warning(
            "stream %s: field %s sent as %s, schema says %s; kept in extra_fields",
            self.stream,
            name,
            sent,
            "/".join(kinds),
        )


def _declared_types(properties: dict[str, Any]) -> Iterable[tuple[str, tuple[frozenset[type], tuple[str, ...]]]]:
    """(field, (accepted Python types, JSON type names)) for every field with a checkable type."""
    for name, spec in properties.items():
        declared = spec.get("type")
        if declared is None:
            continue  # any value (custom field values)
        kinds = tuple(k for k in ([declared] if isinstance(declared, str) else declared) if k != "null")
        if not kinds or any(k not in _PYTHON_TYPES for k in kinds):
            continue
        accepted = frozenset().union(*(_PYTHON_TYPES[k] for k in kinds))
        if kinds == ("string",) and spec.get("format") == "date-time":
            kinds = ("string (date-time)",)  # a number here is no date: never converted to text
        yield name, (accepted, kinds)


def _convert(value: Any, kinds: tuple[str, ...]) -> Any:
    """The value in the first declared type that holds it without loss, else ``_NOT_CONVERTED``."""
    for kind in kinds:
        converted = _CONVERTERS.get(kind, _never)(value)
        if converted is not _NOT_CONVERTED:
            return converted
    return _NOT_CONVERTED


def _never(_value: Any) -> Any:
    return _NOT_CONVERTED


def _to_integer(value: Any) -> Any:
    if isinstance(value, bool):
        return _NOT_CONVERTED
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    return _NOT_CONVERTED


def _to_number(value: Any) -> Any:
    if isinstance(value, str):
        integer = _to_integer(value)
        if integer is not _NOT_CONVERTED:
            return integer
        try:
            number = float(value)
        except ValueError:
            return _NOT_CONVERTED
        return number if math.isfinite(number) else _NOT_CONVERTED
    return _NOT_CONVERTED


def _to_boolean(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    elif type(value) is int and value in {0, 1}:
        return bool(value)
    return _NOT_CONVERTED


def _to_string(value: Any) -> Any:
    """Numbers become their decimal text (an id sent as a number); nothing else is a string."""
    if type(value) in {int, float}:
        return str(value)
    return _NOT_CONVERTED


_CONVERTERS = {"integer": _to_integer, "number": _to_number, "boolean": _to_boolean, "string": _to_string}
