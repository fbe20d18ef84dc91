"""Later runs into an existing file: new columns, widened types, schema changes mid-stream."""

from __future__ import annotations

from decimal import Decimal

from warehouse_support import SCHEMA_NAME, Warehouse, record, schema

V1 = {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}, "count": {"type": ["integer", "null"]}}
V2 = {
    **V1,
    "count": {"type": ["number", "null"]},
    "meta": {"type": ["object", "null"]},
    "seen_at": {"type": ["string", "null"], "format": "date-time"},
}


def test_second_run_into_an_existing_file_upserts(warehouse: Warehouse) -> None:
    warehouse.load([schema("items", V1, ["id"]), record("items", {"id": 1, "name": "a", "count": 1})])
    warehouse.load(
        [
            schema("items", V1, ["id"]),
            record("items", {"id": 1, "name": "b", "count": 2}),
            record("items", {"id": 2, "name": "c"}),
        ]
    )
    assert warehouse.query(f'SELECT id, name, "count" FROM "{SCHEMA_NAME}".items ORDER BY id') == [
        (1, "b", 2),
        (2, "c", None),
    ]


def test_new_properties_become_columns_and_old_rows_keep_their_values(warehouse: Warehouse) -> None:
    warehouse.load([schema("items", V1, ["id"]), record("items", {"id": 1, "name": "a", "count": 1})])
    warehouse.load(
        [
            schema("items", V2, ["id"]),
            record(
                "items",
                {"id": 2, "name": "b", "count": 2.5, "meta": {"k": 1}, "seen_at": "2024-01-01T00:00:00Z"},
            ),
        ]
    )
    types = warehouse.column_types("items")
    assert (types["meta"], types["seen_at"], types["count"]) == ("JSON", "TIMESTAMP WITH TIME ZONE", "DOUBLE")
    rows = warehouse.query(f'SELECT id, name, "count", meta->>\'k\' FROM "{SCHEMA_NAME}".items ORDER BY id')
    assert rows == [(1, "a", 1.0, None), (2, "b", 2.5, "1")]


def test_narrower_type_in_a_later_run_keeps_the_wider_column(warehouse: Warehouse) -> None:
    warehouse.load([schema("items", V2, ["id"]), record("items", {"id": 1, "count": 1.5})])
    warehouse.load([schema("items", V1, ["id"]), record("items", {"id": 2, "count": 3})])
    assert warehouse.column_types("items")["count"] == "DOUBLE"
    assert warehouse.query(f'SELECT "count" FROM "{SCHEMA_NAME}".items ORDER BY id') == [(1.5,), (3.0,)]


def test_decimal_scale_only_grows(warehouse: Warehouse) -> None:
    cents = {"id": {"type": "integer"}, "amount": {"type": "number", "multipleOf": 0.01}}
    mills = {"id": {"type": "integer"}, "amount": {"type": "number", "multipleOf": 0.001}}
    warehouse.load([schema("pay", cents, ["id"]), record("pay", {"id": 1, "amount": Decimal("1.25")})])
    warehouse.load([schema("pay", mills, ["id"]), record("pay", {"id": 2, "amount": Decimal("0.125")})])
    assert warehouse.column_types("pay")["amount"] == "DECIMAL(38,3)"
    assert warehouse.query(f'SELECT amount FROM "{SCHEMA_NAME}".pay ORDER BY id') == [
        (Decimal("1.250"),),
        (Decimal("0.125"),),
    ]


def test_incompatible_type_change_falls_back_to_varchar(warehouse: Warehouse) -> None:
    flag = {"id": {"type": "integer"}, "state": {"type": "boolean"}}
    label = {"id": {"type": "integer"}, "state": {"type": "string"}}
    warehouse.load([schema("s", flag, ["id"]), record("s", {"id": 1, "state": True})])
    warehouse.load([schema("s", label, ["id"]), record("s", {"id": 2, "state": "archived"})])
    assert warehouse.query(f'SELECT state FROM "{SCHEMA_NAME}".s ORDER BY id') == [("true",), ("archived",)]


def test_schema_change_mid_stream_loads_records_of_both_schemas(warehouse: Warehouse) -> None:
    warehouse.load(
        [
            schema("items", V1, ["id"]),
            *(record("items", {"id": i, "count": i}) for i in range(5)),
            schema("items", V2, ["id"]),
            *(record("items", {"id": i, "count": i + 0.5, "meta": {"i": i}}) for i in range(3, 8)),
        ],
        batch_size_rows=2,
    )
    rows = warehouse.query(f'SELECT id, "count", meta->>\'i\' FROM "{SCHEMA_NAME}".items ORDER BY id')
    assert rows == [
        (0, 0.0, None),
        (1, 1.0, None),
        (2, 2.0, None),
        *((i, i + 0.5, str(i)) for i in range(3, 8)),
    ]
