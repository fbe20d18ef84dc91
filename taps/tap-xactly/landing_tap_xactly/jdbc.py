"""JDBC through JPype: one JVM per process, connections, error classification and fast row reading.

Xactly Connect is only reachable through Xactly's own JDBC jar, which customers get from Xactly and which
is on no public registry (shared/sources/xactly.md §1.2, §5), so the jar path is a setting and the tap runs
it in a JVM started once through JPype. Connections come from ``jpype.dbapi2.connect`` (driver loading,
properties, DB-API errors). Rows are read straight from the ``java.sql.ResultSet`` with one ``getString``
per value: ``dbapi2``'s ``fetchmany`` makes two or three JNI calls per value and a Python dispatch on the
Java type, and JNI calls are what reading costs (measured: see bench/results/xactly.json).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import jpype
from jpype import dbapi2
from landing_tap_kit.stopping import waiting_on_source

from landing_tap_xactly.errors import ConfigError, MissingTableError, TransientDatabaseError, XactlyError

LOGGER = logging.getLogger("tap-xactly")
T = TypeVar("T")
#: Beyond the driver's own query timeout, how long a call may run before the server counts as gone.
QUERY_GRACE_SECONDS = 30.0
CLOSE_TIMEOUT_SECONDS = 5.0

#: java.sql.Types codes (JDBC 4.2).
BIT, TINYINT, SMALLINT, INTEGER, BIGINT = -7, -6, 5, 4, -5
FLOAT, REAL, DOUBLE, NUMERIC, DECIMAL = 6, 7, 8, 2, 3
DATE, TIME, TIMESTAMP, BOOLEAN = 91, 92, 93, 16
TIME_WITH_TIMEZONE, TIMESTAMP_WITH_TIMEZONE = 2013, 2014
INTEGER_TYPES = frozenset({TINYINT, SMALLINT, INTEGER, BIGINT})
DECIMAL_TYPES = frozenset({NUMERIC, DECIMAL})
FLOAT_TYPES = frozenset({FLOAT, REAL, DOUBLE})
TIMESTAMP_TYPES = frozenset({TIMESTAMP, TIMESTAMP_WITH_TIMEZONE})
BOOLEAN_TYPES = frozenset({BIT, BOOLEAN})

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_NAIVE_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$")


def identifier(name: str) -> str:
    """A table/column name safe to put in SQL unquoted (names come from metadata or the catalog)."""
    if not _IDENTIFIER.match(name):
        msg = f"refusing unsafe SQL identifier {name!r}"
        raise XactlyError(msg)
    return name


# -- values ------------------------------------------------------------------------------------


def utc_timestamp(text: str) -> str:
    """A driver timestamp string as fixed-width UTC ISO-8601 (``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``).

    Fixed width matters: the SDK compares bookmark strings, and ``...:56Z`` sorts after ``...:56.5Z``.
    Naive values are UTC: the JVM runs with ``user.timezone=UTC`` and Xactly's MODIFIED_DATE carries no
    zone in any export seen (shared/sources/xactly.md §2.3).
    """
    if _NAIVE_TIMESTAMP.match(text):
        fraction = text[20:26] if len(text) > 19 else ""
        return f"{text[:10]}T{text[11:19]}.{fraction:0<6}+00:00"
    value = dt.datetime.fromisoformat(text.replace(" ", "T"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "+00:00"


def parse_bookmark(value: str | dt.datetime) -> dt.datetime:
    """A bookmark or start_date as a naive UTC datetime, the form bound to TIMESTAMP parameters."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _boolean(text: str) -> bool:
    return text.strip().lower() in {"true", "t", "1", "y", "yes"}


def converter(jdbc_type: int, scale: int) -> Callable[[str], Any] | None:
    """Python value from the driver's string form, by JDBC type; None means keep the string.

    Decimals stay ``Decimal`` (exact in JSON through the msgspec writer), scale-0 decimals are integers,
    0/1 flags stay the integers the source stores.
    """
    if jdbc_type in INTEGER_TYPES or (jdbc_type in DECIMAL_TYPES and scale == 0):
        return int
    if jdbc_type in DECIMAL_TYPES:
        return Decimal
    if jdbc_type in FLOAT_TYPES:
        return float
    if jdbc_type in TIMESTAMP_TYPES:
        return utc_timestamp
    if jdbc_type == DATE:
        return lambda text: text[:10]
    if jdbc_type in BOOLEAN_TYPES:
        return _boolean
    return None


# -- JVM and connections ---------------------------------------------------------------------


