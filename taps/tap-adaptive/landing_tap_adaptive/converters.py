"""Attribute text → typed value, chosen from the JSON type the stream's schema declares for the column.

The XML API sends every value as attribute text. Each converter returns the typed value, None for the
empty string (the API's "nothing", adaptive.md §9.7), and raises ValueError for text that does not fit:
the caller then keeps that text in ``extra_fields`` (type drift is kept, never dropped).
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Mapping
from datetime import datetime

Converter = Callable[[str], t.Any]


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


def to_date(text: str) -> str | None:
    """Period start/end dates are already ISO dates; empty → null."""
    return text or None


def to_list(text: str) -> list[str]:
    """Comma-separated id lists (groupIds, permissionSetIds, permissions) become JSON arrays."""
    return [part.strip() for part in text.split(",") if part.strip()]


def to_bool_or_text(text: str) -> bool | str | None:
    """Flag objects (user subscriptions): booleans when they are flags, the text as sent otherwise."""
    try:
        return to_bool(text)
    except ValueError:
        return text


def converter_for(property_schema: Mapping[str, t.Any]) -> Converter | None:
    """The converter a column's JSON schema calls for; None for plain text (kept as sent, "" included)."""
    declared = property_schema.get("type", "string")
    types = {declared} if isinstance(declared, str) else set(declared)
    if "integer" in types:
        return to_int
    if "number" in types:
        return to_number
    if "boolean" in types:
        return to_bool
    if "array" in types:
        return to_list
    if property_schema.get("format") == "date-time":
        return to_datetime
    if property_schema.get("format") == "date":
        return to_date
    return None


def type_name(property_schema: Mapping[str, t.Any]) -> str:
    """JSON type named in drift warnings ("integer", "date-time string", ...)."""
    declared = property_schema.get("type", "string")
    kind = next((k for k in ([declared] if isinstance(declared, str) else declared) if k != "null"), "string")
    fmt = property_schema.get("format")
    return f"{fmt} string" if kind == "string" and fmt == "date-time" else fmt or kind
