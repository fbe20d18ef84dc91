"""The DuckDB side: one connection, DDL that evolves tables, and set-based batch loads.

Every batch is loaded by DuckDB itself from a newline-delimited JSON file (``read_json`` with the
table's column types), inside one transaction that also checks the inserted row count against the
number of records handed over: a batch either lands completely or the run fails. That check is what
the PyPI target-duckdb lacked when DuckDB >= 1.3 began reading its header-less CSV's first row as a
header (reference/meltano-notes.md §2b).
"""

# SQL here is built from identifiers passed through quote()/literal(); values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from singer_sdk.exceptions import MissingKeyPropertiesError

from target_warehouse.types import JSON, catalog_type, widened

VERSION_COLUMN = "_sdc_table_version"
DELETED_AT_COLUMN = "_sdc_deleted_at"
#: read_json refuses single records above this size (DuckDB's default is 16 MB).
MAX_RECORD_BYTES = 256 * 1024 * 1024


class WarehouseError(Exception):
    """A load failed; the message names the stream's table and DuckDB's reason, on one line."""


def quote(identifier: str) -> str:
    """Quote an identifier, so stream and property names never need renaming (DuckDB keeps case)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """Quote a string literal (file paths, column names inside read_json's columns struct)."""
    return "'" + text.replace("'", "''") + "'"


def first_line(error: BaseException) -> str:
    """DuckDB errors carry a multi-line SQL excerpt; the first line is the reason."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@dataclass(frozen=True)
class TableRef:
    """Where a stream lands: schema (from default_target_schema) and table (from the stream name)."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


class Warehouse:
    """One DuckDB database file, written by one process at a time (DuckDB's own file lock)."""

    def __init__(self, filepath: Path, logger: logging.Logger) -> None:
        self.logger = logger
        filepath.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(filepath))
        except duckdb.Error as exc:
            msg = f"cannot open warehouse file {filepath}: {first_line(exc)}"
            raise WarehouseError(msg) from exc
        # Naive timestamps from a tap are UTC by the project's rules; never read them in local time.
        self._con.execute("SET TimeZone = 'UTC'")
        # Names are always catalog-qualified: a schema named like the file (TAP_X in tap_x.duckdb)
        # is otherwise an "ambiguous reference to catalog or schema".
        row = self._con.execute("SELECT current_database()").fetchone()
        self._catalog = str(row[0]) if row else "memory"
        self._versions: dict[TableRef, int] = {}
        #: Full-table streams without key properties: their retired versions are deleted, not marked.
        self._keyless: set[TableRef] = set()
        #: Table versions of keyless full-table streams loaded in this run (activated or not).
        self._keyless_loaded: dict[TableRef, set[int]] = {}

    # DDL

    def columns(self, table: TableRef) -> dict[str, str]:
        """Column name → declared type, in table order (empty when the table does not exist)."""
        rows = self._con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [self._catalog, table.schema, table.name],
        ).fetchall()
        return {name: catalog_type(data_type) for name, data_type in rows}

    def prepare(self, table: TableRef, columns: Mapping[str, str], keys: Sequence[str]) -> None:
        """Create the schema and table, or evolve an existing table to hold ``columns``.

        New properties become new nullable columns; a column whose type must widen is altered in
        place (see :func:`target_warehouse.types.widened`); nothing is ever dropped.
        """
        with self._wrap(f"preparing table {table}"):
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self._catalog)}.{quote(table.schema)}")
            existing = self.columns(table)
            if not existing and not columns:
                self.logger.warning("Stream for %s declares no properties: nothing to load", table)
                return
            if not existing:
                definitions = [
                    f"{quote(name)} {sql_type}{' NOT NULL' if name in keys else ''}"
                    for name, sql_type in columns.items()
                ]
                if keys:
                    definitions.append(f"PRIMARY KEY ({', '.join(map(quote, keys))})")
                self._con.execute(f"CREATE TABLE {self._sql(table)} ({', '.join(definitions)})")
                self.logger.info("Created table %s", table)
                return
            for name, sql_type in columns.items():
                if name not in existing:
                    self._con.execute(f"ALTER TABLE {self._sql(table)} ADD COLUMN {quote(name)} {sql_type}")
                    self.logger.info("Added column %s.%s %s", table, name, sql_type)
                elif name not in keys and (target_type := widened(existing[name], sql_type)):
                    self._con.execute(f"ALTER TABLE {self._sql(table)} ALTER COLUMN {quote(name)} TYPE {target_type}")
                    self.logger.info("Widened column %s.%s %s -> %s", table, name, existing[name], target_type)

    # Loads

    @staticmethod
    def staging_file() -> Path:
        """Create a temp file for one batch; the caller deletes it once the batch is loaded."""
        handle, name = tempfile.mkstemp(prefix="target-warehouse-", suffix=".jsonl")
        os.close(handle)
        return Path(name)

    def load(
        self,
        table: TableRef,
        path: Path,
        columns: Sequence[str],
        keys: Sequence[str],
        expected_rows: int,
        *,
        replace_keys: bool,
    ) -> None:
        """Insert the records of ``path`` (NDJSON, already unique by key) into ``table`` atomically.

        With ``replace_keys`` rows whose key is in the batch are deleted first (upsert = delete +
        insert in one transaction: it works whether or not an older table carries the PK constraint).
        """
        types = self.columns(table)
        spec = ", ".join(f"{literal(name)}: {literal(types[name])}" for name in columns)
        source = (
            f"read_json({literal(str(path))}, format = 'newline_delimited', columns = {{{spec}}}, "
            f"maximum_object_size = {MAX_RECORD_BYTES})"
        )
        column_list = ", ".join(map(quote, columns))
        with self._wrap(f"loading {expected_rows} records into {table}"), self._transaction():
            if replace_keys and keys:
                self._con.execute(f"CREATE TEMP TABLE batch_rows AS SELECT * FROM {source}")
                match = " AND ".join(f"t.{quote(k)} = b.{quote(k)}" for k in keys)
                self._con.execute(f"DELETE FROM {self._sql(table)} AS t USING batch_rows AS b WHERE {match}")
                inserted = self._insert(f"INSERT INTO {self._sql(table)} ({column_list}) SELECT * FROM batch_rows")
                self._con.execute("DROP TABLE batch_rows")
            else:
                inserted = self._insert(f"INSERT INTO {self._sql(table)} ({column_list}) SELECT * FROM {source}")
            if inserted != expected_rows:
                msg = f"DuckDB read {inserted} rows from a batch of {expected_rows} records; batch rolled back"
                raise WarehouseError(msg)

    def load_messages(
        self,
        table: TableRef,
        path: Path,
        columns: Sequence[str],
        keys: Sequence[str],
        expected_rows: int,
        *,
        integer_columns: Sequence[str],
        message_columns: Mapping[str, str],
        replace_keys: bool,
    ) -> int:
        """Load records DuckDB parses itself: each line of ``path`` is ``{"o", "v", "t", "r"}``.

        ``r`` is the RECORD message's record as the tap wrote it, ``o`` its arrival order, ``v`` and
        ``t`` the message's version and time_extracted. ``message_columns`` maps the columns filled from
        the message rather than the record (the ``_sdc_*`` metadata) to SQL over ``o``/``v``/``t``.
        ``integer_columns`` are read as JSON first: DuckDB's cast would round 1.5 into a BIGINT, so a
        non-integral number is refused, naming its column, before anything is written. With
        ``replace_keys`` the last record of a key in the batch wins, as in :meth:`load`. Returns the
        number of rows inserted (fewer than ``expected_rows`` when a key came more than once).
        """
        types = self.columns(table)
        record_columns = [name for name in columns if name not in message_columns]
        fields = ", ".join(
            f"{quote(name)} {JSON if name in integer_columns else types[name]}" for name in record_columns
        )
        spec = ", ".join(
            f"{literal(name)}: {literal(sql_type)}"
            for name, sql_type in (("o", "BIGINT"), ("v", "BIGINT"), ("t", "VARCHAR"), ("r", f"STRUCT({fields})"))
        )
        source = (
            f"read_json({literal(str(path))}, format = 'newline_delimited', columns = {{{spec}}}, "
            f"maximum_object_size = {MAX_RECORD_BYTES})"
        )
        selected = ", ".join(
            f"{message_columns[name] if name in message_columns else 'r.' + quote(name)} AS {quote(name)}"
            for name in columns
        )
        typed = ", ".join(
            f"CAST({quote(name)} AS {types[name]}) AS {quote(name)}" if name in integer_columns else quote(name)
            for name in columns
        )
        latest = ""
        if replace_keys and keys:
            partition = ", ".join(map(quote, keys))
            latest = f" QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY o DESC) = 1"
        with self._wrap(f"loading {expected_rows} records into {table}"), self._transaction():
            read = self._insert(f"CREATE TEMP TABLE batch_messages AS SELECT o, {selected} FROM {source}")
            if read != expected_rows:
                msg = f"DuckDB read {read} rows from a batch of {expected_rows} records; batch rolled back"
                raise WarehouseError(msg)
            if keys:
                missing = " OR ".join(f"{quote(k)} IS NULL" for k in keys)
                if row := self._con.execute(f"SELECT o FROM batch_messages WHERE {missing} LIMIT 1").fetchone():
                    # What the SDK's own path raises for a record without its key (it parses every record).
                    msg = f"{table}: record {row[0] + 1} of a batch has no value for key properties {list(keys)}"
                    raise MissingKeyPropertiesError(msg)
            self._check_integral(table, integer_columns, types)
            self._con.execute(f"CREATE TEMP TABLE batch_rows AS SELECT {typed} FROM batch_messages{latest}")
            self._con.execute("DROP TABLE batch_messages")
            return self._load_batch_rows(table, columns, keys, replace_keys=replace_keys)

    def load_batch_file(
        self,
        table: TableRef,
        path: Path,
        columns: Sequence[str],
        keys: Sequence[str],
        *,
        gzip: bool,
        integer_columns: Sequence[str],
    ) -> int | None:
        """Load a tap's jsonl BATCH file (one record per line) parsed by DuckDB; return the rows inserted.

        Returns None, having written nothing, when a key occurs twice in the file: the file carries no
        order DuckDB could tell the later record by, so the caller loads that file record by record.
        Integer columns are checked as in :meth:`load_messages`; the SDK adds no ``_sdc_*`` metadata
        to BATCH records, so those columns stay NULL here as on its own path.
        """
        types = self.columns(table)
        spec = ", ".join(
            f"{literal(name)}: {literal(JSON if name in integer_columns else types[name])}" for name in columns
        )
        source = (
            f"read_json({literal(str(path))}, format = 'newline_delimited', columns = {{{spec}}}, "
            f"compression = {literal('gzip' if gzip else 'none')}, maximum_object_size = {MAX_RECORD_BYTES})"
        )
        typed = ", ".join(
            f"CAST({quote(name)} AS {types[name]}) AS {quote(name)}" if name in integer_columns else quote(name)
            for name in columns
        )
        with self._wrap(f"loading batch file {path.name} into {table}"), self._transaction():
            self._con.execute(f"CREATE TEMP TABLE batch_messages AS SELECT * FROM {source}")
            if keys:
                key_list = ", ".join(map(quote, keys))
                row = self._con.execute(
                    f"SELECT count(*) - count(DISTINCT ({key_list})), count(*) FILTER (WHERE "
                    + " OR ".join(f"{quote(k)} IS NULL" for k in keys)
                    + ") FROM batch_messages"
                ).fetchone()
                duplicates, missing = row if row else (0, 0)
                if missing:
                    msg = f"{table}: {missing} records of batch file {path.name} have no value for key properties"
                    raise MissingKeyPropertiesError(msg)
                if duplicates:
                    self._con.execute("DROP TABLE batch_messages")
                    return None
            self._check_integral(table, integer_columns, types)
            self._con.execute(f"CREATE TEMP TABLE batch_rows AS SELECT {typed} FROM batch_messages")
            self._con.execute("DROP TABLE batch_messages")
            return self._load_batch_rows(table, columns, keys, replace_keys=bool(keys))

    def _check_integral(self, table: TableRef, integer_columns: Sequence[str], types: Mapping[str, str]) -> None:
        """Refuse a non-integral number in ``batch_messages``' integer columns (held as JSON there)."""
        for name in integer_columns:
            column = quote(name)
            misfit = self._con.execute(
                f"SELECT CAST({column} AS VARCHAR) FROM batch_messages WHERE json_type({column}) = 'DOUBLE' "
                f"AND CAST({column} AS DOUBLE) <> trunc(CAST({column} AS DOUBLE)) LIMIT 1"
            ).fetchone()
            if misfit is not None:
                msg = f"{table}: {name}={misfit[0]} does not fit its column {types[name]}"
                raise WarehouseError(msg)

    def _load_batch_rows(
        self, table: TableRef, columns: Sequence[str], keys: Sequence[str], *, replace_keys: bool
    ) -> int:
        """Move the temp table ``batch_rows`` into ``table`` (upsert: delete the batch's keys first)."""
        column_list = ", ".join(map(quote, columns))
        if replace_keys and keys:
            match = " AND ".join(f"t.{quote(k)} = b.{quote(k)}" for k in keys)
            self._con.execute(f"DELETE FROM {self._sql(table)} AS t USING batch_rows AS b WHERE {match}")
        inserted = self._insert(f"INSERT INTO {self._sql(table)} ({column_list}) SELECT {column_list} FROM batch_rows")
        self._con.execute("DROP TABLE batch_rows")
        return inserted

    def _insert(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a DML statement and return DuckDB's affected-row count."""
        row = self._con.execute(sql, list(params)).fetchone()
        return int(row[0]) if row else 0

    # Full-table versions (ACTIVATE_VERSION)

    def activate_version(self, table: TableRef, version: int, *, keyless: bool = False) -> None:
        """Remember the newest version of a full-table stream; older rows are retired in :meth:`finish`.

        Retiring at the end of a successful run, not when the message arrives, means a run that dies
        half way leaves the previous version intact (SDK taps send ACTIVATE_VERSION *before* the
        records of a full-table sync).

        ``keyless``: the stream has no key properties, so every run appends a complete new copy and a
        retired row says nothing a live row does not (no key identifies "the row that was deleted").
        Marking them would grow the table by one retired copy per run without bound (26,004 rows for
        7,001 live after four runs of an Xactly summary), so they are deleted whatever ``hard_delete``
        says (docs/snowflake.md, "Deletions").
        """
        self._versions[table] = max(version, self._versions.get(table, version))
        if keyless:
            self._keyless.add(table)

    def keyless_version_loaded(self, table: TableRef, version: int) -> None:
        """A keyless full-table stream sent records of ``version`` (see :meth:`finish`)."""
        self._keyless_loaded.setdefault(table, set()).add(version)

    def finish(self, *, hard_delete: bool) -> None:
        """Retire rows of older table versions, then close the database (checkpointing it).

        A keyless stream whose records of a version arrived without that version's ACTIVATE_VERSION
        was cut off mid-read (taps announce only after a complete read): its partial copy is removed,
        since without a key it could only add duplicates to the last complete copy.
        """
        for table, versions in self._keyless_loaded.items():
            partial = sorted(versions - {self._versions.get(table)})
            if partial and VERSION_COLUMN in self.columns(table):
                marks = ", ".join("?" * len(partial))
                with self._wrap(f"removing the partial copy of {table}"), self._transaction():
                    removed = self._insert(
                        f"DELETE FROM {self._sql(table)} WHERE {quote(VERSION_COLUMN)} IN ({marks})", partial
                    )
                self.logger.warning(
                    "Removed %d rows of %s: version(s) %s never activated (the stream did not finish)",
                    removed,
                    table,
                    ", ".join(map(str, partial)),
                )
        self._keyless_loaded.clear()
        deleted_at = datetime.now(UTC)
        for table, version in self._versions.items():
            columns = self.columns(table)
            if VERSION_COLUMN not in columns or DELETED_AT_COLUMN not in columns:
                self.logger.warning(
                    "ACTIVATE_VERSION for %s ignored: it needs add_record_metadata (the %s and %s columns)",
                    table,
                    VERSION_COLUMN,
                    DELETED_AT_COLUMN,
                )
                continue
            older = f"{quote(VERSION_COLUMN)} < ?"
            with self._wrap(f"retiring versions older than {version} in {table}"), self._transaction():
                if hard_delete or table in self._keyless:
                    removed = self._insert(f"DELETE FROM {self._sql(table)} WHERE {older}", [version])
                    self.logger.info("Deleted %d rows of versions older than %d from %s", removed, version, table)
                else:
                    marked = self._insert(
                        f"UPDATE {self._sql(table)} SET {quote(DELETED_AT_COLUMN)} = ? "
                        f"WHERE {older} AND {quote(DELETED_AT_COLUMN)} IS NULL",
                        [deleted_at, version],
                    )
                    self.logger.info("Marked %d rows of versions older than %d deleted in %s", marked, version, table)
        self._versions.clear()
        self._keyless.clear()
        self.close()

    def close(self) -> None:
        """Close the connection; DuckDB checkpoints the file so readers see everything."""
        self._con.close()

    # Helpers

    def _sql(self, table: TableRef) -> str:
        return f"{quote(self._catalog)}.{quote(table.schema)}.{quote(table.name)}"

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._con.begin()
        try:
            yield
        except BaseException:
            self._con.rollback()
            raise
        self._con.commit()

    @contextmanager
    def _wrap(self, doing: str) -> Iterator[None]:
        try:
            yield
        except duckdb.Error as exc:
            msg = f"{doing} failed: {first_line(exc)}"
            raise WarehouseError(msg) from exc
