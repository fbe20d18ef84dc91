"""The kit's fast record path emits exactly what the SDK's own path emits (issue 14 §1).

``landing_tap_kit.records.FastRecordStream`` skips the SDK's deselection walk and type conformance when
both are no-ops; these tests run the real command twice against the same emulator account, once as
shipped and once with the SDK's own path forced (``LANDING_TAP_KIT_RECORD_PATH=sdk``), and compare every
message. The partial selection proves the shortcut steps aside when properties are deselected.
"""

from __future__ import annotations

import json

from landing_tap_kit.testing import catalog_selecting, compare_record_paths
from landing_tap_zendesk.tap import TapZendesk
from zendesk_support import TAP, discovered, tap_config

#: Properties left out in the partial selection: a nested object, a list, a plain field, custom fields.
DESELECTED = {"tickets": ["via", "tags", "description"], "users": ["user_fields", "phone"]}


def _without_signposts(messages: list[dict]) -> list[dict]:
    """Messages with the bookmark of satisfaction_ratings blanked: it is a clock reading by design.

    That list is not sorted, so the SDK caps its bookmark at the run's start time (its replication-key
    signpost): two runs a second apart differ there whichever record path they take.
    """
    result = json.loads(json.dumps(messages))
    for message in result:
        bookmark = message.get("value", {}).get("bookmarks", {}).get("satisfaction_ratings")
        if message["type"] == "STATE" and bookmark and "replication_key_value" in bookmark:
            bookmark["replication_key_value"] = "<run start>"
    return result


def _catalog() -> dict:
    return json.loads(discovered())


def _selected_streams(tap: TapZendesk) -> dict[str, bool]:
    """For each selected stream: whether it takes the fast path."""
    return {name: stream.takes_fast_record_path for name, stream in tap.streams.items() if stream.selected}


def test_full_selection_takes_the_fast_path_and_emits_what_the_sdk_emits(emulator, tmp_path):
    server = emulator("zendesk", seed=21, volume=25)
    server.emulator.advance(updates=3, creates=2, deletes=2)  # tombstones and updated rows too
    catalog = _catalog()
    everything = [entry["tap_stream_id"] for entry in catalog["streams"]]
    config = tap_config(server.url)
    paths = _selected_streams(TapZendesk(config=config, catalog=catalog_selecting(catalog, everything)))
    assert paths == dict.fromkeys(everything, True)

    comparison = compare_record_paths([TAP], tmp_path, config, catalog_selecting(catalog, everything))

    assert _without_signposts(comparison.fast) == _without_signposts(comparison.sdk)
    assert {m["stream"] for m in comparison.fast if m["type"] == "RECORD"} == set(everything)
    assert {m["type"] for m in comparison.fast} >= {"SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION"}


def test_partial_selection_takes_the_sdks_path_where_properties_are_deselected(emulator, tmp_path):
    server = emulator("zendesk", seed=22, volume=25)
    catalog = catalog_selecting(_catalog(), ["tickets", "users", "groups"], deselect=DESELECTED)
    config = tap_config(server.url)
    assert _selected_streams(TapZendesk(config=config, catalog=catalog)) == {
        "tickets": False,
        "users": False,
        "groups": True,
    }

    comparison = compare_record_paths([TAP], tmp_path, config, catalog)

    assert comparison.fast == comparison.sdk
    for stream, left_out in DESELECTED.items():
        records = comparison.records(stream)
        assert records, stream
        assert not [record for record in records if set(left_out) & record.keys()], stream
    assert comparison.records("groups")
