"""`meltano run zengrc-to-warehouse` against the ZenGRC emulator, checked in the warehouse."""

from __future__ import annotations

from datetime import UTC

import pytest

from emulators.zengrc import utc

pytestmark = pytest.mark.e2e
JOB = "zengrc-to-warehouse"
SCHEMA = "TAP_ZENGRC"


def point_at(server) -> dict[str, str]:
    return {"TAP_ZENGRC_API_URL": f"{server.url}/api/v2", "TAP_ZENGRC_PAGE_SIZE": "40"}


def landed(meltano, table: str) -> dict[int, tuple]:
    rows = meltano.query(f'select id, updated_at, title, _sdc_deleted_at from "{SCHEMA}"."{table}"')
    return {row[0]: row[1:] for row in rows}


def test_a_run_lands_every_record_once_with_utc_timestamps_and_queryable_json(meltano, emulator):
    server = emulator("zengrc", seed=21, volume=90)
    meltano.run("run", JOB, env=point_at(server))
    for collection, records in server.emulator.truth().items():
        (count, distinct) = meltano.query(f'select count(*), count(distinct id) from "{SCHEMA}"."{collection}"')[0]
        assert count == distinct == len(records), collection
    rows = landed(meltano, "issues")
    for record in server.emulator.truth("issues")["issues"]:
        updated_at, title, deleted_at = rows[record["id"]]
        assert updated_at == utc(record["updated_at"])
        assert updated_at.utcoffset() == UTC.utcoffset(None)
        assert title == record["title"]
        assert deleted_at is None
    # custom_attributes lands as JSON: a tenant attribute is one path expression away.
    controls = {r["id"]: r for r in server.emulator.truth("controls")["controls"]}
    for control_id, level in meltano.query(
        f"""select id, custom_attributes->>'$."116".value' from "{SCHEMA}".controls"""
    ):
        expected = controls[control_id]["custom_attributes"].get("116", {}).get("value")
        assert level == expected


def test_a_second_run_after_changes_updates_adds_and_marks_deleted_without_duplicates(meltano, emulator):
    server = emulator("zengrc", seed=22, volume=60, only="issues,people")
    meltano.run("run", JOB, env=point_at(server))
    change = server.emulator.advance(updates=7, creates=5, deletes=4).of("issues")
    meltano.run("run", JOB, env=point_at(server))

    rows = landed(meltano, "issues")
    truth = {r["id"]: r for r in server.emulator.truth("issues")["issues"]}
    assert set(rows) == set(truth) | set(change.deleted)
    (count,) = meltano.query(f'select count(*) from "{SCHEMA}".issues')[0]
    assert count == len(rows), "no duplicates"
    for record_id in change.updated + change.created:
        assert rows[record_id][0] == utc(truth[record_id]["updated_at"])
        assert rows[record_id][1] == truth[record_id]["title"]
    for record_id, (_, _, deleted_at) in rows.items():
        assert (deleted_at is not None) == (record_id in change.deleted), record_id


def test_a_run_that_dies_mid_stream_then_reruns_loses_nothing_and_deletes_nothing(meltano, emulator):
    dies_on_page_3 = {"kind": "drop", "path": "/api/v2/issues$", "query": "page=3&", "times": None}
    server = emulator("zengrc", seed=23, volume=200, only="issues", faults=[dies_on_page_3])
    first = meltano.run("run", JOB, env={**point_at(server), "TAP_ZENGRC_MAX_RETRIES": "1"}, check=False)
    assert first.returncode != 0
    half = landed(meltano, "issues")
    assert 0 < len(half) < 200
    assert all(deleted_at is None for *_, deleted_at in half.values()), "a failed run must not mark rows deleted"

    server.emulator.faults.replace([])
    meltano.run("run", JOB, env=point_at(server))
    rows = landed(meltano, "issues")
    assert sorted(rows) == [r["id"] for r in server.emulator.truth("issues")["issues"]]
    (count,) = meltano.query(f'select count(*) from "{SCHEMA}".issues')[0]
    assert count == 200
    assert all(deleted_at is None for *_, deleted_at in rows.values())
