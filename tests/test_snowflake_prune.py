"""The prune task of xactly-to-snowflake, run as the job runs it, against the Snowflake stand-in.

``snowflake-preflight:prune-retired-xactly`` is the job's last task (after the load) and keeps only
the last complete copy of the two keyless Xactly summaries (docs/snowflake.md, "Deletions"). The
test runs that exact task with ``meltano --environment=prod invoke`` and the operator's SNOWFLAKE_*
variables; the loader's own connector reaches fakesnow through the stand-in's TLS proxy
(tests/snowflake_sql/standin.py), as the load does.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness import PROJECT_ROOT, MeltanoSandbox
from tests.snowflake_sql.standin_client import SNOWFLAKE_ENV, Standin

pytestmark = pytest.mark.e2e
MELTANO = PROJECT_ROOT / ".venv/bin/meltano"
TASK = "snowflake-preflight:prune-retired-xactly"
#: Columns as the loader creates them for a summary: data plus its _sdc_ metadata columns.
COLUMNS = "PERIOD_ID INTEGER, AMOUNT NUMBER(18, 2), _SDC_TABLE_VERSION INTEGER, _SDC_DELETED_AT TIMESTAMP_TZ"


def rows_of(schema: str, table: str, standin: Standin) -> list[tuple[int, bool]]:
    """(PERIOD_ID, retired) of every row left in the table."""
    (found,) = standin.sql(f'select PERIOD_ID, _SDC_DELETED_AT is not null as retired from RAW.{schema}."{table}"')
    return sorted((int(r["period_id"]), bool(r["retired"])) for r in found)


def rows(table: str, standin: Standin) -> list[tuple[int, bool]]:
    return rows_of("TAP_XACTLY", table, standin)


def test_the_job_prunes_its_keyless_summaries_last():
    """The task is the job's last one, so a failed load stops the job before anything is deleted."""
    done = subprocess.run(
        [str(MELTANO), "job", "list", "--format=json"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    jobs = {job["job_name"]: job["tasks"] for job in json.loads(done.stdout)["jobs"]}
    tasks = jobs["xactly-to-snowflake"]
    assert tasks[-1] == TASK, tasks
    assert tasks.index("tap-xactly target-snowflake") < tasks.index(TASK)


def test_prune_task_deletes_retired_rows_of_keyless_tables_only(meltano: MeltanoSandbox, standin: Standin):
    standin.sql(
        "create database if not exists RAW",
        "create schema if not exists RAW.TAP_XACTLY",
        f'create or replace table RAW.TAP_XACTLY."XC_CREDIT_SUMMARY" ({COLUMNS})',
        # Two earlier full copies retired by ACTIVATE_VERSION, and the live copy of this run.
        'insert into RAW.TAP_XACTLY."XC_CREDIT_SUMMARY" values '
        "(1, 10, 1, '2026-11-29 00:05:00+00:00'), (2, 20, 1, '2026-11-29 00:05:00+00:00'), "
        "(1, 11, 2, '2026-11-29 05:05:00+00:00'), (2, 21, 2, '2026-11-29 05:05:00+00:00'), "
        "(1, 12, 3, null), (2, 22, 3, null), (3, 32, 3, null)",
        # A keyed full-table table: its soft-deleted rows are the deletion record and must stay.
        f'create or replace table RAW.TAP_XACTLY."XC_PARTICIPANT" ({COLUMNS})',
        "insert into RAW.TAP_XACTLY.\"XC_PARTICIPANT\" values (1, 1, 1, null), (2, 2, 1, '2026-11-29 00:05:00+00:00')",
        # XC_QUOTA_SUMMARY is not created: the first loads may not have reached it yet.
        'drop table if exists RAW.TAP_XACTLY."XC_QUOTA_SUMMARY"',
    )

    run = meltano.run("--environment=prod", "invoke", TASK, env=standin.env(), check=False)
    output = run.stdout + run.stderr
    # Meltano relays the utility's stderr with its own log prefix.
    lines = [line[line.index("snowflake-prune: ") :] for line in output.splitlines() if "snowflake-prune: " in line]

    assert run.returncode == 0, output[-3000:]
    assert lines == [
        "snowflake-prune: RAW.TAP_XACTLY.XC_CREDIT_SUMMARY: 4 retired rows pruned",
        "snowflake-prune: RAW.TAP_XACTLY.XC_QUOTA_SUMMARY: table not found, nothing to prune",
    ], output[-3000:]
    assert rows("XC_CREDIT_SUMMARY", standin) == [(1, False), (2, False), (3, False)]
    assert rows("XC_PARTICIPANT", standin) == [(1, False), (2, True)]
    assert SNOWFLAKE_ENV["SNOWFLAKE_PASSWORD"] not in output

    # A second run finds nothing retired: the table holds exactly the last complete copy.
    again = meltano.run("--environment=prod", "invoke", TASK, env=standin.env(), check=False)
    assert "snowflake-prune: RAW.TAP_XACTLY.XC_CREDIT_SUMMARY: 0 retired rows pruned" in again.stderr, again.stderr


def test_prune_without_credentials_names_the_variable_and_fails(meltano: MeltanoSandbox, standin: Standin):
    env = {name: value for name, value in standin.env().items() if name != "SNOWFLAKE_PASSWORD"}
    run = meltano.run("--environment=prod", "invoke", TASK, env=env, check=False, drop=("SNOWFLAKE_",))
    assert run.returncode != 0
    assert "snowflake-prune: nothing pruned: missing variables: SNOWFLAKE_PASSWORD" in run.stderr, run.stderr[-2000:]


def test_prune_by_hand_reports_a_failing_table_in_one_line_and_exits_non_zero(
    meltano: MeltanoSandbox, standin: Standin
):
    """The generic command takes SCHEMA TABLE...; a table it cannot prune fails the run, the others still go."""
    standin.sql(
        "create database if not exists RAW",
        "create schema if not exists RAW.TAP_MANUAL",
        f'create or replace table RAW.TAP_MANUAL."SUMMARY" ({COLUMNS})',
        "insert into RAW.TAP_MANUAL.\"SUMMARY\" values (1, 1, 1, '2026-11-29 00:05:00+00:00'), (2, 2, 2, null)",
        # No _sdc_ columns: not a table the loader created, the DELETE cannot run.
        'create or replace table RAW.TAP_MANUAL."NO_METADATA" (PERIOD_ID INTEGER)',
    )
    run = meltano.run(
        "--environment=prod",
        "invoke",
        "snowflake-preflight:prune-retired",
        "tap_manual",
        "no_metadata",
        "summary",
        env=standin.env(),
        check=False,
    )
    lines = [line[line.index("snowflake-prune: ") :] for line in run.stderr.splitlines() if "snowflake-prune: " in line]

    assert run.returncode != 0
    assert lines[0] == "snowflake-prune: RAW.TAP_MANUAL.SUMMARY: 1 retired rows pruned", lines
    assert len(lines) == 2, lines
    assert lines[1].startswith("snowflake-prune: failed: RAW.TAP_MANUAL.NO_METADATA: "), lines
    assert "_SDC_DELETED_AT" in lines[1].upper(), lines
    assert "Traceback" not in run.stderr
    assert rows_of("TAP_MANUAL", "SUMMARY", standin) == [(2, False)]

    refused = meltano.run(
        "--environment=prod", "invoke", "snowflake-preflight:prune-retired", "TAP_MANUAL", 'x"; drop', check=False
    )
    assert refused.returncode != 0
    assert "snowflake-prune: nothing pruned: not a plain Snowflake identifier: 'x\"; drop'" in refused.stderr
