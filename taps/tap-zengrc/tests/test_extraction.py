"""What a sync emits, checked against the emulator's ground truth."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from landing_tap_zengrc.tap import TapZenGRC

from emulators.zengrc import utc
from tests.support import tap_config


def test_every_record_of_every_collection_is_emitted_exactly_once(emulator, tap):
    server = emulator("zengrc", seed=3, volume=23)
    run = tap(tap_config(server.url, page_size=5))
    assert run.returncode == 0, run.log
    truth = server.emulator.truth()
    assert set(truth) == set(server.emulator.collections)
    for collection, records in truth.items():
        assert records, collection
        emitted = [r["id"] for r in run.records(collection)]
        assert sorted(emitted) == [r["id"] for r in records], collection


def test_pages_are_followed_through_links_next_href(emulator, tap):
    server = emulator("zengrc", seed=3, volume=23, only="issues")
    run = tap(tap_config(server.url, page_size=5))
    assert run.returncode == 0, run.log
    pages = [r for r in server.emulator.requests if r["path"] == "/api/v2/issues"]
    assert [r["query"] for r in pages] == [
        "page_size=5",
        *(f"page={n}&page_size=5" for n in range(2, 6)),
    ]
    assert len(run.records("issues")) == 23


def test_timestamps_are_emitted_in_utc_for_the_same_instant(emulator, tap):
    server = emulator("zengrc", seed=4, volume=30, only="controls")
    run = tap(tap_config(server.url))
    assert run.returncode == 0, run.log
    truth = {r["id"]: r for r in server.emulator.truth("controls")["controls"]}
    offsets_seen = {truth_record["updated_at"][-6:] for truth_record in truth.values()}
    assert len(offsets_seen) > 1, "the emulator should exercise several UTC offsets"
    assert sorted(r["id"] for r in run.records("controls")) == sorted(truth)
    for record in run.records("controls"):
        emitted = datetime.fromisoformat(record["updated_at"])
        assert emitted.utcoffset() == UTC.utcoffset(None)
        assert emitted == utc(truth[record["id"]]["updated_at"])


def test_nested_objects_and_custom_attributes_are_kept_whole(emulator, tap):
    server = emulator("zengrc", seed=5, volume=15, only="requests,people")
    run = tap(tap_config(server.url))
    assert run.returncode == 0, run.log
    truth = {r["id"]: r for r in server.emulator.truth("requests")["requests"]}
    assert sorted(r["id"] for r in run.records("requests")) == sorted(truth)
    for record in run.records("requests"):
        source = truth[record["id"]]
        for field in ("custom_attributes", "mapped", "assignees", "reviewers", "audit", "links", "tags"):
            assert record[field] == source[field], field


def test_start_date_skips_records_last_updated_before_it(emulator, tap):
    server = emulator("zengrc", seed=6, volume=40, only="issues")
    updated = sorted(utc(r["updated_at"]) for r in server.emulator.truth("issues")["issues"])
    cutoff = updated[len(updated) // 2]
    run = tap(tap_config(server.url, start_date=cutoff.isoformat()))
    assert run.returncode == 0, run.log
    assert 0 < len(run.records("issues")) < len(updated)
    assert {r["id"] for r in run.records("issues")} == {
        r["id"] for r in server.emulator.truth("issues")["issues"] if utc(r["updated_at"]) >= cutoff
    }


def test_activate_version_follows_the_last_record_of_each_stream(emulator, tap):
    """Deletions surface through ACTIVATE_VERSION, sent only after a stream completed (never before)."""
    server = emulator("zengrc", seed=7, volume=9, only="risks")
    run = tap(tap_config(server.url))
    assert run.returncode == 0, run.log
    assert len(run.records("risks")) == 9
    risk_messages = [m for m in run.messages if m.get("stream") == "risks" and m["type"] != "SCHEMA"]
    assert risk_messages[-1]["type"] == "ACTIVATE_VERSION"
    assert [m["type"] for m in risk_messages].count("ACTIVATE_VERSION") == 1
    version = risk_messages[-1]["version"]
    assert {m["version"] for m in risk_messages if m["type"] == "RECORD"} == {version}


def test_a_record_deleted_at_the_source_is_absent_from_the_next_version(emulator, tap):
    server = emulator("zengrc", seed=8, volume=12, only="vendors")
    change = server.emulator.advance(updates=2, creates=1, deletes=3).of("vendors")
    run = tap(tap_config(server.url))
    assert run.returncode == 0, run.log
    emitted = {r["id"] for r in run.records("vendors")}
    assert change.deleted
    assert change.created
    assert not emitted & set(change.deleted)
    assert set(change.created) <= emitted
    assert emitted == {r["id"] for r in server.emulator.truth("vendors")["vendors"]}


def test_gitlab_style_base_url_config_works_unchanged(emulator, tap):
    server = emulator("zengrc", seed=9, volume=4, only="audits")
    config = tap_config(server.url)
    config["base_url"] = config.pop("api_url")
    run = tap(config)
    assert run.returncode == 0, run.log
    assert len(run.records("audits")) == 4


def test_discovery_lists_every_collection_with_id_as_key(emulator, tap):
    server = emulator("zengrc", seed=1, volume=1)
    run = tap(tap_config(server.url), "--discover")
    assert run.returncode == 0, run.log
    catalog = json.loads(run.stdout)
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(streams) == set(server.emulator.collections)
    for stream in streams.values():
        assert stream["key_properties"] == ["id"]


def test_fields_the_schema_does_not_know_are_kept_in_extra_fields_with_one_warning(emulator, tap):
    server = emulator("zengrc", seed=10, volume=7, only="controls", extra_fields={"legacy_ref": "X-1", "owner_id": 5})
    run = tap(tap_config(server.url, page_size=3))
    assert run.returncode == 0, run.log
    records = run.records("controls")
    assert len(records) == 7
    assert all(r["extra_fields"] == {"legacy_ref": "X-1", "owner_id": 5} for r in records)
    assert all("legacy_ref" not in r for r in records)
    warning = "stream controls: fields not in the schema kept in extra_fields: legacy_ref, owner_id"
    assert run.log.count(warning) == 1


def test_every_stream_schema_declares_extra_fields_as_a_nullable_object():
    catalog = TapZenGRC(config=tap_config("http://unused"), validate_config=True).catalog_dict
    for stream in catalog["streams"]:
        extra = stream["schema"]["properties"]["extra_fields"]
        assert set(extra["type"]) == {"object", "null"}, stream["tap_stream_id"]
