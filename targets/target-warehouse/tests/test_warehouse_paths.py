"""The two ways a RECORD reaches DuckDB land the same rows, and BATCH files written by the SDK itself load.

Records of a stream whose sink takes raw records (no stream maps, no validation, no DECIMAL column)
go to DuckDB as the tap wrote them; every other record takes the SDK's per-record path (parsed,
metadata added, numbers checked in Python, re-encoded). Any stream map in the target's config
forces the SDK path; one that names no stream of the input changes nothing that should land, so
the same messages loaded both ways must give the same table.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from warehouse_support import SCHEMA_NAME, Warehouse, activate_version, lines, record, schema

PROPERTIES = {
    "id": {"type": "integer"},
    "name": {"type": ["string", "null"]},
    "count": {"type": ["integer", "null"]},
    "ratio": {"type": ["number", "null"]},
    "active": {"type": ["boolean", "null"]},
    "updated_at": {"type": ["string", "null"], "format": "date-time"},
    "due": {"type": ["string", "null"], "format": "date"},
    "at": {"type": ["string", "null"], "format": "time"},
    "owner": {"type": ["object", "null"]},
    "tags": {"type": ["array", "null"]},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}
#: Columns that hold the load's own clock, different in every run by design.
CLOCK_COLUMNS = ("_sdc_received_at", "_sdc_batched_at", "_sdc_sequence", "_sdc_sync_started_at")


def messages() -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = [
        {"id": 1, "name": "a", "count": 3, "ratio": 0.1, "active": True, "updated_at": "2024-05-01T10:00:00Z"},
        {"id": 2, "count": 2.0, "ratio": 1e-7, "updated_at": "2024-05-01T12:00:00+02:00", "due": "2024-06-30"},
        {"id": 3, "at": "23:59:58", "owner": {"id": 7, "score": 1.50, "tags": ["x"]}, "tags": [1, "two", None]},
        {"id": 4, "name": None, "updated_at": "2024-05-01T10:00:00", "_sdc_deleted_at": "2024-05-02T00:00:00Z"},
        {"id": 2, "name": "second copy of 2 wins", "count": -(2**63), "ratio": -1.5e300},
        {"id": 5, "count": 2**63 - 1, "name": "unicode ✓ \u00e9", "extra": "not in the schema"},
    ]
    return [schema("items", PROPERTIES, ["id"]), *(record("items", v, version=1700000000000) for v in values)]


def landed(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    columns = [c for c in warehouse.column_types("items") if c not in CLOCK_COLUMNS]
    listed = ", ".join(f'"{c}"' for c in columns)
    return warehouse.query(f'SELECT {listed} FROM "{SCHEMA_NAME}".items ORDER BY id')


@pytest.mark.parametrize("batch_size_rows", [2, 100])
def test_raw_records_land_exactly_what_the_sdk_path_lands(tmp_path: Path, batch_size_rows: int) -> None:
    raw, sdk = Warehouse(tmp_path / "raw.duckdb"), Warehouse(tmp_path / "sdk.duckdb")
    raw.load(messages(), batch_size_rows=batch_size_rows)
    sdk.load(messages(), batch_size_rows=batch_size_rows, stream_maps={"not_in_the_input": None})

    assert landed(raw) == landed(sdk)
    assert [row[:2] for row in landed(raw)] == [
        (1, "a"),
        (2, "second copy of 2 wins"),
        (3, None),
        (4, None),
        (5, "unicode ✓ \u00e9"),
    ]


def test_raw_records_fill_the_message_metadata(warehouse: Warehouse) -> None:
    warehouse.load(messages())
    rows = warehouse.query(
        f"SELECT DISTINCT _sdc_table_version, _sdc_extracted_at = TIMESTAMPTZ '2024-06-01 12:00:00+00', "
        "_sdc_received_at IS NOT NULL, _sdc_batched_at IS NOT NULL, _sdc_sync_started_at > 0 "
        f'FROM "{SCHEMA_NAME}".items'
    )
    assert rows == [(1700000000000, True, True, True, True)]


def test_raw_keyless_stream_keeps_only_its_activated_version(warehouse: Warehouse) -> None:
    keyless = [schema("events", {"n": {"type": "integer"}})]
    first = [*keyless, *(record("events", {"n": n}, version=1) for n in range(3)), activate_version("events", 1)]
    warehouse.load(first)
    warehouse.load(
        [*keyless, *(record("events", {"n": n}, version=2) for n in range(5)), activate_version("events", 2)]
    )
    # A later run cut off before its ACTIVATE_VERSION leaves the last complete copy alone.
    warehouse.load([*keyless, *(record("events", {"n": n}, version=3) for n in range(9))])
    assert warehouse.query(f'SELECT count(*), min(_sdc_table_version) FROM "{SCHEMA_NAME}".events') == [(5, 2)]


# -- BATCH messages as the SDK writes them ---------------------------------------------------------


class _Items(Stream):
    name = "items"
    primary_keys: ClassVar[list[str]] = ["id"]
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("name", th.StringType),
        th.Property("updated_at", th.DateTimeType),
    ).to_dict()

    def get_records(self, context: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
        _ = context
        for i in range(25):
            yield {"id": i, "name": f"b{i}", "updated_at": f"2024-01-01T00:00:{i:02d}Z"}


class _BatchTap(Tap):
    """The smallest SDK tap with BATCH messages: the files are the SDK's own jsonl encoder's."""

    name = "tap-batch-test"
    config_jsonschema = th.PropertiesList().to_dict()

    def discover_streams(self) -> list[Stream]:
        return [_Items(self)]


def sdk_batch_messages(folder: Path, compression: str) -> str:
    config = {
        "batch_config": {
            "encoding": {"format": "jsonl", "compression": compression},
            "storage": {"root": folder.as_uri(), "prefix": "items-"},
            "batch_size": 10,
        }
    }
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _BatchTap(config=config).sync_all()
    return out.getvalue()


# "none": singer-sdk 0.54's writer gzips the files anyway while the BATCH message says "none".
@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_sdk_batch_files_are_loaded(warehouse: Warehouse, tmp_path: Path, compression: str) -> None:
    output = sdk_batch_messages(tmp_path, compression)
    assert output.count('"type":"BATCH"') + output.count('"type": "BATCH"') == 3
    assert len(list(tmp_path.glob("items-*"))) == 3

    earlier = lines([record("items", {"id": 100}), record("items", {"id": 3, "name": "older"})])
    schema_line, rest = output.split("\n", 1)
    warehouse.load([schema_line, earlier.rstrip("\n"), rest.rstrip("\n")])

    rows = warehouse.query(f'SELECT id, name, epoch(updated_at) FROM "{SCHEMA_NAME}".items ORDER BY id')
    assert rows == [*((i, f"b{i}", 1704067200 + i) for i in range(25)), (100, None, None)]


def test_batch_file_loaded_by_duckdb_lands_what_the_sdk_path_lands(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output = sdk_batch_messages(tmp_path / "files", "gzip")
    duck, sdk = Warehouse(tmp_path / "duck.duckdb"), Warehouse(tmp_path / "sdk.duckdb")
    with caplog.at_level("INFO"):
        duck.load([output.rstrip("\n")])
    assert caplog.text.count("rows of batch file") == 3  # each file parsed by DuckDB, none record by record
    sdk.load([output.rstrip("\n")], stream_maps={"not_in_the_input": None})
    assert landed(duck) == landed(sdk)
    assert len(landed(duck)) == 25


def test_batch_file_with_a_repeated_key_keeps_the_later_record(warehouse: Warehouse, tmp_path: Path) -> None:
    batch_file = tmp_path / "items-1.json.gz"
    with gzip.open(batch_file, "wt") as out:
        out.writelines(json.dumps(r) + "\n" for r in [{"id": 1, "name": "first"}, {"id": 1, "name": "later"}])
    batch = {
        "type": "BATCH",
        "stream": "items",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": [batch_file.as_uri()],
    }
    warehouse.load([schema("items", {"id": {"type": "integer"}, "name": {"type": "string"}}, ["id"]), batch])
    assert warehouse.query(f'SELECT id, name FROM "{SCHEMA_NAME}".items') == [(1, "later")]
