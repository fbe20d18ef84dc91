"""Freshness and volume checks against a synthetic warehouse (a DuckDB file this test fills) and project."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.harness import PROJECT_ROOT
from utilities.checks.project import MeltanoProject
from utilities.checks.rules import CronError, due_since, validate_cron
from utilities.checks.warehouse import Warehouse

NOW = datetime(2026, 3, 11, 10, 30, tzinfo=UTC)  # a Wednesday; 8-hourly runs fired at 00:00 and 08:00

PROJECT_YML = """\
default_environment: dev
environments: [{name: dev}, {name: prod}]
plugins:
  extractors:
  - {name: tap-alpha, namespace: tap_alpha, load_schema: TAP_ALPHA}
  - {name: tap-beta, namespace: tap_beta}
  - {name: tap-beta-second, inherit_from: tap-beta, load_schema: TAP_BETA_SECOND}
  - {name: tap-gamma, inherit_from: tap-alpha}
  loaders:
  - {name: target-warehouse, namespace: target_warehouse}
  utilities:
  - {name: checks, namespace: checks}
jobs:
- {name: alpha-to-warehouse, tasks: [tap-alpha target-warehouse]}
- {name: beta-to-warehouse, tasks: ["tap-beta target-warehouse", "tap-beta-second target-warehouse"]}
- {name: checks-freshness, tasks: ["checks:freshness"]}
schedules:
- {name: alpha-every-8-hours, interval: "0 */8 * * *", job: alpha-to-warehouse}
- {name: beta-daily, interval: "0 4 * * *", job: beta-to-warehouse}
- {name: checks-hourly, interval: "30 * * * *", job: checks-freshness}
"""

#: Tables of the synthetic warehouse and how many rows each holds.
TABLES = {("TAP_ALPHA", "AUDITS"): 3, ("TAP_ALPHA", "RISKS"): 5, ("tap_beta", "tickets"): 7}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "meltano.yml").write_text(PROJECT_YML)
    return root


@pytest.fixture
def warehouse_file(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for (schema, table), rows in TABLES.items():
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT range AS id FROM range({rows})')
    return path


def record_at(warehouse_file: Path, job: str, at: datetime, counts: dict[tuple[str, str], int]) -> None:
    warehouse = Warehouse.connect(f"duckdb://{warehouse_file}")
    try:
        warehouse.record(job, counts, at=at)
    finally:
        warehouse.close()


def run_checks(project: Path, warehouse_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "utilities.checks",
            "--warehouse",
            f"duckdb://{warehouse_file}",
            "--project-root",
            str(project),
            *args,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def freshness(project: Path, warehouse_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_checks(project, warehouse_file, "freshness", "--now", NOW.isoformat(), *args)


def record_all_fresh(warehouse_file: Path) -> None:
    """Both scheduled jobs recorded after their latest due run, with today's counts."""
    alpha = {k: v for k, v in TABLES.items() if k[0] == "TAP_ALPHA"}
    record_at(warehouse_file, "alpha-to-warehouse", NOW - timedelta(hours=2), alpha)
    beta = {("TAP_BETA", "TICKETS"): 7, ("TAP_BETA_SECOND", "TICKETS"): 2}
    record_at(warehouse_file, "beta-to-warehouse", NOW - timedelta(hours=6), beta)


def test_record_snapshots_the_row_counts_of_the_jobs_schemas_only(project, warehouse_file):
    result = run_checks(project, warehouse_file, "record", "--job", "alpha-to-warehouse")

    assert result.returncode == 0, result.stderr
    assert "2 tables" in result.stdout
    warehouse = Warehouse.connect(f"duckdb://{warehouse_file}")
    history = warehouse.history()
    warehouse.close()
    assert {(r.job, r.schema, r.table, r.row_count) for r in history} == {
        ("alpha-to-warehouse", "TAP_ALPHA", "AUDITS", 3),
        ("alpha-to-warehouse", "TAP_ALPHA", "RISKS", 5),
    }


def test_schemas_come_from_load_schema_then_the_parent_then_the_namespace(project):
    meltano = MeltanoProject.load(project)

    assert meltano.job_schemas("alpha-to-warehouse") == ("TAP_ALPHA",)
    assert meltano.job_schemas("beta-to-warehouse") == ("tap_beta", "TAP_BETA_SECOND")
    assert meltano.load_schemas["tap-gamma"] == "TAP_ALPHA"
    assert [s.name for s in meltano.schedules()] == ["alpha-every-8-hours", "beta-daily"]


def test_all_tables_loaded_since_their_last_due_run_pass(project, warehouse_file):
    record_all_fresh(warehouse_file)

    result = freshness(project, warehouse_file)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "all tables of 2 schedule(s) fresh" in result.stdout


def test_a_table_older_than_its_schedule_allows_is_reported(project, warehouse_file):
    record_all_fresh(warehouse_file)
    # alpha ran at 00:00 but missed 08:00: by 10:30 (grace 60 min) the 08:00 run should have loaded.
    record_at(warehouse_file, "alpha-to-warehouse", NOW - timedelta(hours=10), {("TAP_ALPHA", "LATE"): 1})

    result = freshness(project, warehouse_file)

    assert result.returncode == 1
    assert result.stdout.splitlines()[:-1] == [
        "TAP_ALPHA.LATE: stale: last load 2026-03-11T00:30Z; alpha-every-8-hours (0 */8 * * *) "
        "should have loaded it since 2026-03-11T08:00Z"
    ]


