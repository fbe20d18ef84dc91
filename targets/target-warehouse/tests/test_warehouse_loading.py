"""What lands in the warehouse: every row exactly once, upserts by key, appends without one."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from warehouse_support import SCHEMA_NAME, Warehouse, record, schema, state

ITEMS = {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}


def test_no_row_is_lost_or_duplicated_at_batch_boundaries(warehouse: Warehouse) -> None:
    # The PyPI target-duckdb dropped the first row of every batch with DuckDB >= 1.3; 1,001 records in
    # batches of 10 cross 100 boundaries, and the last batch holds a single record.
    ids = range(1001)
    warehouse.load(
        [schema("items", ITEMS, ["id"]), *(record("items", {"id": i, "name": f"n{i}"}) for i in ids)],
        batch_size_rows=10,
    )
    rows = warehouse.query(f'SELECT id FROM "{SCHEMA_NAME}".items ORDER BY id')
    assert [r[0] for r in rows] == list(ids)


def test_keyless_stream_loses_no_row_at_batch_boundaries(warehouse: Warehouse) -> None:
    ids = range(1001)
    warehouse.load([schema("events", ITEMS), *(record("events", {"id": i}) for i in ids)], batch_size_rows=10)
    rows = warehouse.query(f'SELECT id FROM "{SCHEMA_NAME}".events ORDER BY id')
    assert [r[0] for r in rows] == list(ids)


def test_upsert_later_record_wins_across_batches_and_runs(warehouse: Warehouse) -> None:
    warehouse.load(
        [
            schema("items", ITEMS, ["id"]),
            *(record("items", {"id": i, "name": "v1"}) for i in range(6)),
            record("items", {"id": 1, "name": "v2"}),
            record("items", {"id": 4, "name": "v2"}),
        ],
        batch_size_rows=3,
    )
    warehouse.load([schema("items", ITEMS, ["id"]), record("items", {"id": 4, "name": "v3"})])
    rows = warehouse.query(f'SELECT id, name FROM "{SCHEMA_NAME}".items ORDER BY id')
    assert rows == [(0, "v1"), (1, "v2"), (2, "v1"), (3, "v1"), (4, "v3"), (5, "v1")]


def test_upsert_within_one_batch_keeps_the_last_occurrence(warehouse: Warehouse) -> None:
    warehouse.load(
        [
            schema("items", ITEMS, ["id"]),
            record("items", {"id": 7, "name": "first"}),
            record("items", {"id": 8, "name": "only"}),
            record("items", {"id": 7, "name": "second"}),
            record("items", {"id": 7, "name": "last"}),
        ]
    )
    rows = warehouse.query(f'SELECT id, name FROM "{SCHEMA_NAME}".items ORDER BY id')
    assert rows == [(7, "last"), (8, "only")]


def test_composite_key_upserts_on_all_key_columns(warehouse: Warehouse) -> None:
    props = {"org": {"type": "string"}, "id": {"type": "integer"}, "v": {"type": "integer"}}
    warehouse.load(
        [
            schema("links", props, ["org", "id"]),
            record("links", {"org": "a", "id": 1, "v": 1}),
            record("links", {"org": "b", "id": 1, "v": 1}),
            record("links", {"org": "a", "id": 1, "v": 2}),
        ]
    )
    rows = warehouse.query(f'SELECT org, id, v FROM "{SCHEMA_NAME}".links ORDER BY org')
    assert rows == [("a", 1, 2), ("b", 1, 1)]


def test_stream_without_key_appends_every_run(warehouse: Warehouse) -> None:
    messages = [schema("events", ITEMS), *(record("events", {"id": i}) for i in range(3))]
    warehouse.load(messages)
    warehouse.load(messages)
    assert warehouse.query(f'SELECT count(*), count(DISTINCT id) FROM "{SCHEMA_NAME}".events') == [(6, 3)]


def test_table_name_is_a_safe_identifier_and_schema_case_is_kept(warehouse: Warehouse) -> None:
    warehouse.load([schema("public-users.v2", ITEMS, ["id"]), record("public-users.v2", {"id": 1})])
    assert warehouse.query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ?", [SCHEMA_NAME]
    ) == [(SCHEMA_NAME, "public_users_v2")]


def test_schema_named_like_the_database_file_works(tmp_path: Path) -> None:
    same_name = Warehouse(tmp_path / f"{SCHEMA_NAME.lower()}.duckdb")
    same_name.load([schema("items", ITEMS, ["id"]), record("items", {"id": 1})])
    assert same_name.query(f'SELECT count(*) FROM {SCHEMA_NAME.lower()}."{SCHEMA_NAME}".items') == [(1,)]


def test_database_file_and_parent_folders_are_created(warehouse: Warehouse) -> None:
    assert not warehouse.path.parent.exists()
    warehouse.load([schema("items", ITEMS, ["id"]), record("items", {"id": 1})])
    assert warehouse.path.is_file()


def test_state_is_emitted_after_the_records_are_loaded(
    warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse.load([schema("items", ITEMS, ["id"]), record("items", {"id": 1}), state({"bookmarks": {"items": 1}})])
    assert capsys.readouterr().out.strip().splitlines()[-1] == '{"bookmarks": {"items": 1}}'


@pytest.mark.parametrize("method", ["append-only", "overwrite"])
def test_load_methods_no_job_uses_are_refused_in_one_line(warehouse: Warehouse, method: str) -> None:
    done = warehouse.run_cli([schema("items", ITEMS, ["id"]), record("items", {"id": 1})], load_method=method)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "load_method" in errors[0]
    assert method in errors[0]
    assert not warehouse.path.exists()


def test_batch_message_files_are_loaded(warehouse: Warehouse, tmp_path: Path) -> None:
    batch_file = tmp_path / "items-1.jsonl.gz"
    with gzip.open(batch_file, "wt") as out:
        out.writelines(json.dumps({"id": i, "name": f"b{i}"}) + "\n" for i in range(25))
    batch = {
        "type": "BATCH",
        "stream": "items",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": [batch_file.as_uri()],
    }
    earlier = [record("items", {"id": 100}), record("items", {"id": 3, "name": "older"})]
    warehouse.load([schema("items", ITEMS, ["id"]), *earlier, batch])
    rows = warehouse.query(f'SELECT id, name FROM "{SCHEMA_NAME}".items ORDER BY id')
    assert rows == [*((i, f"b{i}") for i in range(25)), (100, None)]
