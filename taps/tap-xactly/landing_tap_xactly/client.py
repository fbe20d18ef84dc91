"""The one stream class: a source table read with keyset paging on (MODIFIED_DATE, key).

Why keyset on both columns: the public tap pages with ``MODIFIED_DATE >= bookmark AND id > last_id`` and
never moves the date bound, so a row modified later but with a lower id than the last page's final id is
skipped for good (shared/sources/xactly.md §3.8 item 1). Here every page continues strictly after the last
row read, ``MODIFIED_DATE > d OR (MODIFIED_DATE = d AND key > k)``, ordered by the same columns, so ties on
MODIFIED_DATE across page boundaries and updated low keys are all read. Tables without MODIFIED_DATE or a
key (the summaries, §2.1) are read full table with the same paging on their columns' natural order only
when they have a key, else in one query.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING, Any

import backoff
from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel

from landing_tap_xactly import jdbc
from landing_tap_xactly.errors import MissingTableError, TransientDatabaseError, XactlyError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from landing_tap_xactly.discovery import TableInfo
    from landing_tap_xactly.tap import TapXactly

#: State entry holding the key of the last row emitted, next to the SDK's replication_key_value.
KEYSET = "keyset_key"


class XactlyStream(Stream):
    """One ``xactly.xc_*`` table; incremental when it has MODIFIED_DATE and a key, else full table.

    State is written after every page (``STATE_MSG_FREQUENCY`` = page size) and records the last row's key
    too, so a run that dies mid-table resumes right after the last row it emitted. A finished stream keeps
    only MODIFIED_DATE: the next run starts at ``>=`` that stamp and re-reads its tie group, which costs a
    few upserts and cannot miss a row written later with the same stamp.
    """

    is_sorted = True
    #: Values arrive already in their JSON form (jdbc.converter, by the column's JDBC type) and the SELECT
    #: lists exactly the schema's selected columns, so the SDK's per-value re-check is pure cost.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapXactly, table: TableInfo, client: jdbc.JdbcClient) -> None:
        super().__init__(tap, schema=table.schema, name=table.name)
        self.table = table
        self.client = client
        self.primary_keys = list(table.key)
        self.replication_key = table.replication_key
        self.page_size = int(self.config.get("page_size", 10_000))
        self.STATE_MSG_FREQUENCY = self.page_size
        #: Time lost to failed attempts and waits since the last page of rows was read (max_retry_seconds
        #: bounds time without progress: a page read sets it back to zero).
        self._retry_seconds_spent = 0.0

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Never before the records (the SDK's default moment): see :meth:`get_records`.

        Loaders retire every row of older versions the moment ACTIVATE_VERSION arrives (target-snowflake
        soft-deletes them), so announcing first and then failing mid-read left a whole summary table
        marked deleted.
        """
        return False

    @property
    def announces_versions(self) -> bool:
        """Full-table streams (the keyless summaries) replace their previous load once read completely."""
        return self.replication_method == "FULL_TABLE" and bool(self.config.get("emit_activate_version_messages", True))

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """The SDK's log, except its "unhandled error" line: the command prints the one line that names it."""
        if message.startswith("An unhandled error occurred while syncing"):
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)

    @property
    def source_name(self) -> str:
        """``schema.TABLE`` as written in SQL (unquoted: xSQL and H2 both fold case)."""
        return f"{jdbc.identifier(self.config.get('schema', 'xactly'))}.{jdbc.identifier(self.name)}"

    def _columns(self) -> list[str]:
        """Selected columns only: unselected personal data never leaves the source."""
        selected = [
            name
            for name in self.schema["properties"]
            if self.mask.get(("properties", name), True) or name in self.table.key or name == self.replication_key
        ]
        return [jdbc.identifier(c) for c in selected]

    def page_query(self, after: tuple[Any, tuple[Any, ...]] | None, since: dt.datetime | None) -> tuple[str, list[Any]]:
        """SQL and parameters of the page after ``after`` (last row's (MODIFIED_DATE, key)).

        Portable subset only (shared/sources/xactly.md §1.6): comparisons, OR/AND, ORDER BY, LIMIT, ``?``.
        """
        order = [c for c in (self.replication_key, *self.table.key) if c]
        where, params = "", list[Any]()
        if after is not None:
            where, params = _after(order, [after[0], *after[1]] if self.replication_key else list(after[1]))
        elif since is not None and self.replication_key:
            where, params = f"{self.replication_key} >= ?", [since]
        # Identifiers pass jdbc.identifier(); every value is a bound parameter.
        sql = f"SELECT {', '.join(self._columns())} FROM {self.source_name}"  # noqa: S608
        if where:
            sql += f" WHERE {where}"
        if order:
            sql += f" ORDER BY {', '.join(order)} LIMIT {self.page_size}"
        return sql, params

    def _start(self, context: Context | None) -> tuple[tuple[Any, tuple[Any, ...]] | None, dt.datetime | None]:
        if not self.replication_key:
            return None, None
        state = self.get_context_state(context)
        value = self.get_starting_replication_key_value(context)
        key = state.get(KEYSET)
        if value is not None and key is not None and state.get("replication_key") == self.replication_key:
            return (jdbc.parse_bookmark(value), tuple(key)), None
        start = self.get_starting_timestamp(context)
        return None, jdbc.parse_bookmark(start) if start else None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Rows page by page; a full-table stream activates its version after its last row, never earlier."""
        announce = self.announces_versions
        if announce:
            # Records carry this version; ACTIVATE_VERSION follows only when every page was read.
            self._stream_version = self._initialized_at // 1000
        after, since = self._start(context)
        state = self.get_context_state(context)
        keys = self.table.key
        while True:
            try:
                rows = self._read_page(after, since)
            except MissingTableError:
                if not self.config.get("skip_missing_tables", False):
                    raise
                # Skipped, so nothing was read: announcing a version now would retire every row.
                self.logger.error("stream %s skipped: table %s no longer exists", self.name, self.source_name)  # noqa: TRY400
                return
            for row in rows:
                if keys:
                    state[KEYSET] = [row[k] for k in keys]
                yield row
            if not self.table.key or len(rows) < self.page_size:
                break
            last = rows[-1]
            rk = jdbc.parse_bookmark(last[self.replication_key]) if self.replication_key else None
            after = (rk, tuple(last[k] for k in keys))
        state.pop(KEYSET, None)
        # Reached only when the last page was read and its rows written: a failure raised above.
        if announce and self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)

    def _read_page(self, after: tuple[Any, tuple[Any, ...]] | None, since: dt.datetime | None) -> list[dict[str, Any]]:
        sql, params = self.page_query(after, since)
        self.logger.debug("query: %s", sql)
        return self._query_with_retry(sql, params)

    def _query_with_retry(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """One page, retried on transient failures with exponential backoff and a fresh connection.

        Bounded by ``max_retries`` attempts per page and ``max_retry_seconds`` without progress (time in
        failed attempts, each itself bounded by the connect/query deadlines, plus the waits, since the last
        page read; a page read resets it, so a long read that meets many brief outages keeps going):
        GitLab's extra 05:00 run exists because these failures happen (shared/sources/xactly.md §4), the
        public tap's unbounded retry loop spins forever on permanent ones (§3.8 item 3).
        """
        max_tries = int(self.config.get("max_retries", 5))
        budget = float(self.config.get("max_retry_seconds", 300))
        failed = {"tries": 0, "elapsed": 0.0}

        def reconnect(details: Any) -> None:
            failed.update(tries=details["tries"], elapsed=details["elapsed"] + details["wait"])
            self.logger.warning(
                "stream %s: %s; reconnecting (attempt %d)", self.name, details["exception"], details["tries"]
            )
            self.client.close()

        def gave_up(details: Any) -> None:
            failed.update(tries=details["tries"], elapsed=details["elapsed"])

        @backoff.on_exception(
            self._wait_generator,
            TransientDatabaseError,
            max_tries=max_tries,
            max_time=lambda: budget - self._retry_seconds_spent,
            on_backoff=reconnect,
            on_giveup=gave_up,
            jitter=None,
        )
        def run() -> list[dict[str, Any]]:
            return self.client.query(sql, params, self.page_size, f"stream {self.name}")

        try:
            rows = run()
        except TransientDatabaseError as exc:
            self._retry_seconds_spent += failed["elapsed"]
            cause = str(exc).removeprefix(f"stream {self.name}: ")
            msg = (
                f"stream {self.name}: gave up after {failed['tries']} attempts in {self._retry_seconds_spent:.1f} s "
                f"without progress (max_retries={max_tries}, max_retry_seconds={budget:g}): {cause}"
            )
            raise XactlyError(msg) from None
        self._retry_seconds_spent = 0.0  # progress: only time lost in a row counts
        return rows

    def _wait_generator(self) -> Generator[float, None, None]:
        """1 s, 2 s, 4 s ... capped at 60 s (``retry_initial_seconds`` scales it, for fast tests)."""
        base = float(self.config.get("retry_initial_seconds", 1.0))
        for wait in backoff.expo(base=2, factor=base, max_value=60):
            yield wait if wait is not None else base


def _after(order: list[str], values: list[Any]) -> tuple[str, list[Any]]:
    """``(a, b, c) > (x, y, z)`` spelled out: ``a > x OR (a = x AND (b > y OR (b = y AND c > z)))``.

    Row-value comparison is not in the xSQL subset seen working (§1.6), so it is expanded.
    """
    column, value = order[0], values[0]
    if len(order) == 1:
        return f"{column} > ?", [value]
    inner, inner_params = _after(order[1:], values[1:])
    return f"({column} > ? OR ({column} = ? AND ({inner})))", [value, value, *inner_params]
