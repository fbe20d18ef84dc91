"""``python -m utilities.checks record --job <job>`` after a run, ``freshness`` to alert, ``report`` to look.

Exit codes: 0 all good, 1 something is stale or moved too much (one line per finding), 2 the check itself
could not run (one line naming the setting, job or warehouse).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from utilities.checks import report
from utilities.checks.project import MeltanoProject, ProjectError
from utilities.checks.rules import CronError, check
from utilities.checks.runlog import last_error_line
from utilities.checks.warehouse import Warehouse, WarehouseError

#: Where ``report`` writes when neither ``--output`` nor CHECKS_REPORT_PATH says otherwise (project-relative).
DEFAULT_REPORT = Path("output") / "run-report.html"


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
            command = {"record": _record, "freshness": _freshness, "report": _report}[args.command]
            return command(project, warehouse, args)
        finally:
            warehouse.close()
    except (ProjectError, WarehouseError, CronError, OSError) as exc:
        print(f"checks: {exc}", file=sys.stderr)
        return 2


def _record(project: MeltanoProject, warehouse: Warehouse, args: argparse.Namespace) -> int:
    schemas = project.job_schemas(args.job)
    if args.failed:
        # A failed run's counts are not a load: only the outcome and its reason go to the history.
        error = args.error_line
        if error is None and args.log is not None:
            with args.log.open(encoding="utf-8", errors="replace") as log:
                error = last_error_line(log)
        warehouse.record_run(args.job, succeeded=False, error_line=error)
        print(f"recorded a failed run of job {args.job}: {error or 'no error line given'}")
        return 0
    counts = warehouse.table_counts(schemas)
    warehouse.record(args.job, counts)
    warehouse.record_run(args.job, succeeded=True)
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


def _report(project: MeltanoProject, warehouse: Warehouse, args: argparse.Namespace) -> int:
    sources = report.build(
        project, warehouse.history(), warehouse.runs(), now=args.now, grace=args.grace, max_ratio=args.max_ratio
    )
    html = report.render(sources, now=args.now, grace=args.grace, max_ratio=args.max_ratio)
    output = args.output if args.output.is_absolute() else args.project_root / args.output
    path = report.write(output, html)
    stale = sum(source.freshness == "red" for source in sources)
    print(f"run report: {path.resolve().as_uri()} ({len(sources)} sources, {stale} stale)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m utilities.checks", description=__doc__)
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
    rules = argparse.ArgumentParser(add_help=False)
    rules.add_argument(
        "--max-ratio",
        type=float,
        default=float(os.environ.get("CHECKS_MAX_RATIO") or 2.0),
        help="largest allowed week-on-week change of a table's row count, either way (default 2)",
    )
    rules.add_argument(
        "--grace-minutes",
        dest="grace",
        type=lambda v: timedelta(minutes=float(v)),
        default=timedelta(minutes=float(os.environ.get("CHECKS_GRACE_MINUTES") or 60)),
        help="how long a scheduled run may take before its tables count as stale (default 60)",
    )
    rules.add_argument(
        "--now",
        type=lambda v: datetime.fromisoformat(v).astimezone(UTC),
        default=datetime.now(UTC),
        help=argparse.SUPPRESS,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    record = commands.add_parser("record", help="after a run: its outcome, and the row counts of a successful one")
    record.add_argument("--job", required=True, help="Meltano job that just ran")
    record.add_argument("--failed", action="store_true", help="the run failed: record that instead of row counts")
    record.add_argument("--error-line", help="with --failed: the line that says why (default: read from --log)")
    record.add_argument("--log", type=Path, help="with --failed: the run's output, whose last error line is kept")
    commands.add_parser("freshness", parents=[rules], help="report stale tables and week-on-week volume moves")
    look = commands.add_parser("report", parents=[rules], help="render the run report (one offline HTML file)")
    look.add_argument(
        "--output",
        type=Path,
        default=Path(os.environ.get("CHECKS_REPORT_PATH") or DEFAULT_REPORT),
        help="HTML file, relative to the project root (default: $CHECKS_REPORT_PATH, else output/run-report.html)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