def jar_paths(setting: str | Sequence[str] | None) -> list[Path]:
    """The ``driver_jar`` setting as existing paths, checked before any JVM starts."""
    if not setting:
        msg = "setting driver_jar is not set: give the path of Xactly's JDBC driver jar (TAP_XACTLY_DRIVER_JAR)"
        raise ConfigError(msg)
    raw = setting.split(os.pathsep) if isinstance(setting, str) else list(setting)
    paths = [Path(p).expanduser() for p in raw if p]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        msg = f"setting driver_jar: no such file {', '.join(missing)}"
        raise ConfigError(msg)
    return paths


def start_jvm(jars: Sequence[Path]) -> None:
    """Start the process's one JVM with the driver jars, in UTC; later calls only check it runs."""
    if jpype.isJVMStarted():
        return
    jpype.startJVM("-Duser.timezone=UTC", "-Xrs", classpath=[str(j) for j in jars], convertStrings=True)


@dataclass
class ConnectionSettings:
    """What a connection needs, from the tap config."""

    jdbc_url: str
    driver_class: str
    jars: list[Path]
    username: str | None
    password: str | None
    properties: dict[str, str] = field(default_factory=dict)
    query_timeout: int = 600
    fetch_size: int = 10_000
    connect_timeout: float = 60.0

    def scrub(self, text: str) -> str:
        """``text`` without the password (drivers sometimes echo connection properties)."""
        return text.replace(self.password, "***") if self.password else text


def sql_state(exc: BaseException) -> str:
    """SQLState of a Java SQLException (or its cause), '' when there is none."""
    current: Any = exc
    while current is not None:
        getter = getattr(current, "getSQLState", None)
        if getter is not None:
            state = getter()
            if state:
                return str(state)
        current = current.__cause__ if current.__cause__ is not None else _java_cause(current)
    return ""


def _java_cause(exc: Any) -> Any:
    get_cause = getattr(exc, "getCause", None)
    return get_cause() if get_cause is not None else None


def _java_chain(exc: BaseException) -> Iterator[Any]:
    current: Any = exc
    seen = 0
    while current is not None and seen < 20:
        yield current
        seen += 1
        current = current.__cause__ if current.__cause__ is not None else _java_cause(current)


def first_line(exc: BaseException) -> str:
    """The driver's message without stack trace or the echoed SQL (H2 appends "; SQL statement:")."""
    text = ""
    for item in _java_chain(exc):
        message = item.getMessage() if hasattr(item, "getMessage") else str(item)
        if message:
            text = str(message)
            break
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return text.split("; SQL statement:")[0]


def is_transient(exc: BaseException) -> bool:
    """Network and connection failures, timeouts and serialisation conflicts: worth a reconnect.

    The Xactly driver is an HTTPS client (shared/sources/xactly.md §1.5), so its network failures surface
    as an ``IOException`` somewhere in the cause chain; H2's as SQLState class 08 or code 90067.
    """
    state = sql_state(exc)
    if state.startswith(("08", "40")) or state in {"90067", "HYT00", "HYT01"}:
        return True
    transient_classes = (
        "java.io.IOException",
        "java.sql.SQLTransientException",
        "java.sql.SQLRecoverableException",
        "java.sql.SQLNonTransientConnectionException",
        "java.sql.SQLTimeoutException",
    )
    for item in _java_chain(exc):
        for name in transient_classes:
            if isinstance(item, jpype.JClass(name)):
                return True
    return False


def is_auth_failure(exc: BaseException) -> bool:
    """SQLState class 28, or the Xactly driver's own wording (shared/sources/xactly.md §1.4)."""
    return sql_state(exc).startswith("28") or "authentication failure" in first_line(exc).lower()


def is_missing_table(exc: BaseException) -> bool:
    """SQLState 42S02 (and H2's 42102) mean the table is gone."""
    return sql_state(exc) in {"42S02", "42102"}


#: Calls abandoned past their deadline (their threads may never return).
_STUCK: list[Future[Any]] = []


def stuck_calls() -> int:
    """How many JDBC calls were abandoned still running (then a clean JVM shutdown would hang)."""
    return sum(1 for future in _STUCK if not future.done())


def _abandon(future: Future[Any]) -> None:
    if not _STUCK:
        atexit.register(_exit_without_waiting_for_stuck_calls)
    _STUCK.append(future)


def _exit_without_waiting_for_stuck_calls() -> None:
    """At interpreter exit, end the process at once while a JDBC call is still stuck in the driver.

    JPype's exit handler shuts the JVM down in order, which waits for every thread still in a Java call:
    a driver call stuck past its deadline would hang the process after its error line was printed. This
    handler is registered when a call is first abandoned, after JPype registered its own, so it runs first.
    The status is Python's own: 1 when it is exiting because of an unhandled exception (Python sets
    ``sys.last_value`` before reporting it), else 0.
    """
    if not stuck_calls():
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(1 if hasattr(sys, "last_value") else 0)


