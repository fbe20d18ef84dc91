"""The fast record path emits exactly what the SDK's own path emits (the contract every tap's test repeats)."""

from __future__ import annotations

import json
import subprocess

from landing_tap_kit.records import RECORD_PATH_VARIABLE
from landing_tap_kit.stub_servers import Page, StubServer
from landing_tap_kit.testing import catalog_selecting, compare_record_paths, normalise

from tests.conftest import KIT, SAMPLE_TAP, clean_environment
from tests.sample_tap import TapSample

RECORDS = [
    {
        "id": 1,
        "name": "one",
        "size": 1.5,
        "active": True,
        "updated_at": "2024-01-01T00:00:00+02:00",
        "owner": {"id": 7, "email": "a@b.c"},
    },
    {"id": 2, "name": "two", "size": "2", "active": "false", "legacy": "kept", "owner": None},
    {"id": 3, "name": None, "updated_at": "2024-01-02T00:00:00Z"},
]
PAGES = {
    "/things": Page(json.dumps({"data": RECORDS[:2], "next": "/things?page=2"}).encode()),
    "/things?page=2": Page(json.dumps({"data": RECORDS[2:], "next": None}).encode()),
}


def _discovered_catalog(config_path) -> dict:
    result = subprocess.run(
        [*SAMPLE_TAP, "--config", str(config_path), "--discover"],
        capture_output=True,
        text=True,
        check=True,
        cwd=KIT,
        env=clean_environment(),
    )
    return json.loads(result.stdout)


def test_full_and_partial_selection_emit_the_same_messages_on_both_paths(tmp_path):
    with StubServer(PAGES) as server:
        config = {"api_url": server.url}
        (tmp_path / "c.json").write_text(json.dumps(config))
        discovered = _discovered_catalog(tmp_path / "c.json")
        full = compare_record_paths(
            SAMPLE_TAP, tmp_path / "full", config, catalog_selecting(discovered, ["things"]), clean_environment()
        )
        partial = compare_record_paths(
            SAMPLE_TAP,
            tmp_path / "partial",
            config,
            catalog_selecting(discovered, ["things"], deselect={"things": ["owner", "size"]}),
            clean_environment(),
        )
    assert full.fast == full.sdk
    assert [r["id"] for r in full.records("things")] == [1, 2, 3]
    assert full.records("things")[1]["extra_fields"] == {"legacy": "kept"}
    assert partial.fast == partial.sdk
    assert [r["id"] for r in partial.records("things")] == [1, 2, 3]
    assert all("owner" not in r and "size" not in r for r in partial.records("things"))
    assert "owner" in full.records("things")[0]


def test_only_a_full_selection_without_conformance_takes_the_fast_path(tmp_path, monkeypatch):
    """Guards the comparison above: it must compare the shortcut, not the SDK path with itself."""
    config = {"api_url": "http://127.0.0.1:9"}
    discovered = TapSample(config=config).catalog_dict
    full = TapSample(config=config, catalog=catalog_selecting(discovered, ["things"]))
    partial = TapSample(
        config=config, catalog=catalog_selecting(discovered, ["things"], deselect={"things": ["owner"]})
    )
    assert full.streams["things"].takes_fast_record_path
    assert not partial.streams["things"].takes_fast_record_path
    monkeypatch.setenv(RECORD_PATH_VARIABLE, "sdk")
    assert (
        not TapSample(config=config, catalog=catalog_selecting(discovered, ["things"]))
        .streams["things"]
        .takes_fast_record_path
    )


def test_clock_readings_in_state_can_be_named_so_two_runs_compare_equal():
    first = [{"type": "STATE", "value": {"bookmarks": {"s": {"read_at": "2026-01-01T00:00:00+00:00", "id": 3}}}}]
    second = [{"type": "STATE", "value": {"bookmarks": {"s": {"read_at": "2026-01-01T00:00:07+00:00", "id": 3}}}}]
    assert normalise(first) != normalise(second)
    assert normalise(first, clock_keys=["read_at"]) == normalise(second, clock_keys=["read_at"])
    moved = [{"type": "STATE", "value": {"bookmarks": {"s": {"read_at": "2026-01-01T00:00:07+00:00", "id": 4}}}}]
    assert normalise(first, clock_keys=["read_at"]) != normalise(moved, clock_keys=["read_at"])
