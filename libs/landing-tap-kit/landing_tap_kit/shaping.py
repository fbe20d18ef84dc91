"""Records as real accounts send them: undeclared fields kept in ``extra_fields``, type drift repaired losslessly.

Vendors add fields over time and accounts differ (add-ons, tenant-defined fields), so a top-level field
the schema does not declare is kept under ``extra_fields`` instead of being dropped (DESIGN: "fields the
schema does not know are kept"). A declared field whose value has another JSON type is converted when
nothing is lost (``"42"`` → 42, ``"true"``/``1`` → true, 1234 → ``"1234"``); otherwise the column gets
null and the value as sent goes to ``extra_fields[<field>]``, so one odd record cannot break a typed
warehouse column. Date-times are emitted as UTC (``+02:00`` offsets become the same instant in UTC);
an unparseable date or date-time is drift. Each oddity is warned about once per stream, never per record.

The hot path is one dict lookup and one ``type()`` test per field: no JSON Schema validation per record
(taps set the SDK's type conformance to ``NONE``: this module is their conformance). Records of one
stream come in few shapes, and a shape seen clean before is passed after hashing its keys and types.
"""

from __future__ import annotations

import math
import typing as t
from datetime import UTC, date, datetime

from singer_sdk import typing as th

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Mapping

EXTRA_FIELDS = "extra_fields"
#: The schema fragment every stream gets: one nullable open object.
EXTRA_FIELDS_SCHEMA: dict[str, t.Any] = {"type": ["object", "null"], "additionalProperties": True}
#: The same, for schemas written with ``singer_sdk.typing``.
EXTRA_FIELDS_PROPERTY = th.Property(
    EXTRA_FIELDS,
    th.ObjectType(additional_properties=True),
    description="Top-level fields the API sent that this schema does not declare, and drifted values, as sent.",
)
#: Bound on remembered clean record shapes per stream (each is two small tuples).
MAX_REMEMBERED_SHAPES = 4096
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_JSON_TYPE_NAMES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
}


