"""Deletions: records that carry _sdc_deleted_at, and ACTIVATE_VERSION for full-table streams."""

from __future__ import annotations

from typing import Any

import pytest
from warehouse_support import SCHEMA_NAME, Warehouse, activate_version, record, schema

PROPS = {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}


def full_table_sync(version: int, ids: list[int]) -> list[dict[str, Any]]:
    """What an SDK tap sends for a full-table stream: ACTIVATE_VERSION first, then versioned records."""
    return [
        schema("accounts", PROPS, ["id"]),
        activate_version("accounts", version),
        *(record("accounts", {"id": i, "name": f"v{version}"}, version=version) for i in ids),
    ]


def rows(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    return warehouse.query(
        f'SELECT id, name, _sdc_table_version, _sdc_deleted_at IS NOT NULL FROM "{SCHEMA_NAME}".accounts ORDER BY id'
    )


def test_soft_delete_marks_rows_missing_from_the_new_version(warehouse: Warehouse) -> None:
    warehouse.load(full_table_sync(1, [1, 2, 3]))
    warehouse.load(full_table_sync(2, [1, 3]), batch_size_rows=1)
    assert rows(warehouse) == [(1, "v2", 2, False), (2, "v1", 1, True), (3, "v2", 2, False)]


def test_soft_deleted_row_that_comes_back_is_undeleted(warehouse: Warehouse) -> None:
    warehouse.load(full_table_sync(1, [1, 2]))
    warehouse.load(full_table_sync(2, [1]))
    warehouse.load(full_table_sync(3, [1, 2]))
    assert rows(warehouse) == [(1, "v3", 3, False), (2, "v3", 3, False)]


def test_soft_delete_keeps_the_first_deletion_time(warehouse: Warehouse) -> None:
    warehouse.load(full_table_sync(1, [1, 2]))
    warehouse.load(full_table_sync(2, [1]))
    first = warehouse.query(f'SELECT _sdc_deleted_at FROM "{SCHEMA_NAME}".accounts WHERE id = 2')
    warehouse.load(full_table_sync(3, [1]))
    assert warehouse.query(f'SELECT _sdc_deleted_at FROM "{SCHEMA_NAME}".accounts WHERE id = 2') == first


def test_hard_delete_removes_rows_missing_from_the_new_version(warehouse: Warehouse) -> None:
    warehouse.load(full_table_sync(1, [1, 2, 3]), hard_delete=True)
    warehouse.load(full_table_sync(2, [1, 3]), hard_delete=True)
    assert rows(warehouse) == [(1, "v2", 2, False), (3, "v2", 2, False)]


def test_first_version_of_a_new_table_deletes_nothing(warehouse: Warehouse) -> None:
    warehouse.load(full_table_sync(5, [1, 2]))
    assert rows(warehouse) == [(1, "v5", 5, False), (2, "v5", 5, False)]


def test_failed_run_leaves_the_previous_version_intact(warehouse: Warehouse) -> None:
    warehouse.load(full_table_sync(1, [1, 2, 3]))
    result = warehouse.run_cli([*full_table_sync(2, [1]), "{not json"])
    assert result.returncode == 1
    assert rows(warehouse) == [(1, "v1", 1, False), (2, "v1", 1, False), (3, "v1", 1, False)]


def test_record_carrying_sdc_deleted_at_keeps_it(warehouse: Warehouse) -> None:
    warehouse.load(
        [
            schema("tickets", PROPS, ["id"]),
            record("tickets", {"id": 1, "name": "gone", "_sdc_deleted_at": "2024-05-05T05:05:05Z"}),
            record("tickets", {"id": 2, "name": "here"}),
        ]
    )
    assert warehouse.query(f'SELECT id, CAST(_sdc_deleted_at AS VARCHAR) FROM "{SCHEMA_NAME}".tickets ORDER BY id') == [
        (1, "2024-05-05 05:05:05+00"),
        (2, None),
    ]


def test_activate_version_without_record_metadata_is_ignored_with_a_warning(
    warehouse: Warehouse, caplog: pytest.LogCaptureFixture
) -> None:
    warehouse.load(full_table_sync(1, [1, 2]), add_record_metadata=False)
    warehouse.load(full_table_sync(2, [1]), add_record_metadata=False)
    assert warehouse.query(f'SELECT id FROM "{SCHEMA_NAME}".accounts ORDER BY id') == [(1,), (2,)]
    assert "needs add_record_metadata" in caplog.text


def keyless_full_table_sync(version: int, amounts: list[int]) -> list[dict[str, Any]]:
    """A keyless summary (like Xactly's xc_credit_summary): every run sends a complete new copy."""
    props = {"period": {"type": "integer"}, "amount": {"type": "integer"}}
    return [
        schema("summary", props),
        *(record("summary", {"period": 1, "amount": a}, version=version) for a in amounts),
        activate_version("summary", version),
    ]


def test_keyless_table_keeps_only_the_newest_copy_even_with_soft_deletes(warehouse: Warehouse) -> None:
    for version in (1, 2, 3, 4):
        warehouse.load(keyless_full_table_sync(version, [10 * version, 10 * version + 1]))
    landed = warehouse.query(
        f'SELECT amount, _sdc_table_version, _sdc_deleted_at FROM "{SCHEMA_NAME}".summary ORDER BY amount'
    )
    assert landed == [(40, 4, None), (41, 4, None)]


def test_keyed_table_next_to_a_keyless_one_still_soft_deletes(warehouse: Warehouse) -> None:
    warehouse.load([*full_table_sync(1, [1, 2]), *keyless_full_table_sync(1, [5])])
    warehouse.load([*full_table_sync(2, [1]), *keyless_full_table_sync(2, [6])])
    assert rows(warehouse) == [(1, "v2", 2, False), (2, "v1", 1, True)]
    assert warehouse.query(f'SELECT amount FROM "{SCHEMA_NAME}".summary') == [(6,)]


def test_failed_run_keeps_the_previous_copy_of_a_keyless_table(warehouse: Warehouse) -> None:
    warehouse.load(keyless_full_table_sync(1, [5, 6]))
    result = warehouse.run_cli([*keyless_full_table_sync(2, [7]), "{not json"])
    assert result.returncode == 1
    assert warehouse.query(f'SELECT amount FROM "{SCHEMA_NAME}".summary ORDER BY amount') == [(5,), (6,)]


def test_a_keyless_copy_cut_off_before_its_activate_version_is_removed(warehouse: Warehouse) -> None:
    warehouse.load(keyless_full_table_sync(1, [5, 6]))
    cut_off = keyless_full_table_sync(2, [7])[:-1]  # the tap died before announcing version 2
    warehouse.load(cut_off)
    assert warehouse.query(f'SELECT amount, _sdc_table_version FROM "{SCHEMA_NAME}".summary ORDER BY amount') == [
        (5, 1),
        (6, 1),
    ]
