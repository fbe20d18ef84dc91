"""Discovery from the source: tables, columns, types and keys from JDBC ``DatabaseMetaData``.

Xactly's driver answers ``getTables``/``getColumns``/``getPrimaryKeys`` from ``SHOW TABLES`` / the column
listing / ``SHOW KEYS`` (shared/sources/xactly.md §1.6), so tenant custom columns appear without code
changes. The built-in catalogue fills a missing key and stands in when metadata is unavailable.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from landing_tap_xactly import jdbc
from landing_tap_xactly.catalogue import KNOWN_TABLES, REPLICATION_KEY
from landing_tap_xactly.errors import TransientDatabaseError, XactlyError

LOGGER = logging.getLogger("tap-xactly")


@dataclass(frozen=True)
class TableInfo:
    """One source table as a stream: name, key, replication key and JSON Schema."""

    name: str
    key: tuple[str, ...]
    replication_key: str | None
    schema: dict[str, Any]


def json_type(jdbc_type: int, scale: int, nullable: bool) -> dict[str, Any]:
    """Honest JSON Schema for a JDBC column type (see :func:`jdbc.converter` for the values)."""
    if jdbc_type in jdbc.INTEGER_TYPES or (jdbc_type in jdbc.DECIMAL_TYPES and scale == 0):
        schema: dict[str, Any] = {"type": ["integer"]}
    elif jdbc_type in jdbc.DECIMAL_TYPES or jdbc_type in jdbc.FLOAT_TYPES:
        schema = {"type": ["number"]}
    elif jdbc_type in jdbc.TIMESTAMP_TYPES:
        schema = {"type": ["string"], "format": "date-time"}
    elif jdbc_type == jdbc.DATE:
        schema = {"type": ["string"], "format": "date"}
    elif jdbc_type in jdbc.BOOLEAN_TYPES:
        schema = {"type": ["boolean"]}
    else:
        schema = {"type": ["string"]}
    if nullable:
        schema["type"].append("null")
    return schema


def selected_names(names: Iterable[str], include: Sequence[str], exclude: Sequence[str]) -> list[str]:
    """Stream names matching an include pattern and no exclude pattern (shell-style, case-insensitive)."""
    chosen = []
    for name in names:
        lower = name.lower()
        if any(fnmatch.fnmatchcase(lower, p.lower()) for p in include) and not any(
            fnmatch.fnmatchcase(lower, p.lower()) for p in exclude
        ):
            chosen.append(name)
    return sorted(chosen)


def _rows(result: Any, *columns: str) -> list[tuple[Any, ...]]:
    rows = []
    try:
        while result.next():
            rows.append(tuple(result.getObject(c) for c in columns))
    finally:
        result.close()
    return rows


def from_metadata(connection: Any, schema: str, include: Sequence[str], exclude: Sequence[str]) -> list[TableInfo]:
    """Tables of ``schema`` (matched case-insensitively: H2 says XACTLY, Xactly writes xactly)."""
    meta = connection.getMetaData()
    tables = {
        str(name).lower(): (str(schem), str(name))
        for schem, name in _rows(meta.getTables(None, None, "%", None), "TABLE_SCHEM", "TABLE_NAME")
        if schem is not None and str(schem).lower() == schema.lower()
    }
    infos = []
    for stream in selected_names(tables, include, exclude):
        schem, table = tables[stream]
        columns = _rows(
            meta.getColumns(None, schem, table, "%"), "COLUMN_NAME", "DATA_TYPE", "DECIMAL_DIGITS", "NULLABLE"
        )
        keys = sorted(_rows(meta.getPrimaryKeys(None, schem, table), "KEY_SEQ", "COLUMN_NAME"))
        infos.append(_table_info(stream, columns, tuple(str(name) for _, name in keys)))
    return infos


def _table_info(stream: str, columns: list[tuple[Any, ...]], key: tuple[str, ...]) -> TableInfo:
    names = [str(c[0]) for c in columns]
    known = KNOWN_TABLES.get(stream)
    if not key and known and all(k in names for k in known.key):
        key = known.key
    properties = {
        str(name): json_type(int(data_type), int(scale or 0), str(name) not in key and int(nullable or 0) != 0)
        for name, data_type, scale, nullable in columns
    }
    replication_key = REPLICATION_KEY if key and REPLICATION_KEY in properties else None
    schema = {"type": "object", "properties": properties}
    if key:
        schema["required"] = list(key)
    return TableInfo(stream, key, replication_key, schema)


def from_catalogue(include: Sequence[str], exclude: Sequence[str]) -> list[TableInfo]:
    """The built-in catalogue, when the driver cannot describe its tables."""
    infos = []
    for name in selected_names(KNOWN_TABLES, include, exclude):
        known = KNOWN_TABLES[name]
        infos.append(TableInfo(name, known.key, known.replication_key if known.key else None, known.schema()))
    return infos


def discover(client: jdbc.JdbcClient, schema: str, include: Sequence[str], exclude: Sequence[str]) -> list[TableInfo]:
    """Metadata when the driver answers it, else the catalogue (connection errors are not hidden)."""
    client.connect("discovery")  # a failure to connect or log in is not a metadata problem: it ends the run
    try:
        infos = client.run(lambda connection: from_metadata(connection, schema, include, exclude), "discovery")
    except TransientDatabaseError:
        raise
    except XactlyError as error:
        LOGGER.warning("driver metadata unavailable (%s); using the built-in xc_* catalogue", error)
        return from_catalogue(include, exclude)
    if not infos:
        msg = f"setting schema: no tables in schema {schema!r} match tables_include/tables_exclude"
        raise XactlyError(msg)
    return infos