def test_grace_covers_a_run_still_in_progress(project, warehouse_file):
    record_all_fresh(warehouse_file)
    record_at(warehouse_file, "alpha-to-warehouse", NOW - timedelta(hours=10), {("TAP_ALPHA", "LATE"): 1})

    assert freshness(project, warehouse_file, "--grace-minutes", "180").returncode == 0


def test_a_table_in_the_warehouse_that_was_never_recorded_is_stale(project, warehouse_file):
    record_at(warehouse_file, "beta-to-warehouse", NOW - timedelta(hours=1), {("TAP_BETA", "TICKETS"): 7})

    result = freshness(project, warehouse_file)

    assert result.returncode == 1
    assert "TAP_ALPHA.AUDITS: stale: never recorded" in result.stdout
    assert "TAP_ALPHA.RISKS: stale: never recorded" in result.stdout
    assert "TAP_BETA_SECOND: nothing recorded yet; beta-daily was due 2026-03-11T04:00Z" in result.stdout


@pytest.mark.parametrize(("week_ago", "now", "flagged"), [(10, 41, True), (40, 9, True), (10, 19, False)])
def test_week_on_week_volume_moves_beyond_the_ratio_are_reported(project, warehouse_file, week_ago, now, flagged):
    record_all_fresh(warehouse_file)
    key = ("TAP_ALPHA", "RISKS")
    record_at(warehouse_file, "alpha-to-warehouse", NOW - timedelta(days=7, hours=3), {key: week_ago})
    record_at(warehouse_file, "alpha-to-warehouse", NOW - timedelta(hours=1), {key: now})

    result = freshness(project, warehouse_file)

    assert result.returncode == (1 if flagged else 0), result.stdout
    assert ("TAP_ALPHA.RISKS: volume moved" in result.stdout) is flagged


def test_the_volume_ratio_is_configurable(project, warehouse_file):
    record_all_fresh(warehouse_file)
    key = ("TAP_ALPHA", "RISKS")
    record_at(warehouse_file, "alpha-to-warehouse", NOW - timedelta(days=8), {key: 10})
    record_at(warehouse_file, "alpha-to-warehouse", NOW - timedelta(hours=1), {key: 41})

    assert freshness(project, warehouse_file, "--max-ratio", "5").returncode == 0


def test_an_invalid_cron_is_one_clear_line(project, warehouse_file):
    yml = project / "meltano.yml"
    yml.write_text(yml.read_text().replace('"0 4 * * *"', '"every day at 4"'))

    result = freshness(project, warehouse_file)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "checks: schedule 'beta-daily': interval 'every day at 4' is not a valid 5-field cron expression"
    )


def test_an_unknown_job_is_one_clear_line(project, warehouse_file):
    result = run_checks(project, warehouse_file, "record", "--job", "nope-to-warehouse")

    assert result.returncode == 2
    assert result.stderr.strip().startswith("checks: job 'nope-to-warehouse' is not defined in ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_warehouse_setting_is_one_clear_line(project):
    result = subprocess.run(
        [sys.executable, "-m", "utilities.checks", "--project-root", str(project), "freshness"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.strip() == "checks: no warehouse: set CHECKS_WAREHOUSE (duckdb:///<file> or snowflake://)"


@pytest.mark.parametrize("cron", ["0 */8 * * *", "0 0,5 * * *", "0 0 * * *", "0 4 * * *", "0 5 * * *", "@daily"])
def test_design_crons_are_valid(cron):
    validate_cron("s", cron)


@pytest.mark.parametrize("cron", ["every day", "30 * * */ 99", "0 0 0 * * *", "61 * * * *", ""])
def test_invalid_crons_are_refused(cron):
    with pytest.raises(CronError, match="schedule 's'"):
        validate_cron("s", cron)


def test_due_since_is_the_last_fire_time_before_now_minus_grace():
    assert due_since("0 */8 * * *", NOW, timedelta(hours=1)) == datetime(2026, 3, 11, 8, tzinfo=UTC)
    assert due_since("0 */8 * * *", NOW, timedelta(hours=3)) == datetime(2026, 3, 11, 0, tzinfo=UTC)
    assert due_since("0 0,5 * * *", NOW, timedelta(hours=1)) == datetime(2026, 3, 11, 5, tzinfo=UTC)


def test_every_scheduled_pipeline_of_this_project_maps_to_its_landing_schema():
    """DESIGN.md: schema TAP_<SOURCE>; the checks must find it through the extractor's load_schema."""
    for schedule in MeltanoProject.load(PROJECT_ROOT).schedules():
        source = schedule.job.removesuffix("-to-snowflake")
        assert schedule.schemas == ("TAP_" + source.upper().replace("-", "_"),), schedule


def test_the_meltano_utility_records_after_a_dev_job(meltano):
    """`meltano invoke checks:record` as the DAG runs it: plugin venv, PYTHONPATH, warehouse from the env."""
    with duckdb.connect(str(meltano.warehouse_path)) as con:
        con.execute("CREATE SCHEMA TAP_ZENGRC")
        con.execute("CREATE TABLE TAP_ZENGRC.audits AS SELECT range AS id FROM range(4)")

    result = meltano.run("invoke", "checks:record", "--job", "zengrc-to-warehouse")

    assert "recorded row counts of 1 tables for job zengrc-to-warehouse (TAP_ZENGRC)" in result.stdout
    assert meltano.query("SELECT job, table_schema, table_name, row_count FROM LOAD_CHECKS.ROW_COUNTS") == [
        ("zengrc-to-warehouse", "TAP_ZENGRC", "AUDITS", 4)
    ]
