"""The real prod jobs, the MeltanoLabs loader unchanged, against a Snowflake stand-in.

Each test runs ``meltano --environment=prod run <source>-to-snowflake`` (the job by its name, so
whatever meltano.yml defines for it runs) with the operator's SNOWFLAKE_* variables and the
extractor's endpoint pointed at its emulator. target-snowflake 0.20.4 opens
https://acme-prod01.snowflakecomputing.com:443 as it would in production; the only additions are
``HTTPS_PROXY``/``HTTP_PROXY`` and ``REQUESTS_CA_BUNDLE``, which lead it to fakesnow's server
(tests/snowflake_sql/standin.py). fakesnow 0.12.1 cannot run the loader's ``PUT`` to the user
stage (docs/snowflake.md, "Snowflake stand-in"), so every load stops there: the tests assert
everything up to that statement — connection, login, schema and table DDL, the batch file the PUT
would stage (parsed and compared with the emulator's ground truth) — and that the failure is that
PUT and nothing else.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness import PROJECT_ROOT, MeltanoSandbox
from tests.snowflake_sql.standin_client import (
    ACCOUNT_HOST,
    FAKESNOW_PYTHON,
    SNOWFLAKE_ENV,
    Standin,
    Traffic,
    staged_rows,
    standin_missing,
)

pytestmark = pytest.mark.e2e
HASH_KEY = "stand-in-test-hash-key-0123456789"
HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Source:
    """One prod job and the stream of it this test follows."""

    job: str
    schema: str
    stream: str
    key: str
    hashed: tuple[str, ...]
    #: (emulator fixtures, tmp path) -> (env pointing the extractor at its emulator, ground truth rows)
    start: Callable[[Any, Any, Path], tuple[dict[str, str], list[dict[str, Any]]]]


def start_zengrc(emulator, _xactly_db, _tmp: Path):
    server = emulator("zengrc", seed=3, volume=6, only="people")
    env = {
        "TAP_ZENGRC_API_URL": f"{server.url}/api/v2",
        "ZENGRC_TENANT": "acme",
        "ZENGRC_USERNAME": "emulator-key-id",
        "ZENGRC_PASSWORD": "emulator-key-secret",
        "TAP_ZENGRC__SELECT": '["people.*"]',
    }
    return env, server.emulator.truth("people")["people"]


def start_adaptive(emulator, _xactly_db, _tmp: Path):
    server = emulator("adaptive", seed=3, volume=6)
    env = {
        "TAP_ADAPTIVE_API_URL": f"{server.url}/api/v38",
        "TAP_ADAPTIVE_USERNAME": "emulator@example.com",
        "TAP_ADAPTIVE_PASSWORD": "emulator-password",
        "TAP_ADAPTIVE__SELECT": '["export_users.*"]',
    }
    return env, server.emulator.truth("exportUsers")["exportUsers"]


def start_zendesk(emulator, _xactly_db, _tmp: Path):
    server = emulator("zendesk", seed=3, volume=6)
    env = {
        "TAP_ZENDESK_API_URL": f"{server.url}/api/v2",
        "TAP_ZENDESK_SUBDOMAIN": "acme",
        "TAP_ZENDESK_EMAIL": "admin@main.example.com",
        "TAP_ZENDESK_API_TOKEN": "main-api-token",
        "TAP_ZENDESK_START_DATE": "2023-01-01T00:00:00Z",
        "TAP_ZENDESK__SELECT": '["users.*"]',
    }
    return env, server.emulator.truth("users")["users"]


def start_zendesk_community(emulator, _xactly_db, _tmp: Path):
    server = emulator("zendesk", seed=4, volume=6, account="community")
    env = {
        "TAP_ZENDESK_COMMUNITY_RELATIONS_API_URL": f"{server.url}/api/v2",
        "TAP_ZENDESK_COMMUNITY_RELATIONS_SUBDOMAIN": "acme-community",
        "TAP_ZENDESK_COMMUNITY_RELATIONS_EMAIL": "admin@community.example.com",
        "TAP_ZENDESK_COMMUNITY_RELATIONS_API_TOKEN": "community-api-token",
        "TAP_ZENDESK_COMMUNITY_RELATIONS_START_DATE": "2023-01-01T00:00:00Z",
        "TAP_ZENDESK__COMMUNITY_RELATIONS__SELECT": '["users.*"]',
    }
    return env, server.emulator.truth("users")["users"]


def start_xactly(_emulator, xactly_db, _tmp: Path):
    emu = xactly_db(seed=3, volume=6, tables=["xc_participant"])
    config = emu.tap_config()
    env = {
        # H2 stands in for Xactly's driver; it must ignore the gateway's clientID/consumer properties.
        "TAP_XACTLY_JDBC_URL": f"{config['jdbc_url']};IGNORE_UNKNOWN_SETTINGS=TRUE",
        "TAP_XACTLY_DRIVER_CLASS": config["driver_class"],
        "TAP_XACTLY_DRIVER_JAR": ":".join(config["driver_jar"]),
        "TAP_XACTLY_SCHEMA": config["schema"],
        "TAP_XACTLY_USERNAME": config["username"],
        "TAP_XACTLY_PASSWORD": config["password"],
        "TAP_XACTLY_CLIENT_ID": "stand-in-client",
        "TAP_XACTLY_CONSUMER": "stand-in-consumer",
        "TAP_XACTLY__SELECT": '["xc_participant.*"]',
    }
    return env, emu.truth("xc_participant")["xc_participant"]


SOURCES = {
    "zengrc": Source("zengrc-to-snowflake", "TAP_ZENGRC", "people", "id", ("name", "email"), start_zengrc),
    "adaptive": Source(
        "adaptive-to-snowflake", "TAP_ADAPTIVE", "export_users", "id", ("name", "login"), start_adaptive
    ),
    "xactly": Source("xactly-to-snowflake", "TAP_XACTLY", "xc_participant", "PARTICIPANT_ID", ("NAME",), start_xactly),
    "zendesk": Source("zendesk-to-snowflake", "TAP_ZENDESK", "users", "id", ("name", "email"), start_zendesk),
    "zendesk-community-relations": Source(
        "zendesk-community-relations-to-snowflake",
        "TAP_ZENDESK_COMMUNITY_RELATIONS",
        "users",
        "id",
        ("name", "email"),
        start_zendesk_community,
    ),
}


def prod_run(meltano: MeltanoSandbox, standin: Standin, job: str, env: dict[str, str]):
    """The job as operators run it in prod, with the documented variables; the loader reaches the stand-in."""
    return meltano.run(
        "--environment=prod",
        "run",
        job,
        env={**standin.env(), "PII_HASH_KEY": HASH_KEY, **env},
        check=False,
    )


def describe(traffic: Traffic) -> str:
    return "\n".join(f"{'ok ' if s.success else 'ERR'} {s.sql[:160]!r} {s.message[:160]}" for s in traffic.statements)


@pytest.mark.parametrize("name", SOURCES)
def test_prod_job_reaches_the_standin_and_stages_the_taps_real_records(
    meltano, emulator, xactly_db, standin, tmp_path, name
):
    source = SOURCES[name]
    env, truth = source.start(emulator, xactly_db, tmp_path)

    run = prod_run(meltano, standin, source.job, env)
    traffic = standin.traffic_since_last_call()
    output = run.stdout + run.stderr

    # The connector went where production goes, and only there (no host/port setting involved).
    assert traffic.connects, f"the loader never connected:\n{output[-6000:]}"
    assert set(traffic.connects) == {ACCOUNT_HOST}
    login = traffic.logins()
    assert login, output[-3000:]
    assert f"databaseName={SNOWFLAKE_ENV['SNOWFLAKE_DATABASE']}" in login[0]
    assert f"warehouse={SNOWFLAKE_ENV['SNOWFLAKE_WAREHOUSE']}" in login[0]
    assert f"roleName={SNOWFLAKE_ENV['SNOWFLAKE_ROLE']}" in login[0]

    # DDL: the source's schema and the stream's table, with the loader's metadata columns and TZ timestamps.
    table = source.stream.upper()
    assert traffic.matching(f"CREATE SCHEMA {source.schema}"), describe(traffic)
    creates = traffic.matching(f'CREATE TABLE "{source.schema}"."{table}"')
    assert creates, describe(traffic)
    assert all(s.success for s in creates)
    (columns,) = standin.sql(
        "select column_name, data_type from RAW.information_schema.columns "
        f"where table_catalog = 'RAW' and table_schema = '{source.schema}' and table_name = '{table}'"
    )
    types = {row["column_name"].lower(): row["data_type"] for row in columns}
    for metadata in ("_sdc_batched_at", "_sdc_extracted_at", "_sdc_deleted_at", "_sdc_table_version"):
        assert metadata in types, types
    assert types["_sdc_batched_at"] == "TIMESTAMP_TZ"

    # The batch file the PUT would stage holds exactly the source's records, personal fields hashed.
    puts = traffic.matching("put ")
    assert len(puts) == 1, describe(traffic)
    assert re.fullmatch(
        rf"put 'file://\S+\.json\.gz' '@~/target-snowflake/{source.stream}-[0-9a-f-]{{36}}'", puts[0].sql
    )
    staged = staged_rows(puts[0])
    truth_by_key = {str(r[source.key]): r for r in truth}
    staged_by_key = {str(r[source.key]): r for r in staged}
    assert len(staged) == len(staged_by_key) == len(truth_by_key) > 0
    assert set(staged_by_key) == set(truth_by_key)
    for key, row in staged_by_key.items():
        for field in source.hashed:
            original = truth_by_key[key].get(field)
            if original:
                assert row[field] != original, f"{source.stream}.{field} landed unhashed"
                assert HEX64.fullmatch(str(row[field])), row[field]
        assert row["_sdc_extracted_at"]

    # The file format is created first (it is dropped only at clean-up, never reached here).
    formats = traffic.matching(f'create or replace file format RAW.{source.schema}."tf-{source.stream}-')
    assert formats, describe(traffic)
    assert all(s.success for s in formats), describe(traffic)

    # Full-table streams: ACTIVATE_VERSION retires older versions than the one the staged records carry,
    # and the loader runs it as the message arrives, before the PUT of those records (docs/snowflake.md).
    versions = {row.get("_sdc_table_version") for row in staged}
    retirements = traffic.retirements(f'"{source.schema}"."{table}"')
    if versions == {None}:
        assert not retirements, "an incremental stream retires nothing"
    else:
        (version,) = versions
        assert len(retirements) == 1, describe(traffic)
        assert f"_sdc_table_version < {version}" in retirements[0].sql
        assert traffic.statements.index(retirements[0]) < traffic.statements.index(puts[0])

    # The load stops at that PUT, fakesnow's one gap on this path (docs/snowflake.md); nothing else failed.
    failure = traffic.first_failure()
    assert failure is not None
    assert failure.sql == puts[0].sql
    assert "does not start with @" in failure.message
    assert run.returncode != 0
    assert not traffic.matching("merge into", "copy into"), (
        "nothing can be loaded from a stage that never held the file"
    )


FAKESNOW_LOAD = PROJECT_ROOT / "tests/snowflake_sql/fakesnow_load.py"


def test_loader_merges_and_retires_exactly_the_deleted_rows_from_the_taps_real_output(meltano, emulator, tmp_path):
    """Where the stand-in stops (PUT), the in-process run goes on: the same loader, fed what the tap sends.

    Two prod extractions of ZenGRC ``people`` (hashing included, ACTIVATE_VERSION where the tap puts
    it), a deletion at the source in between, through target-snowflake's MERGE and ACTIVATE_VERSION
    handling on fakesnow (fakesnow_load.py swaps only the stage operations fakesnow lacks).
    """
    if reason := standin_missing():
        pytest.skip(reason)
    server = emulator("zengrc", seed=7, volume=9, only="people")
    env = {
        **SNOWFLAKE_ENV,
        "TAP_ZENGRC_API_URL": f"{server.url}/api/v2",
        "ZENGRC_TENANT": "acme",
        "ZENGRC_USERNAME": "emulator-key-id",
        "ZENGRC_PASSWORD": "emulator-key-secret",
        "TAP_ZENGRC__SELECT": '["people.*"]',
        "PII_HASH_KEY": HASH_KEY,
    }

    def extraction() -> list[dict[str, Any]]:
        out = meltano.run("--environment=prod", "invoke", "tap-zengrc", env=env).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    first = extraction()
    deleted = server.emulator.advance(updates=1, creates=1, deletes=2).of("people").deleted
    second = extraction()
    live = {r["id"] for r in server.emulator.truth("people")["people"]}
    dump = meltano.run(
        "--environment=prod", "el", "--dump=loader-config", "--no-install", "tap-zengrc", "target-snowflake", env=env
    )
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps({"config": json.loads(dump.stdout), "table": "RAW.TAP_ZENGRC.PEOPLE", "runs": [first, second]})
    )

    done = subprocess.run(
        [str(FAKESNOW_PYTHON), str(FAKESNOW_LOAD), str(spec)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    landed = json.loads(done.stdout.splitlines()[-1])  # the target prints its STATE lines first

    after_first, after_second = ({row["id"]: row for row in run["rows"]} for run in landed["runs"])
    assert set(after_first) == {m["record"]["id"] for m in first if m["type"] == "RECORD"}
    assert all(row["_sdc_deleted_at"] is None for row in after_first.values())
    assert len(landed["runs"][1]["rows"]) == len(after_second), "MERGE: no duplicate keys"
    assert {i for i, row in after_second.items() if row["_sdc_deleted_at"] is None} == live
    assert {i for i, row in after_second.items() if row["_sdc_deleted_at"] is not None} == set(deleted)
    assert all(HEX64.fullmatch(row["email"]) for row in after_second.values() if row["email"])
    assert any(s.startswith('merge into "RAW"."TAP_ZENGRC"."PEOPLE" d using') for s in landed["statements"])
