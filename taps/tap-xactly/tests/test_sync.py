"""Discovery and extraction against a real H2 database through H2's JDBC driver."""

from __future__ import annotations

from collections import Counter

from landing_tap_xactly.tap import TapXactly

from emulators.xactly.data import XactlyData
from tests.conftest import TABLES, key_of, normalise, sync


def test_discovery_comes_from_source_metadata_with_custom_columns(emu):
    streams = TapXactly(config=emu.tap_config()).streams
    participant = streams["xc_participant"]
    properties = participant.schema["properties"]
    assert properties["ARR__NET__AMOUNT"]["type"] == ["number", "null"]
    assert properties["ARR__NET__AMOUNT__UNIT_TYPE_ID"]["type"] == ["integer", "null"]
    assert properties["MODIFIED_DATE"]["format"] == "date-time"
    assert properties["IS_ACTIVE"]["type"] == ["string", "null"], "0/1 flags stay the strings the source stores"
    assert participant.primary_keys == ["PARTICIPANT_ID"]
    assert participant.replication_key == "MODIFIED_DATE"
    assert streams["xc_attainment_measure"].schema["properties"]["ATTAINMENT_MEASURE_ID"]["type"] == ["string"]
    assert streams["xc_position_hist"].primary_keys == ["OBJECT_ID"]
    summary = streams["xc_credit_summary"]
    assert summary.primary_keys == []
    assert summary.replication_key is None
    assert set(streams) == set(TABLES)


def test_full_sync_lands_every_row_exactly_once(emu):
    result = sync(emu.tap_config(page_size=7))
    for name, table in emu.tables.items():
        truth = [normalise(r) for r in emu.truth(name)[name]]
        got = result.records.get(name, [])
        keys = Counter(key_of(table.key, r) for r in got)
        assert all(count == 1 for count in keys.values()) or not table.key, f"{name}: duplicates"
        assert sorted(map(repr, map(sorted, (r.items() for r in got)))) == sorted(
            map(repr, map(sorted, (r.items() for r in truth)))
        ), name


def test_ties_on_modified_date_cross_page_boundaries_in_this_data(emu):
    """The data must exercise the tie case, else the paging tests below prove nothing."""
    rows = emu.truth("xc_credit")["xc_credit"]
    biggest_tie = Counter(r["MODIFIED_DATE"] for r in rows).most_common(1)[0][1]
    assert biggest_tie > 2 * 7


def test_state_after_every_page_carries_the_last_key(emu):
    config = emu.tap_config(page_size=7, tables_include=["xc_credit"])
    result = sync(config)
    rows = len(result.records["xc_credit"])
    mid_run = [
        s["bookmarks"]["xc_credit"] for s in result.states if "keyset_key" in s["bookmarks"].get("xc_credit", {})
    ]
    assert len(mid_run) == rows // 7
    assert "keyset_key" not in result.final_state["bookmarks"]["xc_credit"]


def test_a_run_resumed_from_a_mid_table_state_continues_exactly_there(emu):
    config = emu.tap_config(page_size=7, tables_include=["xc_credit"])
    first = sync(config)
    emitted_before = first.records["xc_credit"][: 3 * 7]
    crash_state = next(
        s for s in first.states if s["bookmarks"]["xc_credit"].get("keyset_key") == [emitted_before[-1]["CREDIT_ID"]]
    )
    resumed = sync(config, state=crash_state)
    before = [r["CREDIT_ID"] for r in emitted_before]
    after = [r["CREDIT_ID"] for r in resumed.records["xc_credit"]]
    assert not set(before) & set(after), "resumed run re-emitted rows"
    assert sorted(before + after) == sorted(r["CREDIT_ID"] for r in emu.truth("xc_credit")["xc_credit"])


def test_incremental_run_after_advance_gets_every_change(xactly_db):
    emu = xactly_db(seed=3, volume=50, tables=["xc_credit", "xc_quota", "xc_quota_hist", "xc_quota_summary"])
    config = emu.tap_config(page_size=6)
    first = sync(config)
    changes = emu.advance(updates=9, creates=4)
    second = sync(config, state=first.final_state)
    for name, table in emu.tables.items():
        landed = {key_of(table.key, r): r for r in first.records.get(name, [])}
        if table.key:
            landed.update({key_of(table.key, r): r for r in second.records.get(name, [])})
        else:
            landed = {key_of(table.key, r): r for r in second.records.get(name, [])}
        truth = {key_of(table.key, n): n for n in map(normalise, emu.truth(name)[name])}
        assert landed == truth, name
        if table.key:
            changed = set(changes[name].updated + changes[name].created)
            got = {r[table.key[0]] for r in second.records.get(name, [])}
            assert changed <= got, f"{name}: changed rows missing from the incremental run"


def test_start_date_skips_older_rows(emu):
    config = emu.tap_config(tables_include=["xc_credit"], start_date="2024-10-01T00:00:00Z")
    got = sync(config).records.get("xc_credit", [])
    truth = [r for r in emu.truth("xc_credit")["xc_credit"] if r["MODIFIED_DATE"].isoformat() >= "2024-10-01"]
    assert sorted(r["CREDIT_ID"] for r in got) == sorted(r["CREDIT_ID"] for r in truth)


def test_emulator_data_is_deterministic():
    assert XactlyData(seed=5, volume=20).truth() == XactlyData(seed=5, volume=20).truth()
