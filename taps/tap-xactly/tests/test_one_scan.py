"""One ordered read per table (issue 13), counted by the source itself: H2's own query statistics.

Paging with a fresh ``ORDER BY ... LIMIT page_size`` query made the source plan, filter and sort the rest of
the table once per page; on a table without an index on (MODIFIED_DATE, key) that is quadratic in rows. H2's
``INFORMATION_SCHEMA.QUERY_STATISTICS`` counts each distinct statement's executions and the rows they
produced, so these tests read what the source did, not what the tap says it did.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jpype.dbapi2 as dbapi2
import pytest
from landing_tap_xactly import jdbc

from emulators.xactly import TcpFaultProxy
from tests.conftest import sync
from tests.test_errors import TAP, catalog_of


def connect(emulator: Any) -> Any:
    """A DB-API connection to the emulator as the tap's user, in this process's JVM."""
    config = emulator.tap_config()
    jdbc.start_jvm(jdbc.jar_paths(config["driver_jar"]))
    return dbapi2.connect(
        config["jdbc_url"], driver=config["driver_class"],
        driver_args={"user": config["username"], "password": config["password"]},
    )  # fmt: skip


class SourceStatistics:
    """H2's statistics of the SELECTs run on one emulator from now on: ``{SQL: (executions, rows)}``.

    H2 keeps them only while the database is open and closes it with its last connection, so one
    connection is held until :meth:`stop`.
    """

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.connection = connect(emulator)
        emulator.execute(["SET QUERY_STATISTICS TRUE;"])

    def selects_on(self, table: str) -> dict[str, tuple[int, int]]:
        cursor = self.connection.cursor()
        cursor.execute(
            "SELECT SQL_STATEMENT, EXECUTION_COUNT, CUMULATIVE_ROW_COUNT FROM INFORMATION_SCHEMA.QUERY_STATISTICS"
        )
        return {
            str(sql): (int(executions), int(rows))
            for sql, executions, rows in cursor.fetchall()
            if str(sql).startswith("SELECT ") and f"FROM xactly.{table}" in str(sql)
        }

    def stop(self) -> None:
        self.emulator.execute(["SET QUERY_STATISTICS FALSE;"])
        self.connection.close()


@pytest.fixture
def statistics_of() -> Iterator[Callable[[Any], SourceStatistics]]:
    started: list[SourceStatistics] = []

    def start(emulator: Any) -> SourceStatistics:
        started.append(SourceStatistics(emulator))
        return started[-1]

    yield start
    for statistics in started:
        statistics.stop()


def test_a_table_is_read_by_one_query_however_many_checkpoints(emu, statistics_of):
    statistics = statistics_of(emu)
    config = emu.tap_config(page_size=7, tables_include=["xc_credit"])
    result = sync(config)
    truth = emu.truth("xc_credit")["xc_credit"]
    checkpoints = [s for s in result.states if "keyset_key" in s["bookmarks"]["xc_credit"]]
    assert len(checkpoints) == len(truth) // 7, "a checkpoint every page_size rows"
    ((sql, (executions, rows)),) = statistics.selects_on("xc_credit").items()
    assert executions == 1, f"the source planned and sorted the table {executions} times"
    assert rows == len(truth) == len(result.records["xc_credit"])
    assert " WHERE " not in sql
    assert " LIMIT " not in sql


def test_a_dropped_connection_costs_one_fresh_keyset_query_from_the_last_emitted_row(xactly_db, statistics_of):
    emu = xactly_db(seed=7, volume=400, tables=["xc_credit"])
    statistics = statistics_of(emu)
    proxy = TcpFaultProxy(emu.server.port)
    try:
        config = emu.tap_config(jdbc_url=proxy.jdbc_url(), page_size=100, retry_initial_seconds=0.05)
        # H2 answers a query with its first 100 rows; the cut falls in the fetch of rows 101-200.
        proxy.drop_after(server_bytes=200_000, times=1)
        result = sync(config, catalog=catalog_of(emu, "xc_credit"))
    finally:
        proxy.close()
    ids = [r["CREDIT_ID"] for r in result.records["xc_credit"]]
    assert proxy.dropped == 1
    assert len(ids) == len(set(ids)) == 400
    statements = statistics.selects_on("xc_credit")
    assert sorted(statements.values()) == [(1, 300), (1, 400)], "the whole scan, then the rest after row 100"
    (continuation,) = [sql for sql, (_, rows) in statements.items() if rows == 300]
    assert " WHERE (MODIFIED_DATE > ? OR (MODIFIED_DATE = ? AND (CREDIT_ID > ?)))" in continuation


def _stopped_by_sigterm(command: list[str], stop_after_records: int, pause: float = 0.0) -> tuple[int, list[Any]]:
    """Run the tap, SIGTERM it after reading ``stop_after_records`` RECORDs (and ``pause`` s), read the rest."""
    messages: list[dict[str, Any]] = []
    records = 0
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                messages.append(json.loads(line))
                records += messages[-1]["type"] == "RECORD"
                if records == stop_after_records:
                    time.sleep(pause)  # a pause lets the pipe fill: the tap blocks inside a write
                    process.send_signal(signal.SIGTERM)
                    break
            messages += [json.loads(line) for line in process.stdout]
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    return process.returncode, messages


def _credit_held_command(emu: Any, tmp_path: Path) -> list[str]:
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(emu.tap_config(page_size=250)))
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog_of(emu, "xc_credit_held")))
    return [TAP, "--config", str(config_path), "--catalog", str(catalog_path)]


def test_a_run_stopped_by_sigterm_mid_table_resumes_from_its_last_state_without_loss(tmp_path: Path, xactly_db):
    """The final STATE written on SIGTERM names a row whose RECORD left; the resumed run repeats at most it."""
    emu = xactly_db(seed=11, volume=6000, tables=["xc_credit_held"])
    command = _credit_held_command(emu, tmp_path)
    returncode, first = _stopped_by_sigterm(command, 1000)
    assert returncode == 143, "the tap must still have been reading when stopped"
    state = [m["value"] for m in first if m["type"] == "STATE"][-1]
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))
    resumed = subprocess.run(
        [*command, "--state", str(state_path)], capture_output=True, text=True, timeout=300, check=True
    )
    before = [m["record"]["CREDIT_HELD_ID"] for m in first if m["type"] == "RECORD"]
    after = [json.loads(line)["record"]["CREDIT_HELD_ID"] for line in resumed.stdout.splitlines() if '"RECORD"' in line]
    truth = {r["CREDIT_HELD_ID"] for r in emu.truth("xc_credit_held")["xc_credit_held"]}
    assert len(before) < len(truth)
    assert set(before) | set(after) == truth, "rows lost across the stop"
    assert len(before) + len(after) - len(truth) <= 1, "more than the one row a stop may repeat"


def test_a_stop_signal_at_any_moment_leaves_a_final_state_naming_the_last_row_written(tmp_path: Path, xactly_db):
    """Whatever the tap is doing when SIGTERM lands, its last message is a STATE naming its last RECORD's row.

    The signal lands at varied moments: while the tap waits on the source, between rows, and inside the write
    of a message (the reader pauses, so the pipe fills and the tap blocks mid-write, as behind a loader that
    is committing). A handler that wrote its state from inside that write lost it (the buffered stream
    refuses a second writer) and the resumed run repeated up to ``page_size`` rows.
    """
    emu = xactly_db(seed=11, volume=4000, tables=["xc_credit_held"])
    command = _credit_held_command(emu, tmp_path)
    for stop_after, pause in [(300, 0.0), (650, 0.001), (900, 0.01), (1250, 0.05), (1600, 0.0), (2000, 0.2)]:
        returncode, messages = _stopped_by_sigterm(command, stop_after, pause)
        assert returncode == 143, stop_after
        records = [m["record"]["CREDIT_HELD_ID"] for m in messages if m["type"] == "RECORD"]
        assert messages[-1]["type"] == "STATE", f"stopped after {len(records)} rows without a final state"
        bookmark = messages[-1]["value"]["bookmarks"]["xc_credit_held"]
        assert bookmark["keyset_key"] == [records[-1]], f"stopped after {len(records)} rows"
