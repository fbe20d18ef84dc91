"""JSON Schema → DuckDB column types, and how a column's type may change between runs.

The mapping is "honest": integers stay 64-bit, money with a declared scale stays exact, timestamps keep
their time zone, nested values stay queryable JSON. Anything ambiguous lands as JSON rather than as a
lossy guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

JSON = "JSON"
VARCHAR = "VARCHAR"
BIGINT = "BIGINT"
DOUBLE = "DOUBLE"
DECIMAL_PRECISION = 38
#: Scale used for ``{"type": "string", "format": "decimal"}`` when the schema declares none.
DEFAULT_DECIMAL_SCALE = 9

_STRING_FORMATS = {"date-time": "TIMESTAMPTZ", "date": "DATE", "time": "TIME"}
_SCALAR_TYPES = {"integer": BIGINT, "boolean": "BOOLEAN", "object": JSON, "array": JSON}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
#: Widening order among numeric types: a column only ever moves right.
_NUMERIC_RANK = {BIGINT: 0, "DECIMAL": 1, DOUBLE: 2}
#: information_schema spells some types differently from the DDL we write.
_CATALOG_SPELLINGS = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ", "TIME WITHOUT TIME ZONE": "TIME"}


def decimal_type(scale: int) -> str:
    """DECIMAL at full precision: the scale is what the schema promises, the integer digits are not."""
    return f"DECIMAL({DECIMAL_PRECISION},{scale})"


def _decimal_scale(multiple_of: Any) -> int | None:
    """Return the scale ``s`` when ``multipleOf`` is exactly 10^-s (0.01 → 2, 1 → 0), else None."""
    try:
        step = Decimal(str(multiple_of)).normalize()
    except (InvalidOperation, ValueError):
        return None
    sign, digits, exponent = step.as_tuple()
    if sign or digits != (1,) or not isinstance(exponent, int) or exponent > 0:
        return None
    scale = -exponent
    return scale if scale < DECIMAL_PRECISION else None


def _types_of(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    types = [declared] if isinstance(declared, str) else list(declared)
    return [t for t in types if t != "null"]


def column_type(schema: Mapping[str, Any]) -> str:
    """DuckDB type for one JSON Schema property (see the README's type table)."""
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        mapped = {column_type(v) for v in variants if _types_of(v) or "anyOf" in v or "oneOf" in v}
        return mapped.pop() if len(mapped) == 1 else JSON
    types = _types_of(schema)
    if set(types) == {"integer", "number"}:
        types = ["number"]
    if len(types) != 1:
        return JSON
    (kind,) = types
    if kind == "number":
        scale = _decimal_scale(schema["multipleOf"]) if "multipleOf" in schema else None
        return DOUBLE if scale is None else decimal_type(scale)
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "decimal":
            scale = _decimal_scale(schema["multipleOf"]) if "multipleOf" in schema else None
            return decimal_type(DEFAULT_DECIMAL_SCALE if scale is None else scale)
        return _STRING_FORMATS.get(fmt or "", VARCHAR)
    return _SCALAR_TYPES.get(kind, JSON)


def catalog_type(data_type: str) -> str:
    """Normalise a type name read from information_schema to the spelling :func:`column_type` uses."""
    upper = data_type.upper()
    return _CATALOG_SPELLINGS.get(upper, upper.replace(", ", ","))


def is_decimal(sql_type: str) -> bool:
    """Tell DECIMAL(p,s) columns, whose values must reach DuckDB as text to keep every digit."""
    return sql_type.startswith("DECIMAL")


def decimal_scale(sql_type: str) -> int:
    """Read s back from ``DECIMAL(p,s)``."""
    match = _DECIMAL.fullmatch(sql_type)
    if match is None:
        msg = f"not a DECIMAL type: {sql_type}"
        raise ValueError(msg)
    return int(match[2])


def _numeric_rank(sql_type: str) -> int | None:
    return _NUMERIC_RANK.get("DECIMAL" if is_decimal(sql_type) else sql_type)


def widened(existing: str, wanted: str) -> str | None:
    """Return the type an existing column must change to so it holds ``wanted`` values (None: keep it).

    Numbers only widen (BIGINT → DECIMAL → DOUBLE, a DECIMAL's scale only grows); VARCHAR and JSON
    columns already hold anything; any other disagreement becomes VARCHAR, which every type casts to,
    so a later run never fails on (or silently rounds) a value the earlier schema did not foresee.
    """
    if existing == wanted:
        return None
    old_rank, new_rank = _numeric_rank(existing), _numeric_rank(wanted)
    if old_rank is not None and new_rank is not None:
        if is_decimal(existing) and is_decimal(wanted):
            return wanted if decimal_scale(wanted) > decimal_scale(existing) else None
        return wanted if new_rank > old_rank else None
    if existing in (VARCHAR, JSON):
        return None
    if (existing, wanted) == ("DATE", "TIMESTAMPTZ"):
        return wanted
    return VARCHAR
