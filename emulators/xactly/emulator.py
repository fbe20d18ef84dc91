"""The Xactly source as a running database: generated data loaded into H2, served over TCP, changed on demand.

Usage (the ``xactly_db`` pytest fixture does this on a free port)::

    emu = XactlyEmulator(seed=1, volume=200, workdir=tmp).start()
    config = emu.tap_config()          # jdbc_url, driver_class, driver_jar, username, password
    truth = emu.truth()                # {"xc_credit": [row, ...], ...}
    emu.advance(updates=10, creates=5) # next day: rows with lower keys updated, new rows, one shared stamp
    emu.stop()
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from emulators.core import Mutation
from emulators.xactly import h2
from emulators.xactly.data import XactlyData
from emulators.xactly.tables import Table


class XactlyEmulator:
    """Deterministic Xactly Connect tables in a real H2 database reached through H2's JDBC driver."""

    def __init__(
        self,
        seed: int = 1,
        volume: int = 100,
        *,
        tables: Iterable[str] | None = None,
        custom_columns: bool = True,
        workdir: Path | None = None,
        port: int = 0,
        keep: bool = True,
    ) -> None:
        self.data = XactlyData(seed=seed, volume=volume, tables=tables, custom_columns=custom_columns, keep=keep)
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="xactly-emulator-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.server = h2.H2Server(self.workdir, port=port)
        self._built = False

    @property
    def tables(self) -> dict[str, Table]:
        """The tables this instance holds."""
        return self.data.tables

    def build(self) -> XactlyEmulator:
        """Write the current data into a fresh database file (before the server starts)."""
        for stale in self.workdir.glob(f"{h2.DATABASE}.*.db"):
            stale.unlink()
        statements = h2.setup_sql()
        for table in self.tables.values():
            path = self.workdir / f"{table.name}.csv"
            h2.write_csv(path, table.columns, self.data.rows(table.name))
            statements += [h2.create_table_sql(table), h2.load_sql(table, path)]
        statements.append(h2.grant_sql())
        h2.run_script(h2.file_url(self.workdir), statements, self.workdir)
        self._remove_csv()
        self._built = True
        return self

    def start(self, reuse: bool = False) -> XactlyEmulator:
        """Build (once; ``reuse`` keeps a database file already in ``workdir``) and serve over TCP."""
        if reuse and (self.workdir / f"{h2.DATABASE}.mv.db").exists():
            self._built = True
        if not self._built:
            self.build()
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop the server and remove a temporary working directory."""
        self.server.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def jdbc_url(self) -> str:
        """URL of the running server."""
        return self.server.url

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """Settings that point tap-xactly at this emulator."""
        config: dict[str, Any] = {
            "jdbc_url": self.jdbc_url,
            "driver_class": h2.DRIVER_CLASS,
            "driver_jar": [str(h2.H2_JAR)],
            "username": h2.USER,
            "password": h2.PASSWORD,
            "schema": h2.SCHEMA.lower(),
        }
        config.update(overrides)
        return config

    def truth(self, table: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Rows per table now: what a complete extraction must land."""
        return self.data.truth(table)

    def advance(self, updates: int = 5, creates: int = 5, seconds: float = 86_400) -> dict[str, Mutation]:
        """Change the data (see :meth:`XactlyData.advance`) and apply the change to the live database."""
        changes = self.data.advance(updates=updates, creates=creates, seconds=seconds)
        statements = []
        for name in changes:
            table = self.tables[name]
            collection = self.data.collections[name]
            rows = self.data.changed_rows(name) if table.key else collection.iter_records()
            path = self.workdir / f"{name}.advance.csv"
            h2.write_csv(path, table.columns, rows)
            statements.append(h2.upsert_sql(table, path))
        self.execute(statements)
        self._remove_csv()
        return changes

    def drop_table(self, name: str) -> None:
        """Make a table disappear (a catalogue entry that no longer exists at the source)."""
        self.execute([f"DROP TABLE {h2.SCHEMA}.{name.upper()};"])

    def execute(self, statements: list[str]) -> None:
        """Run admin SQL against the live server (or the file before it starts)."""
        url = self.jdbc_url if self.server.port else h2.file_url(self.workdir)
        h2.run_script(url, statements, self.workdir)

    def _remove_csv(self) -> None:
        for path in self.workdir.glob("*.csv"):
            path.unlink()
