"""`meltano run adaptive-to-warehouse` against the Adaptive emulator, checked in the warehouse."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.e2e
JOB = "adaptive-to-warehouse"
SCHEMA = "TAP_ADAPTIVE"
FOLDER = "Shared with Data"


def point_at(server) -> dict[str, str]:
    # Credentials and the allow-list come from the dev environment in meltano.yml; only the port differs.
    return {"TAP_ADAPTIVE_API_URL": f"{server.url}/api/v38", "TAP_ADAPTIVE_RETRY_BASE_SECONDS": "0"}


def export_calls(server) -> list[ET.Element]:
    return [c for c in server.emulator.calls() if c.get("method") == "exportData"]


def expected_cells(server, call: ET.Element) -> dict[tuple, tuple]:
    periods, rows = server.emulator.export_rows(ET.tostring(call, encoding="unicode"))
    version = call.find("version").get("name")
    cells = {}
    for row in rows:
        for period, value in zip(periods, row.values, strict=True):
            status = "blank" if value is None else "invalid" if value == "I" else "value"
            key = (version, row.account.attrs["code"], row.level.attrs["code"], period)
            cells[key] = (value if status == "value" else None, status)
    return cells


def test_a_run_lands_metadata_and_shared_versions_data_matching_the_instance(meltano, emulator):
    server = emulator("adaptive", seed=31, volume=60)
    meltano.run("run", JOB, env=point_at(server))
    truth = server.emulator.truth()

    accounts = {
        r[0]: r[1:] for r in meltano.query(f'select id, parent_id, depth, code from "{SCHEMA}".export_accounts')
    }
    assert len(accounts) == len(truth["exportAccounts"])
    for node in truth["exportAccounts"]:
        parent = None if node["_parent_id"] is None else int(node["_parent_id"])
        assert accounts[int(node["id"])] == (parent, node["_depth"], node["code"])

    locked = dict(meltano.query(f'select name, is_locked from "{SCHEMA}".export_versions'))
    assert locked == {v["name"]: v["isLocked"] == "true" for v in truth["exportVersions"]}

    (empty,) = meltano.query(f'select count(*) from "{SCHEMA}".export_dimension_mapping')[0]
    assert empty == 0  # unsupported on this instance: the table exists, empty

    calls = export_calls(server)
    assert sorted(c.find("version").get("name") for c in calls) == sorted(server.emulator.leaf_versions(FOLDER))
    expected: dict[tuple, tuple] = {}
    for call in calls:
        expected.update(expected_cells(server, call))
    landed = {
        (version, account, level, period): (value, status)
        for version, account, level, period, value, status in meltano.query(
            f'select version_name, account_code, level_code, period, value, value_status from "{SCHEMA}".export_data'
        )
    }
    assert landed == expected


def test_a_second_run_skips_versions_already_exported_and_keeps_their_rows(meltano, emulator):
    server = emulator("adaptive", seed=32, volume=40)
    # Three streams are enough here (the first test runs all 23): keeps this test quick.
    env = {**point_at(server), "TAP_ADAPTIVE__SELECT": '["export_versions.*", "export_data.*", "export_groups.*"]'}
    meltano.run("run", JOB, env=env)
    (first,) = meltano.query(f'select count(*) from "{SCHEMA}".export_data')[0]
    assert first > 0
    server.emulator.requests.clear()

    meltano.run("run", JOB, env=env)
    assert export_calls(server) == []
    assert server.emulator.calls(), "the other exports still ran"
    (count, deleted) = meltano.query(f'select count(*), count(_sdc_deleted_at) from "{SCHEMA}".export_data')[0]
    assert (count, deleted) == (first, 0)


def test_user_identities_land_only_as_keyed_hashes(meltano, emulator):
    server = emulator("adaptive", seed=32, volume=20)
    meltano.run("run", JOB, env=point_at(server))
    users = {u["id"]: u for u in server.emulator.truth()["exportUsers"]}
    landed = meltano.query(f'select id, name, login, email, position from "{SCHEMA}".export_users')
    assert len(landed) == len(users)
    for user_id, name, login, email, position in landed:
        source = users[str(user_id)]
        assert position == source["position"]  # not personal: kept
        for hashed, raw in ((name, source["name"]), (login, source["login"]), (email, source["email"])):
            if not raw:
                assert not hashed  # nothing to hide, nothing invented
                continue
            assert len(hashed) == 64
            assert raw.lower() not in hashed.lower()
