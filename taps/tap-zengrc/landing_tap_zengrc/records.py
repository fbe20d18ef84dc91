"""Records as a real account sends them: undeclared fields kept, drifted types repaired or set aside.

Vendors add fields and tenants configure their own, and public clients disagree about some types (GitLab's
dbt models cast ``tags`` to VARCHAR where the Go client decodes a string list, ``shared/sources/zengrc.md``
§2.6-2.7). Issue 11 §3: nothing the API sends may be silently lost, and no value may corrupt its column.
So every top-level key the schema does not declare lands in the ``extra_fields`` object, and a declared
field whose value has the wrong JSON type is converted when that is lossless, else set to null with the
original kept under ``extra_fields[<field>]``. One warning per stream (new fields) and per stream+field
(type drift), never one per record.

The check is one dict lookup and one ``type()`` comparison per field: the tap reads ~10k records/s and a
jsonschema validation per record would halve that.
"""

from __future__ import annotations

import math
import typing as t
from datetime import UTC, date, datetime

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

EXTRA_FIELDS = "extra_fields"
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
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
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
    """ISO-8601 with any offset -> the same instant in UTC; anything else is drift."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Unconvertible from None
        if moment.tzinfo is None:  # the API sends offsets; a bare time is read as UTC, as loaders would
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


def _unconvertible(_: t.Any) -> t.Any:
    raise Unconvertible


class FieldCheck(t.NamedTuple):
    """What one declared top-level field accepts, and how to repair a value of another type."""

    accepted: frozenset[type]
    convert: Converter
    declared: str
    #: Accepted values still pass through ``convert`` (date-times are normalised to UTC).
    always_convert: bool = False


def field_check(schema: Mapping[str, t.Any]) -> FieldCheck:
    """The check for one property schema (SDK-generated: ``type`` a string or a list with ``"null"``)."""
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    types.discard("null")
    fmt = schema.get("format")
    if "string" in types and fmt == "date-time":
        return FieldCheck(frozenset({str}), _to_date_time, "string (date-time)", always_convert=True)
    if "string" in types and fmt == "date":
        return FieldCheck(frozenset({str}), _to_date, "string (date)", always_convert=True)
    simple: dict[str, tuple[frozenset[type], Converter]] = {
        "string": (frozenset({str}), _to_string),
        "integer": (frozenset({int}), _to_integer),
        "number": (frozenset({int, float}), _to_number),
        "boolean": (frozenset({bool}), _to_boolean),
        "object": (frozenset({dict}), _unconvertible),
        "array": (frozenset({list}), _unconvertible),
    }
    if len(types) == 1:
        (only,) = types
        if only in simple:
            accepted, convert = simple[only]
            return FieldCheck(accepted, convert, only)
    # A union or an untyped property accepts anything.
    everything = frozenset(_JSON_TYPE_NAMES)
    return FieldCheck(everything, _unconvertible, "/".join(sorted(types)) or "any")


class RecordConformer:
    """Applies the module's rules to the records of one stream and warns once per new fact."""

    def __init__(self, stream_name: str, properties: Mapping[str, Mapping[str, t.Any]], logger: logging.Logger) -> None:
        """Prepare one check per declared property (``extra_fields`` itself is not checked)."""
        self.stream_name = stream_name
        self.logger = logger
        self.checks: dict[str, FieldCheck] = {
            name: field_check(schema) for name, schema in properties.items() if name != EXTRA_FIELDS
        }
        self.always: tuple[str, ...] = tuple(name for name, check in self.checks.items() if check.always_convert)
        #: name -> accepted types incl. NoneType: the hot loop's only lookup (a NamedTuple attribute costs more).
        self.accepted: dict[str, frozenset[type]] = {
            name: check.accepted | {type(None)} for name, check in self.checks.items()
        }
        self.warned_unknown = False
        self.warned_drift: set[str] = set()

    def conform(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """The record with undeclared keys moved to ``extra_fields`` and every declared value well typed."""
        checks = self.checks
        accepted_types = self.accepted
        extras: dict[str, t.Any] | None = None
        for key, value in record.items():
            accepted = accepted_types.get(key)
            if accepted is None:
                if extras is None:
                    extras = {}
                extras[key] = value
            elif type(value) not in accepted:
                extras = self._repair(record, key, value, checks[key], extras)
        for key in self.always:
            value = record.get(key)
            # Already UTC (most values): the parse is skipped, as the tap did before drift checks existed.
            if type(value) is str and not value.endswith("+00:00"):
                try:
                    record[key] = checks[key].convert(value)
                except Unconvertible:
                    extras = self._set_aside(record, key, value, checks[key], extras)
        if extras:
            unknown = [key for key in extras if key not in checks]
            for key in unknown:
                del record[key]
            if unknown and not self.warned_unknown:
                self.warned_unknown = True
                self.logger.warning(
                    "stream %s: fields not in the schema kept in extra_fields: %s",
                    self.stream_name,
                    ", ".join(sorted(unknown)),
                )
            record[EXTRA_FIELDS] = extras
        else:
            # Present (null) in every record, so every row and the schema agree on the column.
            record[EXTRA_FIELDS] = None
        return record

    def _repair(
        self, record: dict[str, t.Any], key: str, value: t.Any, check: FieldCheck, extras: dict[str, t.Any] | None
    ) -> dict[str, t.Any] | None:
        try:
            record[key] = check.convert(value)
        except Unconvertible:
            return self._set_aside(record, key, value, check, extras)
        return extras

    def _set_aside(
        self, record: dict[str, t.Any], key: str, value: t.Any, check: FieldCheck, extras: dict[str, t.Any] | None
    ) -> dict[str, t.Any]:
        record[key] = None
        if extras is None:
            extras = {}
        extras[key] = value
        if key not in self.warned_drift:
            self.warned_drift.add(key)
            sent = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
            if sent == "string" and check.declared.startswith("string ("):
                sent = "string (not a valid " + check.declared[len("string (") :]
            self.logger.warning(
                "stream %s: field %s sent as %s, schema says %s; kept in extra_fields",
                self.stream_name,
                key,
                sent,
                check.declared,
            )
        return extras
