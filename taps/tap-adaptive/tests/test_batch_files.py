"""exportData's BATCH path lands exactly what the SDK's RECORD path lands, and only export_data uses it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
import pytest
from landing_tap_adaptive.cell_files import CellLineEncoder, Period, WideRow, cell_records
from landing_tap_adaptive.tap import TapAdaptive

from tests.conftest import Run, run_tap, tap_config

SELECT = {"export_versions", "export_data"}
KEY = ("version_id", "account_code", "level_code", "dimension_key", "period")


def _batch_config(root: Path, compression: str = "none", batch_size: int = 1000) -> dict[str, object]:
    return {
        "encoding": {"format": "jsonl", "compression": compression},
        "storage": {"root": root.as_uri(), "prefix": "cells-"},
        "batch_size": batch_size,
    }


def _batched(run: Run, stream: str) -> list[dict[str, object]]:
    """The records the BATCH messages of one stream point at, in file order."""
    records = []
    for message in run.messages:
        if message["type"] == "BATCH" and message["stream"] == stream:
            for url in message["manifest"]:
                path = Path(urlsplit(url).path)
                opener = gzip.open if message["encoding"]["compression"] == "gzip" else open
                with opener(path, "rt", encoding="utf-8") as handle:
                    records.extend(json.loads(line) for line in handle)
    return records


def _by_key(records: list[dict[str, object]]) -> dict[tuple[object, ...], dict[str, object]]:
    keyed = {tuple(r[k] for k in KEY): r for r in records}
    assert len(keyed) == len(records), "every cell lands once"
    return keyed


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_batch_files_hold_exactly_the_records_of_the_sdk_path(adaptive, tmp_path, compression):
    via_records = run_tap(tap_config(adaptive), select=SELECT)
    config = tap_config(adaptive, batch_config=_batch_config(tmp_path, compression, batch_size=700))
    via_batches = run_tap(config, select=SELECT)
    batched = _batched(via_batches, "export_data")
    assert len(batched) > 700, "more than one file, so file boundaries are exercised"
    assert _by_key(batched) == _by_key(via_records.records["export_data"])
    assert "export_data" not in via_batches.records  # no RECORD messages for the batched stream
    # the landed schema is the same
    assert via_batches.schemas["export_data"]["schema"] == via_records.schemas["export_data"]["schema"]


@pytest.mark.parametrize(
    "dropped", [{"account_name", "dimensions", "value_status", "period_start"}, {"value", "extra_fields"}]
)
def test_partial_selection_drops_the_same_properties_on_both_paths(adaptive, tmp_path, dropped):
    catalog = TapAdaptive(config=tap_config(adaptive)).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if (
                stream["tap_stream_id"] == "export_data"
                and entry["breadcrumb"][-1:]
                and entry["breadcrumb"][-1] in dropped
            ):
                entry["metadata"]["selected"] = False
    via_records = run_tap(tap_config(adaptive), select=SELECT, catalog=catalog)
    config = tap_config(adaptive, batch_config=_batch_config(tmp_path))
    batched = _batched(run_tap(config, select=SELECT, catalog=catalog), "export_data")
    assert batched
    assert all(not dropped & r.keys() for r in batched)
    assert _by_key(batched) == _by_key(via_records.records["export_data"])


def test_a_version_is_marked_in_the_state_that_follows_its_last_batch(adaptive, tmp_path):
    run = run_tap(tap_config(adaptive, batch_config=_batch_config(tmp_path, batch_size=500)), select=SELECT)
    versions = adaptive.emulator.leaf_versions("Shared with Data")
    for version in versions:
        files = [
            i
            for i, m in enumerate(run.messages)
            if m["type"] == "BATCH" and version in Path(urlsplit(m["manifest"][0]).path).read_text()
        ]
        assert files
        marks_before_last = [
            m
            for m in run.messages[: files[-1]]
            if m["type"] == "STATE"
            for p in m["value"].get("bookmarks", {}).get("export_data", {}).get("partitions", [])
            if p.get("version_name") == version
        ]
        assert not marks_before_last, f"{version} marked before its last file was announced"
        after = next(m for m in run.messages[files[-1] :] if m["type"] == "STATE")
        partitions = after["value"]["bookmarks"]["export_data"]["partitions"]
        marked = [p for p in partitions if p.get("version_name") == version]
        assert marked
        assert marked[0]["exported_at"]
        assert marked[0]["row_count"] > 0


def test_only_export_data_is_batched_so_personal_fields_stay_in_records_mapper_pii_hashes(adaptive, tmp_path):
    run = run_tap(tap_config(adaptive, batch_config=_batch_config(tmp_path)), select=SELECT | {"export_users"})
    assert {m["stream"] for m in run.messages if m["type"] == "BATCH"} == {"export_data"}
    assert run.records["export_users"]
    assert run.records["export_versions"]


def test_stream_maps_send_cells_as_records_since_only_the_sdk_applies_them(adaptive, tmp_path):
    maps = {"export_data": {"value_doubled": "value * 2 if value is not None else None"}}
    config = tap_config(adaptive, batch_config=_batch_config(tmp_path), stream_maps=maps)
    run = run_tap(config, select=SELECT)
    assert not [m for m in run.messages if m["type"] == "BATCH"]
    cells = run.records["export_data"]
    assert cells
    assert all(r["value_doubled"] == (r["value"] * 2 if r["value"] is not None else None) for r in cells)


@pytest.mark.parametrize(
    "cells",
    [
        ["100", "-0", "1e5", "0.1", "12345678901234567890", "B", "", "I"],  # JSON numbers, marks
        ["nan", "inf", "1_000", "+5", ".5", "5.", " 7 "],  # float() reads them, JSON does not
        ["1,2", "3"],  # a quoted cell with a comma must not become two values
        ["null", "1"],  # not a number: fails on both paths
    ],
)
def test_each_cell_line_is_the_json_the_record_path_writes(cells):
    periods = [Period(i, f"{i + 1:02d}/2024", f"2024-{i + 1:02d}-01") for i in range(len(cells))]
    row = WideRow({"version_id": 1, "account_code": "RPO", "dimensions": [], "extra_fields": None}, cells)
    encoder = CellLineEncoder(periods, lambda column: True)
    try:
        expected = [json.loads(msgspec.json.encode(record)) for record in cell_records(row, periods)]
    except ValueError:
        with pytest.raises(ValueError, match="could not convert"):
            encoder.row_lines(row)
        return
    lines = encoder.row_lines(row).decode().splitlines()
    assert [json.loads(line) for line in lines] == expected