class _JavaThread:
    """One daemon thread that makes every JDBC call, while the main thread waits in Python.

    A thread inside a JDBC call is in native code: Python runs no signal handler there, so a driver
    waiting forever on a server that accepted the TCP connection and never answers could only be
    stopped by SIGKILL. Waiting on a future instead keeps SIGTERM/SIGINT handlers and deadlines
    working; a call past its deadline leaves this thread behind (a daemon) and the client starts a new one.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="tap-xactly-jdbc", daemon=True).start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            work, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(work())
                except BaseException as exc:  # handed to the waiting thread, whatever it is
                    future.set_exception(exc)

    def submit(self, work: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((work, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)


class JdbcClient:
    """One JDBC connection, reopened on demand after a transient failure; every call has a deadline."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._connection: dbapi2.Connection | None = None
        self._thread: _JavaThread | None = None

    def connect(self, doing: str) -> Any:
        """The open ``java.sql.Connection``, connecting first if needed, within ``connect_timeout``."""
        # The JVM starts here, in the caller's thread: the thread that starts it is the JVM's main thread,
        # which an orderly shutdown waits for; the JDBC thread then attaches as a daemon.
        start_jvm(self.settings.jars)
        timeout = self.settings.connect_timeout
        return self._call(
            lambda: self._connect(doing),
            timeout,
            f"{doing}: connecting to {self.settings.jdbc_url}: no answer within {timeout:g} s "
            f"(connect_timeout_seconds={timeout:g})",
        )

    def run(self, work: Callable[[Any], T], doing: str, timeout: float | None = None) -> T:
        """``work(java.sql.Connection)`` on the JDBC thread, connecting first; Java errors come back classified.

        ``timeout`` defaults to the query timeout plus a grace period: the driver should end the call
        itself (``setQueryTimeout``), this catches a server that stops answering mid-result.
        """
        connection = self.connect(doing)
        settings = self.settings
        deadline = timeout if timeout is not None else settings.query_timeout + QUERY_GRACE_SECONDS

        def guarded() -> T:
            try:
                return work(connection)
            except jpype.JException as exc:
                raise self.classify(exc, doing) from None

        return self._call(
            guarded,
            deadline,
            f"{doing}: no answer within {deadline:g} s (query_timeout_seconds={settings.query_timeout} "
            f"+ {QUERY_GRACE_SECONDS:g} s)",
        )

    def _call(self, work: Callable[[], T], timeout: float, timed_out: str) -> T:
        if self._thread is None:
            self._thread = _JavaThread()
        future = self._thread.submit(work)
        try:
            with waiting_on_source():  # a stop signal meanwhile acts at once (landing_tap_kit.stopping)
                return future.result(timeout=timeout)
        except FutureTimeout:
            # The call is stuck in the driver: abandon its thread and connection, never wait on them again.
            self._thread, self._connection = None, None
            _abandon(future)
            raise TransientDatabaseError(timed_out) from None

    def _connect(self, doing: str) -> Any:
        if self._connection is None:
            self._connection = self._open(doing)
        return self._connection.connection

    def _open(self, doing: str) -> dbapi2.Connection:
        settings = self.settings
        properties = {k: v for k, v in settings.properties.items() if v}
        if settings.username is not None:
            properties["user"] = settings.username
        if settings.password is not None:
            properties["password"] = settings.password
        try:
            # Drivers that honour the JDBC login timeout give up by themselves; the deadline in _call
            # covers the ones that do not.
            jpype.JClass("java.sql.DriverManager").setLoginTimeout(max(int(settings.connect_timeout), 1))
            connection = dbapi2.connect(settings.jdbc_url, driver=settings.driver_class, driver_args=properties)
        except jpype.JException as exc:
            if isinstance(exc, jpype.JClass("java.lang.ClassNotFoundException")):
                jars = ", ".join(str(j) for j in settings.jars)
                msg = f"setting driver_class: class {settings.driver_class} not found in driver_jar {jars}"
                raise ConfigError(msg) from None
            raise self.classify(exc, f"{doing}: connecting to {settings.jdbc_url}") from None
        connection.connection.setReadOnly(True)
        return connection

    def close(self) -> None:
        """Close quietly (after a dropped connection closing can fail too), never waiting on a stuck call."""
        connection, self._connection = self._connection, None
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if connection is not None:
            try:
                thread.submit(lambda: _close_quietly(connection)).result(timeout=CLOSE_TIMEOUT_SECONDS)
            except FutureTimeout:
                LOGGER.debug("closing the connection did not finish within %s s", CLOSE_TIMEOUT_SECONDS)
                return
        thread.stop()

    def classify(self, exc: BaseException, doing: str) -> XactlyError:
        """Turn a driver exception into a one-line error: transient, auth, missing table or fatal."""
        state = sql_state(exc) or "none"
        detail = self.settings.scrub(first_line(exc))
        if is_auth_failure(exc):
            user = self.settings.username or "(no username)"
            return XactlyError(f"authentication failed for user {user} {doing} (SQL state {state}): {detail}")
        if is_missing_table(exc):
            return MissingTableError(f"{doing}: table not found (SQL state {state}): {detail}")
        if is_transient(exc):
            return TransientDatabaseError(f"{doing}: connection failed (SQL state {state}): {detail}")
        return XactlyError(f"{doing}: {detail} (SQL state {state})")

    def open_scan(self, sql: str, params: Sequence[Any], doing: str) -> Scan:
        """Execute one SELECT and keep its result open: rows are then taken in slices with :meth:`fetch`.

        Statements are prepared on the Java connection itself because DB-API has no query timeout, and the
        fetch size is set because the Xactly driver's default is 100 rows per HTTP call
        (shared/sources/xactly.md §1.5).
        """

        def execute(connection: Any) -> Scan:
            statement = connection.prepareStatement(sql)
            try:
                statement.setQueryTimeout(self.settings.query_timeout)
                statement.setFetchSize(self.settings.fetch_size)
                for index, value in enumerate(params, start=1):
                    _bind(statement, index, value)
                return Scan(statement, RowReader(statement.executeQuery()))
            except BaseException:
                statement.close()
                raise

        return self.run(execute, doing)

    def fetch(self, scan: Scan, limit: int | None, doing: str) -> list[dict[str, Any]]:
        """The next ``limit`` rows of an open scan (all that remain when None), under the query deadline."""
        return self.run(lambda _connection: scan.reader.take(limit), doing)

    def close_scan(self, scan: Scan) -> None:
        """Release the statement (and so the source's cursor); quietly, never waiting long on a dead server."""
        thread = self._thread
        if thread is None or self._connection is None:
            return  # the connection is gone, and its statements with it
        try:
            thread.submit(scan.close).result(timeout=CLOSE_TIMEOUT_SECONDS)
        except FutureTimeout:
            LOGGER.debug("closing a statement did not finish within %s s", CLOSE_TIMEOUT_SECONDS)


