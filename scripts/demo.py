"""The README's main command: emulators up → `meltano run` every pipeline → row counts → run report.

Ports here match the `dev` environment in meltano.yml. Each source adds its emulator and its
dev job(s) to the tables below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WAREHOUSE = ROOT / "output" / "warehouse.duckdb"

#: (emulator name, port, extra CLI arguments) for `python -m emulators serve`.
HTTP_EMULATORS: list[tuple[str, int, list[str]]] = [
    ("zengrc", 8711, ["--seed", "1", "--volume", "250"]),
    ("adaptive", 8714, ["--seed", "1", "--volume", "200"]),
    # two Zendesk accounts: the main support account and the community-relations one
    ("zendesk", 8712, ["--seed", "1", "--volume", "200"]),
    ("zendesk", 8713, ["--seed", "2", "--volume", "80", "--option", "account=community"]),
]
#: Meltano jobs of the dev environment, run in this order.
JOBS: list[str] = [
    "zengrc-to-warehouse",
    "adaptive-to-warehouse",
    "xactly-to-warehouse",
    "zendesk-to-warehouse",
    "zendesk-community-relations-to-warehouse",
]
#: The landing schema each job fills, for the closing table's run durations.
SCHEMAS: dict[str, str] = {
    "zengrc-to-warehouse": "TAP_ZENGRC",
    "adaptive-to-warehouse": "TAP_ADAPTIVE",
    "xactly-to-warehouse": "TAP_XACTLY",
    "zendesk-to-warehouse": "TAP_ZENDESK",
    "zendesk-community-relations-to-warehouse": "TAP_ZENDESK_COMMUNITY_RELATIONS",
}


def start_xactly() -> subprocess.Popen[bytes]:
    """The Xactly emulator is an H2 database over JDBC, not HTTP: ready once it prints its JDBC URL."""
    cmd = [
        str(BIN / "python"),
        "-m",
        "emulators",
        "serve",
        "xactly",
        "--port",
        "8715",
        "--seed",
        "1",
        "--volume",
        "200",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    if not proc.stdout.readline():
        msg = f"emulator xactly did not start (exit {proc.wait()})"
        raise SystemExit(msg)
    return proc


#: Emulators that are not HTTP servers: each callable starts one and returns once it is ready.
OTHER_EMULATORS: list[Callable[[], subprocess.Popen[bytes]]] = [start_xactly]


def start_http_emulators() -> list[subprocess.Popen[bytes]]:
    """Start every HTTP emulator and wait until each answers its health check."""
    procs = []
    for name, port, extra in HTTP_EMULATORS:
        cmd = [str(BIN / "python"), "-m", "emulators", "serve", name, "--port", str(port), *extra]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL))
    for name, port, _ in HTTP_EMULATORS:
        wait_healthy(name, f"http://127.0.0.1:{port}/_emulator/health")
    return procs


def wait_healthy(name: str, url: str, timeout: float = 60) -> None:
    """Poll ``url`` until it answers 200, or fail naming the emulator."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                json.load(response)
                return
        except OSError:
            time.sleep(0.2)
    msg = f"emulator {name} did not answer at {url} within {timeout:.0f}s"
    raise SystemExit(msg)


def run_job(job: str, env: dict[str, str]) -> tuple[int, float, list[str]]:
    """``meltano run <job>``, its output shown as it comes; returns exit code, seconds and the output."""
    print(f"==> meltano run {job}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "meltano"), "run", job],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert proc.stdout is not None
    output = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        output.append(line)
    return proc.wait(), time.monotonic() - started, output


def record_run(job: str, code: int, output: list[str]) -> None:
    """Keep what the report shows (utilities/checks): the run's outcome, and its row counts or its error line."""
    checks = [str(BIN / "python"), "-m", "utilities.checks", "--warehouse", f"duckdb://{WAREHOUSE}"]
    if code == 0:
        command = [*checks, "record", "--job", job]
    else:
        log = ROOT / "output" / f"{job}.log"
        log.write_text("".join(output))
        command = [*checks, "record", "--job", job, "--failed", "--log", str(log)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        print(done.stdout + done.stderr, end="")


def print_row_counts(durations: dict[str, float]) -> None:
    """What landed, per schema and table: live rows, and rows retired by a later full-table version.

    A second demo run re-reads every full-table stream; rows the source no longer has stay in the
    table marked ``_sdc_deleted_at`` (docs/snowflake.md, "Deletions"), so counting every row would
    report them as if they were still there. Three tables to a line keeps a hundred tables readable
    on one screen; each schema's line says how long the run that loaded it took.
    """
    if not WAREHOUSE.exists():
        print("no warehouse file: nothing landed")
        return
    with duckdb.connect(str(WAREHOUSE), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name, bool_or(column_name = '_sdc_deleted_at') "
            "from information_schema.columns "
            "join information_schema.tables using (table_catalog, table_schema, table_name) "
            "where table_type = 'BASE TABLE' and table_schema like 'TAP_%' group by 1, 2 order by 1, 2"
        ).fetchall()
        by_schema: dict[str, list[tuple[str, int, int]]] = {}
        for schema, table, has_deleted_at in tables:
            retired = "count(_sdc_deleted_at)" if has_deleted_at else "0"
            live, gone = con.execute(f'select count(*) - {retired}, {retired} from "{schema}"."{table}"').fetchone()  # type: ignore[misc]  # noqa: S608 - names from the catalog
            by_schema.setdefault(schema, []).append((table, live, gone))
    print("\nlanded, per table: live rows/retired rows")
    for schema, rows in by_schema.items():
        job = next((j for j in JOBS if SCHEMAS.get(j) == schema), None)
        took = f", run took {durations[job]:.0f}s" if job in durations else ""
        live_total, retired_total = sum(r[1] for r in rows), sum(r[2] for r in rows)
        print(f"{schema}: {len(rows)} tables, {live_total:,} live, {retired_total:,} retired{took}")
        # A no-break space keeps each table's name and numbers on one line.
        cells = " · ".join(f"{table}\u00a0{live:,}/{gone:,}" for table, live, gone in rows)
        print(textwrap.fill(cells, width=150, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False))


def main() -> int:
    """Run the whole dev pipeline, keep its history, print what landed and where the report is."""
    env = {**os.environ, "MELTANO_ENVIRONMENT": "dev"}
    emulators = start_http_emulators() + [start() for start in OTHER_EMULATORS]
    failed = []
    durations: dict[str, float] = {}
    try:
        for job in JOBS:
            code, seconds, output = run_job(job, env)
            durations[job] = seconds
            record_run(job, code, output)
            if code:
                failed.append(job)
    finally:
        for proc in emulators:
            proc.terminate()
        for proc in emulators:
            proc.wait(timeout=30)
    print_row_counts(durations)
    report = subprocess.run(
        [str(BIN / "python"), "-m", "utilities.checks", "--warehouse", f"duckdb://{WAREHOUSE}", "report"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    print(report.stdout + report.stderr, end="")
    if failed:
        print(f"\nFAILED jobs: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