def with_extra_fields(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """``schema`` plus the ``extra_fields`` property."""
    return {**schema, "properties": {**schema["properties"], EXTRA_FIELDS: EXTRA_FIELDS_SCHEMA}}


class Unconvertible(ValueError):
    """The value cannot become the declared type without losing information."""


Converter = t.Callable[[t.Any], t.Any]


def _to_integer(value: t.Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    raise Unconvertible


def _to_number(value: t.Any) -> int | float:
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
        try:
            number = float(text)
        except ValueError:
            raise Unconvertible from None
        if math.isfinite(number):
            return number
    raise Unconvertible


def _to_boolean(value: t.Any) -> bool:
    if type(value) is int and value in {0, 1}:
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise Unconvertible


def _to_string(value: t.Any) -> str:
    # A number or boolean where text is declared (a code sent as 1234) reads back exactly as text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise Unconvertible


def _to_date_time(value: t.Any) -> str:
    """ISO-8601 with any offset -> the same instant in UTC; a bare time is read as UTC, as loaders would."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Unconvertible from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    raise Unconvertible


def _to_date(value: t.Any) -> str:
    if isinstance(value, str):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise Unconvertible from None
        return value
    raise Unconvertible


def _unconvertible(_value: t.Any) -> t.Any:
    raise Unconvertible


class FieldCheck(t.NamedTuple):
    """What one declared top-level field accepts, and how to repair a value of another type."""

    accepted: frozenset[type]
    convert: Converter
    declared: str
    #: Accepted values still pass through ``convert`` (date-times normalised to UTC, dates validated).
    always_convert: bool = False


_SIMPLE: dict[str, tuple[frozenset[type], Converter]] = {
    "string": (frozenset({str}), _to_string),
    "integer": (frozenset({int}), _to_integer),
    "number": (frozenset({int, float}), _to_number),
    "boolean": (frozenset({bool}), _to_boolean),
    "object": (frozenset({dict}), _unconvertible),
    "array": (frozenset({list}), _unconvertible),
}


def field_check(schema: Mapping[str, t.Any]) -> FieldCheck:
    """The check for one property schema (``type`` a string or a list with ``"null"``)."""
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    types.discard("null")
    fmt = schema.get("format")
    if types == {"string"} and fmt == "date-time":
        return FieldCheck(frozenset({str}), _to_date_time, "string (date-time)", always_convert=True)
    if types == {"string"} and fmt == "date":
        return FieldCheck(frozenset({str}), _to_date, "string (date)", always_convert=True)
    if len(types) == 1:
        (only,) = types
        if only in _SIMPLE:
            accepted, convert = _SIMPLE[only]
            return FieldCheck(accepted, convert, only)
    # A union or an untyped property accepts anything.
    return FieldCheck(frozenset(_JSON_TYPE_NAMES), _unconvertible, "/".join(sorted(types)) or "any")


#: The one spelling of UTC in emitted date-times (``Z`` is rewritten to it without a parse).
UTC_SUFFIX = "+00:00"


class RecordShaper:
    """Keeps unknown top-level fields and repairs drifted types for one stream."""

    def __init__(
        self,
        stream_name: str,
        schema: Mapping[str, t.Any],
        logger: logging.Logger,
        *,
        passthrough: Iterable[str] = (),
        always_emit_extra_fields: bool = False,
    ) -> None:
        """Prepare one check per declared property of ``schema`` (a stream schema with ``properties``).

        ``passthrough``: response fields that are neither schema nor extra (side-loads a tap takes out later).
        ``always_emit_extra_fields``: every record carries ``extra_fields`` (null when nothing was extra),
        so every row and the schema agree on the column.
        """
        self.stream_name = stream_name
        self.logger = logger
        properties: Mapping[str, t.Any] = schema["properties"]
        self.checks: dict[str, FieldCheck] = {
            name: field_check(spec) for name, spec in properties.items() if name != EXTRA_FIELDS
        }
        self.always: tuple[str, ...] = tuple(name for name, check in self.checks.items() if check.always_convert)
        #: name -> accepted types incl. NoneType: the hot loop's only lookup.
        self.accepted: dict[str, frozenset[type]] = {
            name: check.accepted | {type(None)} for name, check in self.checks.items()
        }
        for name in passthrough:
            self.accepted.setdefault(name, frozenset(_JSON_TYPE_NAMES) | {type(None)})
        self.always_emit_extra_fields = always_emit_extra_fields
        self.warned_unknown = False
        self.warned_drift: set[str] = set()
        self.clean_shapes: set[tuple[tuple[str, ...], tuple[type, ...]]] = set()

    def shape(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """``record``, changed in place: undeclared keys moved to ``extra_fields``, declared values well typed."""
        signature = (tuple(record), tuple(map(type, record.values())))
        if signature in self.clean_shapes:
            extras = self._normalise_always(record, None)
        else:
            extras = self._repair(record)
            if extras is None and len(self.clean_shapes) < MAX_REMEMBERED_SHAPES:
                self.clean_shapes.add(signature)
            extras = self._normalise_always(record, extras)
        if extras:
            record[EXTRA_FIELDS] = extras
        elif self.always_emit_extra_fields:
            record[EXTRA_FIELDS] = None
        return record

    def _repair(self, record: dict[str, t.Any]) -> dict[str, t.Any] | None:
        """Move unknown fields out and repair drifted values in place; the set-aside values, or None if clean."""
        accepted_types = self.accepted
        extras: dict[str, t.Any] | None = None
        unknown: list[str] = []
        for key, value in record.items():
            accepted = accepted_types.get(key)
            if accepted is None:
                unknown.append(key)
            elif type(value) not in accepted:
                extras = self._repair_value(record, key, value, extras)
        if unknown:
            if extras is None:
                extras = {}
            for key in sorted(unknown):
                extras[key] = record.pop(key)
            if not self.warned_unknown:
                self.warned_unknown = True
                self.logger.warning(
                    "stream %s: fields not in the schema kept in extra_fields: %s",
                    self.stream_name,
                    ", ".join(sorted(unknown)),
                )
        return extras

    def _normalise_always(self, record: dict[str, t.Any], extras: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
        checks = self.checks
        for key in self.always:
            value = record.get(key)
            if type(value) is not str or value.endswith(UTC_SUFFIX):
                continue  # null, drift already set aside, or already UTC (most values): no parse
            if value.endswith("Z") and checks[key].declared == "string (date-time)":
                record[key] = value[:-1] + UTC_SUFFIX
            else:
                try:
                    record[key] = checks[key].convert(value)
                except Unconvertible:
                    extras = self._set_aside(record, key, value, extras)
        return extras

    def _repair_value(
        self, record: dict[str, t.Any], key: str, value: t.Any, extras: dict[str, t.Any] | None
    ) -> dict[str, t.Any] | None:
        try:
            record[key] = self.checks[key].convert(value)
        except Unconvertible:
            return self._set_aside(record, key, value, extras)
        if extras is None:
            return {}  # repaired: not a clean shape, but nothing set aside
        return extras

    def _set_aside(
        self, record: dict[str, t.Any], key: str, value: t.Any, extras: dict[str, t.Any] | None
    ) -> dict[str, t.Any]:
        record[key] = None
        if extras is None:
            extras = {}
        extras[key] = value
        if key not in self.warned_drift:
            self.warned_drift.add(key)
            declared = self.checks[key].declared
            sent = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
            if sent == "string" and declared.startswith("string ("):
                sent = "string (not a valid " + declared[len("string (") :]
            self.logger.warning(
                "stream %s: field %s sent as %s, schema says %s; kept in extra_fields",
                self.stream_name,
                key,
                sent,
                declared,
            )
        return extras