@dataclass
class Scan:
    """A running query: its statement and a reader of its still open ResultSet."""

    statement: Any
    reader: RowReader

    def close(self) -> None:
        """Close the statement, which closes its ResultSet; a broken connection's error is only logged."""
        try:
            self.statement.close()
        except jpype.JException as exc:
            LOGGER.debug("closing a statement failed: %s", first_line(exc))


def _close_quietly(connection: dbapi2.Connection) -> None:
    try:
        connection.close()
    except (dbapi2.Error, jpype.JException) as exc:
        LOGGER.debug("closing a broken connection failed: %s", first_line(exc))


def _bind(statement: Any, index: int, value: Any) -> None:
    if isinstance(value, dt.datetime):
        statement.setTimestamp(index, jpype.JClass("java.sql.Timestamp").valueOf(value.isoformat(sep=" ")))
    elif isinstance(value, bool):
        statement.setBoolean(index, value)
    elif isinstance(value, int):
        statement.setLong(index, value)
    elif isinstance(value, Decimal):
        statement.setBigDecimal(index, jpype.JClass("java.math.BigDecimal")(str(value)))
    else:
        statement.setString(index, str(value))


class RowReader:
    """Rows of a ``java.sql.ResultSet`` as dicts keyed by column label, values converted by JDBC type."""

    def __init__(self, result: Any) -> None:
        meta = result.getMetaData()
        count = meta.getColumnCount()
        self.result = result
        self.names = [str(meta.getColumnLabel(i)) for i in range(1, count + 1)]
        converters = [converter(meta.getColumnType(i), meta.getScale(i)) for i in range(1, count + 1)]
        self.converted = [(self.names[i], conv) for i, conv in enumerate(converters) if conv is not None]
        self.exhausted = False

    def take(self, limit: int | None) -> list[dict[str, Any]]:
        """Up to ``limit`` more rows (every remaining row when None); fewer means the result is exhausted."""
        result, names, converted = self.result, self.names, self.converted
        get, advance = result.getString, result.next
        columns = range(1, len(names) + 1)
        rows = []
        remaining = -1 if limit is None else limit
        while remaining != 0:
            if not advance():
                self.exhausted = True
                break
            record = dict(zip(names, [get(i) for i in columns], strict=True))
            for name, conv in converted:
                value = record[name]
                if value is not None:
                    record[name] = conv(value)
            rows.append(record)
            remaining -= 1
        return rows
