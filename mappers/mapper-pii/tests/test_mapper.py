"""mapper-pii as Meltano runs it: Singer messages in, the same messages out, personal fields hashed."""

from __future__ import annotations

from typing import Any

from mapper_pii.hashing import KeyedHasher

from tests.conftest import KEY

PEOPLE_SCHEMA = {
    "type": "SCHEMA",
    "stream": "people",
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"], "format": "email"},
            "role": {"type": ["string", "null"]},
        },
    },
    "key_properties": ["id"],
}
PEOPLE = [
    {"id": 1, "name": "Ana Lopez", "email": "Ana.Lopez@example.com", "role": "Editor"},
    {"id": 2, "name": "Sam Chen", "email": None, "role": "Reader"},
]
CONTROLS_SCHEMA = {
    "type": "SCHEMA",
    "stream": "controls",
    "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}},
    "key_properties": ["id"],
}
CONFIG = {"hash_key": KEY, "hash_fields": {"people": ["name", "email"]}}


def stream_messages() -> list[dict[str, Any]]:
    return [
        PEOPLE_SCHEMA,
        *(
            {
                "type": "RECORD",
                "stream": "people",
                "record": dict(r),
                "time_extracted": "2024-01-02T03:04:05+00:00",
            }
            for r in PEOPLE
        ),
        CONTROLS_SCHEMA,
        {"type": "RECORD", "stream": "controls", "record": {"id": 9, "title": "Ana Lopez reviews access"}},
        {"type": "ACTIVATE_VERSION", "stream": "people", "version": 17},
        {"type": "STATE", "value": {"bookmarks": {"people": {"replication_key_value": "2024-01-02"}}}},
    ]


def test_configured_fields_are_replaced_by_their_keyed_hash(run_mapper) -> None:
    run = run_mapper(CONFIG, stream_messages())
    hasher = KeyedHasher(KEY)

    assert run.returncode == 0, run.stderr
    assert run.records("people") == [
        {"id": p["id"], "name": hasher(p["name"]), "email": hasher(p["email"]), "role": p["role"]} for p in PEOPLE
    ]


def test_no_raw_personal_value_leaves_the_mapper(run_mapper) -> None:
    run = run_mapper(CONFIG, stream_messages()[:3])
    for person in PEOPLE:
        for field in ("name", "email"):
            if person[field]:
                assert person[field] not in run.stdout
                assert person[field].lower() not in run.stdout.lower()


def test_hashed_fields_are_declared_as_strings(run_mapper) -> None:
    schema = run_mapper(CONFIG, stream_messages()).schema("people")
    assert schema["properties"]["email"]["type"] == ["string", "null"]
    assert "format" not in schema["properties"]["email"]
    assert schema["properties"]["role"] == {"type": ["string", "null"]}


def test_everything_else_passes_through_unchanged(run_mapper) -> None:
    sent = stream_messages()
    received = run_mapper(CONFIG, sent).messages
    untouched = [m for m in sent if m.get("stream") != "people" or m["type"] == "ACTIVATE_VERSION"]
    untouched.append(sent[-1])
    for message in untouched:
        assert message in received
    assert [m["type"] for m in received] == [m["type"] for m in sent]
    assert [m.get("time_extracted") for m in received] == [m.get("time_extracted") for m in sent]


def test_hashes_are_stable_across_runs(run_mapper) -> None:
    assert run_mapper(CONFIG, stream_messages()).stdout == run_mapper(CONFIG, stream_messages()).stdout


def test_another_key_gives_other_hashes(run_mapper) -> None:
    first = run_mapper(CONFIG, stream_messages()).records("people")
    second = run_mapper({**CONFIG, "hash_key": KEY + "-rotated"}, stream_messages()).records("people")
    assert first[0]["email"] != second[0]["email"]
    assert [r["name"] for r in first] != [r["name"] for r in second]


def test_refuses_to_start_without_a_key_when_hashing_is_configured(run_mapper) -> None:
    run = run_mapper({"hash_fields": {"people": ["email"]}}, stream_messages())
    assert run.returncode == 1
    assert run.stdout == ""
    errors = [line for line in run.stderr.splitlines() if "mapper-pii:" in line]
    assert errors == [
        "mapper-pii: refusing to start: hash_key is not set (export PII_HASH_KEY) "
        "but hashing is configured for streams: people"
    ]
    assert "Traceback" not in run.stderr


def test_refuses_to_start_with_a_short_key(run_mapper) -> None:
    run = run_mapper({**CONFIG, "hash_key": "tooshort"}, stream_messages())
    assert run.returncode == 1
    assert run.stdout == ""
    assert "mapper-pii: hash_key is shorter than 16 characters" in run.stderr
    assert "tooshort" not in run.stderr


def test_refuses_to_start_with_a_malformed_path(run_mapper) -> None:
    run = run_mapper({**CONFIG, "hash_fields": {"people": ["e-mail"]}}, stream_messages())
    assert run.returncode == 1
    assert run.stdout == ""
    assert "invalid field path 'e-mail'" in run.stderr


def test_a_misspelt_field_stops_the_stream_before_its_records(run_mapper) -> None:
    run = run_mapper({**CONFIG, "hash_fields": {"people": ["emial"]}}, stream_messages())
    assert run.returncode == 1
    assert run.records("people") == []
    assert [line for line in run.stderr.splitlines() if "mapper-pii:" in line] == [
        "mapper-pii: stream 'people' has no field 'emial' for hash path 'emial'"
    ]
    assert "Traceback" not in run.stderr


def test_batch_messages_are_refused(run_mapper) -> None:
    batch = {
        "type": "BATCH",
        "stream": "people",
        "encoding": {"format": "jsonl"},
        "manifest": ["file:///x.jsonl"],
    }
    run = run_mapper(CONFIG, [PEOPLE_SCHEMA, batch])
    assert run.returncode == 1
    assert "mapper-pii: stream 'people' sent a BATCH message" in run.stderr
    assert "BATCH" not in run.stdout


def test_the_key_never_appears_in_the_logs(run_mapper) -> None:
    run = run_mapper(CONFIG, stream_messages())
    assert KEY not in run.stderr


def test_without_configured_fields_records_pass_through(run_mapper) -> None:
    sent = stream_messages()
    run = run_mapper({}, sent)
    assert run.returncode == 0
    assert run.messages == sent


def test_batch_messages_of_streams_without_personal_fields_pass_through(run_mapper) -> None:
    batch = {
        "type": "BATCH",
        "stream": "export_data",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": ["file:///x-1.json.gz"],
    }
    run = run_mapper(CONFIG, [PEOPLE_SCHEMA, batch])
    assert run.returncode == 0, run.stderr
    assert run.messages[-1] == batch
