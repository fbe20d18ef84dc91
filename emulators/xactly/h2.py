"""A real H2 database holding the emulated ``XACTLY`` schema, built and changed through H2's own tools.

Why H2 in a Java subprocess: the tap must be tested through a real JDBC driver (the Xactly driver is a
customer-only jar, shared/sources/xactly.md §5), and Debian's ``libh2-java`` is one. The emulator itself
never starts a JVM in the test process: it writes CSV files and runs ``org.h2.tools.RunScript`` (load,
change) and ``org.h2.tools.Server`` (TCP server) as ``java`` subprocesses, so the tap under test owns the
only in-process JVM.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulators.xactly.tables import Table

H2_JAR = Path(os.environ.get("H2_JAR", "/usr/share/java/h2.jar"))
DRIVER_CLASS = "org.h2.Driver"
SCHEMA = "XACTLY"
DATABASE = "xactly"
#: The read-only account the tap logs in with (dev environment in meltano.yml).
USER = "XACTLY_TAP"
PASSWORD = "emulator-password"  # noqa: S105 - fixed credential of a local emulator
_ADMIN = ("SA", "emulator-admin")
_TIMEOUT = 600
#: H2's JVMs get a fixed heap: the database lives in its file and H2 pages through it, so memory stays flat at
#: any volume (the JVM's default, a quarter of the machine's memory, let the server grow to 2 GB at 1M rows).
#: Serial GC: the fewest threads and least overhead for a small heap on a 2-core box.
JVM_OPTIONS = ("-Xmx256m", "-XX:+UseSerialGC")


def java() -> str:
    """The ``java`` executable, or a clear error naming what is missing."""
    found = shutil.which("java")
    if not found or not H2_JAR.exists():
        msg = f"the Xactly emulator needs java and {H2_JAR}: run `bash scripts/ensure-system-deps.sh`"
        raise RuntimeError(msg)
    return found


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # H2 TIMESTAMP has no zone: the emulator stores UTC wall time, as we assume Xactly does (§2.3).
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """Rows as CSV for ``CSVREAD``: an empty unquoted field is NULL (the generator makes no empty strings)."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row.get(c)) for c in columns])
            count += 1
    return count


def _csvread(path: Path) -> str:
    return f"CSVREAD('{path}', NULL, 'charset=UTF-8')"


def create_table_sql(table: Table) -> str:
    """DDL of one table in the XACTLY schema (unquoted names: H2 stores them upper case like Xactly's)."""
    columns = [f"{c} {table.sql_type(c)}{' NOT NULL' if c in table.key else ''}" for c in table.columns]
    if table.key:
        columns.append(f"PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE {SCHEMA}.{table.name.upper()} ({', '.join(columns)});"


def load_sql(table: Table, csv_path: Path) -> str:
    """Bulk insert from a CSV file (column order as in the table)."""
    return f"INSERT INTO {SCHEMA}.{table.name.upper()} SELECT * FROM {_csvread(csv_path)};"  # noqa: S608 - own names


def upsert_sql(table: Table, csv_path: Path) -> str:
    """Changed and new rows of a keyed table; a keyless summary is replaced whole."""
    name = f"{SCHEMA}.{table.name.upper()}"
    if not table.key:
        return f"TRUNCATE TABLE {name}; {load_sql(table, csv_path)}"
    return f"MERGE INTO {name} KEY ({', '.join(table.key)}) SELECT * FROM {_csvread(csv_path)};"  # noqa: S608 - own names


def file_url(directory: Path) -> str:
    """Embedded (single process) URL of the database file in ``directory``."""
    return f"jdbc:h2:file:{directory / DATABASE}"


def run_script(url: str, statements: Sequence[str], workdir: Path) -> None:
    """Run SQL through ``org.h2.tools.RunScript`` as the admin user."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", dir=workdir, delete=False, encoding="utf-8") as script:
        script.write("\n".join(statements) + "\n")
    try:
        cmd = [java(), *JVM_OPTIONS, "-cp", str(H2_JAR), "org.h2.tools.RunScript", "-url", url, "-user", _ADMIN[0],
               "-password", _ADMIN[1], "-script", script.name]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
        if done.returncode:
            msg = f"H2 RunScript failed on {url}: {(done.stderr or done.stdout).strip().splitlines()[:3]}"
            raise RuntimeError(msg)
    finally:
        Path(script.name).unlink(missing_ok=True)


def setup_sql() -> list[str]:
    """Schema and the tap's read-only account."""
    return [
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA};",
        f"CREATE USER IF NOT EXISTS {USER} PASSWORD '{PASSWORD}';",
    ]


def grant_sql() -> str:
    """The tap may read the schema, nothing else."""
    return f"GRANT SELECT ON SCHEMA {SCHEMA} TO {USER};"


class H2Server:
    """``org.h2.tools.Server -tcp`` serving the database files of one directory, as a subprocess."""

    def __init__(self, directory: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        self.directory = directory
        self.requested_port = port
        self.host = host
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None
        self._reader = threading.Thread()

    def start(self, timeout: float = 60) -> H2Server:
        """Start and wait for the "TCP server running at ...:port" line (port 0 picks a free port)."""
        cmd = [java(), *JVM_OPTIONS, "-cp", str(H2_JAR), "org.h2.tools.Server", "-tcp",
               "-tcpPort", str(self.requested_port), "-baseDir", str(self.directory)]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        found = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert self._proc is not None
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                lines.append(line)
                match = re.search(r"TCP server running at tcp://[^:]+:(\d+)", line)
                if match:
                    self.port = int(match.group(1))
                    found.set()

        self._reader = threading.Thread(target=read, daemon=True, name="h2-server-output")
        self._reader.start()
        if not found.wait(timeout):
            self.stop()
            msg = f"H2 server did not start within {timeout:.0f}s: {''.join(lines)[-500:]}"
            raise RuntimeError(msg)
        return self

    @property
    def url(self) -> str:
        """TCP JDBC URL of the emulated database."""
        return f"jdbc:h2:tcp://{self.host}:{self.port}/{DATABASE}"

    def stop(self) -> None:
        """Terminate the server process."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc and self._proc.stdout:
            self._reader.join(timeout=5)
            self._proc.stdout.close()
        self._proc = None
