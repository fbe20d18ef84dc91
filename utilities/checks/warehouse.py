"""Row counts in the warehouse and the history the checks keep next to the data.

One portable SQL path (information_schema, ``count(*)``, one history table) over a DB-API connection:
DuckDB in ``dev`` (the embedded warehouse, tested) and Snowflake in ``prod`` (same statements through
snowflake-connector-python with ``qmark`` parameters; not exercised offline). The history lives in the
warehouse itself so every worker of a distributed orchestrator sees the same record.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

HISTORY_SCHEMA = "LOAD_CHECKS"
HISTORY_TABLE = "ROW_COUNTS"
RUNS_TABLE = "RUNS"
_HISTORY = f'"{HISTORY_SCHEMA}"."{HISTORY_TABLE}"'
_RUNS = f'"{HISTORY_SCHEMA}"."{RUNS_TABLE}"'


class WarehouseError(Exception):
    """The warehouse URL is unusable or the warehouse cannot be reached."""


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> Any: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...


class _Connection(Protocol):
    def cursor(self) -> Any: ...
    def commit(self) -> Any: ...
    def close(self) -> Any: ...


@dataclass(frozen=True)
class CountRecord:
    """Rows of one table at one moment, written after the job that loads it succeeded."""

    recorded_at: datetime
    job: str
    schema: str
    table: str
    row_count: int


@dataclass(frozen=True)
class RunRecord:
    """How one job run ended: recorded after it succeeded (with its row counts) or failed (with its last error)."""

    recorded_at: datetime
    job: str
    succeeded: bool
    error_line: str | None


class Warehouse:
    """The landing warehouse, reached through a DB-API connection."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    @classmethod
    def connect(cls, url: str) -> Warehouse:
        """``duckdb:///path/to/file.duckdb`` or ``snowflake://`` (credentials from SNOWFLAKE_* variables)."""
        scheme, sep, rest = url.partition("://")
        if scheme == "duckdb" and sep and rest:
            import duckdb  # noqa: PLC0415 - only the backend in use is imported

            try:
                return cls(duckdb.connect(rest))
            except duckdb.Error as exc:
                msg = f"cannot open DuckDB warehouse {rest}: {exc}"
                raise WarehouseError(msg) from exc
        if scheme == "snowflake" and sep:
            return cls(_snowflake_connection())
        msg = f"warehouse URL {url!r} is neither duckdb:///<file> nor snowflake://"
        raise WarehouseError(msg)

    def close(self) -> None:
        """Release the connection (DuckDB holds a file lock while it is open)."""
        self._connection.close()

    def table_counts(self, schemas: Iterable[str]) -> dict[tuple[str, str], int]:
        """``count(*)`` of every base table in ``schemas`` (case-insensitive), keyed by (schema, table)."""
        wanted = {s.upper() for s in schemas}
        cursor = self._connection.cursor()
        cursor.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'")
        tables = [(s, t) for s, t in cursor.fetchall() if str(s).upper() in wanted]
        counts = {}
        for schema, table in sorted(tables):
            # Names come from information_schema, not from user input.
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')  # noqa: S608
            counts[(str(schema).upper(), str(table).upper())] = int(cursor.fetchall()[0][0])
        return counts

    def record(self, job: str, counts: dict[tuple[str, str], int], at: datetime | None = None) -> datetime:
        """Append one history row per table; returns the timestamp used (UTC)."""
        at = at or datetime.now(UTC)
        cursor = self._connection.cursor()
        self._ensure_history(cursor)
        stamp = at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        rows = [(stamp, job, schema, table, n) for (schema, table), n in sorted(counts.items())]
        if rows:
            cursor.executemany(
                f"INSERT INTO {_HISTORY} (recorded_at, job, table_schema, table_name, row_count) "  # noqa: S608
                "VALUES (CAST(? AS TIMESTAMP), ?, ?, ?, ?)",
                rows,
            )
        self._connection.commit()
        return at

    def record_run(
        self, job: str, *, succeeded: bool, error_line: str | None = None, at: datetime | None = None
    ) -> None:
        """Append how a run of ``job`` ended: the report's "last successful run" and "last error" come from here."""
        at = at or datetime.now(UTC)
        cursor = self._connection.cursor()
        self._ensure_history(cursor)
        stamp = at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        cursor.execute(
            f"INSERT INTO {_RUNS} (recorded_at, job, succeeded, error_line) "  # noqa: S608
            "VALUES (CAST(? AS TIMESTAMP), ?, ?, ?)",
            (stamp, job, succeeded, error_line),
        )
        self._connection.commit()

    def runs(self) -> list[RunRecord]:
        """Every recorded run, oldest first."""
        cursor = self._connection.cursor()
        self._ensure_history(cursor)
        cursor.execute(f"SELECT recorded_at, job, succeeded, error_line FROM {_RUNS} ORDER BY recorded_at")  # noqa: S608
        return [
            RunRecord(_utc(at), str(job), bool(ok), None if error is None else str(error))
            for at, job, ok, error in cursor.fetchall()
        ]

    def history(self) -> list[CountRecord]:
        """Every recorded count, oldest first (an empty list before the first record)."""
        cursor = self._connection.cursor()
        self._ensure_history(cursor)
        columns = "recorded_at, job, table_schema, table_name, row_count"
        cursor.execute(f"SELECT {columns} FROM {_HISTORY} ORDER BY recorded_at")  # noqa: S608
        return [
            CountRecord(_utc(at), str(job), str(schema).upper(), str(table).upper(), int(n))
            for at, job, schema, table, n in cursor.fetchall()
        ]

    @staticmethod
    def _ensure_history(cursor: _Cursor) -> None:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{HISTORY_SCHEMA}"')
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {_HISTORY} (recorded_at TIMESTAMP NOT NULL, job VARCHAR NOT NULL, "
            "table_schema VARCHAR NOT NULL, table_name VARCHAR NOT NULL, row_count BIGINT NOT NULL)"
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {_RUNS} (recorded_at TIMESTAMP NOT NULL, job VARCHAR NOT NULL, "
            "succeeded BOOLEAN NOT NULL, error_line VARCHAR)"
        )


def _utc(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _snowflake_connection() -> _Connection:
    """Connect with the target-snowflake loader's variables, so one secret set serves both."""
    try:
        import snowflake.connector  # noqa: PLC0415
    except ImportError as exc:
        msg = "snowflake:// needs snowflake-connector-python (the checks utility's pip_url installs it)"
        raise WarehouseError(msg) from exc
    snowflake.connector.paramstyle = "qmark"
    required = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE")
    if missing := [name for name in required if not os.environ.get(name)]:
        msg = f"snowflake:// needs {', '.join(missing)} in the environment"
        raise WarehouseError(msg)
    options: dict[str, Any] = {
        "account": os.environ["SNOWFLAKE_ACCOUNT"],
        "user": os.environ["SNOWFLAKE_USER"],
        "warehouse": os.environ["SNOWFLAKE_WAREHOUSE"],
        "database": os.environ["SNOWFLAKE_DATABASE"],
        "role": os.environ.get("SNOWFLAKE_ROLE") or None,
    }
    if key_path := os.environ.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
        options["private_key_file"] = key_path
        options["private_key_file_pwd"] = os.environ.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE") or None
    else:
        options["password"] = os.environ.get("SNOWFLAKE_PASSWORD")
    try:
        return snowflake.connector.connect(**{k: v for k, v in options.items() if v is not None})  # type: ignore[no-any-return]
    except snowflake.connector.Error as exc:
        msg = f"cannot connect to Snowflake account {options['account']} as {options['user']}: {exc.msg}"
        raise WarehouseError(msg) from exc
