"""``python -m checks record --job <job>`` after a run; ``python -m checks freshness`` to alert.

Exit codes: 0 all good, 1 something is stale or moved too much (one line per finding), 2 the check itself
could not run (one line naming the setting, job or warehouse).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from checks.project import MeltanoProject, ProjectError
from checks.rules import CronError, check
from checks.warehouse import Warehouse, WarehouseError


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; return the process exit code."""
    args = _parser().parse_args(argv)
    if not args.warehouse:
        print("checks: no warehouse: set CHECKS_WAREHOUSE (duckdb:///<file> or snowflake://)", file=sys.stderr)
        return 2
    try:
        project = MeltanoProject.load(args.project_root)
        warehouse = Warehouse.connect(args.warehouse)
        try:
            return (
                _record(project, warehouse, args) if args.command == "record" else _freshness(project, warehouse, args)
            )
        finally:
            warehouse.close()
    except (ProjectError, WarehouseError, CronError, OSError) as exc:
        print(f"checks: {exc}", file=sys.stderr)
        return 2


def _record(project: MeltanoProject, warehouse: Warehouse, args: argparse.Namespace) -> int:
    schemas = project.job_schemas(args.job)
    counts = warehouse.table_counts(schemas)
    warehouse.record(args.job, counts)
    landed_in = ", ".join(schemas) or "no schemas"
    print(f"recorded row counts of {len(counts)} tables for job {args.job} ({landed_in})")
    return 0


def _freshness(project: MeltanoProject, warehouse: Warehouse, args: argparse.Namespace) -> int:
    schedules = project.schedules()
    schemas = {s for schedule in schedules for s in schedule.schemas}
    tables_now = warehouse.table_counts(schemas)
    findings = check(
        schedules, warehouse.history(), tables_now, now=args.now, grace=args.grace, max_ratio=args.max_ratio
    )
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} problem(s) in {len(schemas)} scheduled schema(s)")
        return 1
    print(f"all tables of {len(schedules)} schedule(s) fresh and within x{args.max_ratio:g} week on week")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m checks", description=__doc__)
    parser.add_argument(
        "--warehouse",
        default=os.environ.get("CHECKS_WAREHOUSE"),
        help="duckdb:///<file> or snowflake:// (default: $CHECKS_WAREHOUSE)",
    )
    parser.add_argument(
        "--project-root",
        type=Path,
        default=Path(os.environ.get("MELTANO_PROJECT_ROOT") or Path.cwd()),
        help="Meltano project (default: $MELTANO_PROJECT_ROOT, else the current directory)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    record = commands.add_parser("record", help="snapshot row counts of a job's landing schemas")
    record.add_argument("--job", required=True, help="Meltano job that just ran")
    fresh = commands.add_parser("freshness", help="report stale tables and week-on-week volume moves")
    fresh.add_argument(
        "--max-ratio",
        type=float,
        default=float(os.environ.get("CHECKS_MAX_RATIO") or 2.0),
        help="largest allowed week-on-week change of a table's row count, either way (default 2)",
    )
    fresh.add_argument(
        "--grace-minutes",
        dest="grace",
        type=lambda v: timedelta(minutes=float(v)),
        default=timedelta(minutes=float(os.environ.get("CHECKS_GRACE_MINUTES") or 60)),
        help="how long a scheduled run may take before its tables count as stale (default 60)",
    )
    fresh.add_argument(
        "--now",
        type=lambda v: datetime.fromisoformat(v).astimezone(UTC),
        default=datetime.now(UTC),
        help=argparse.SUPPRESS,
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
