"""Column types: what each JSON Schema type becomes, and that values survive the trip intact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from warehouse_support import SCHEMA_NAME, Warehouse, record, schema

PROPERTIES = {
    "id": {"type": "integer"},
    "big": {"type": ["integer", "null"]},
    "ratio": {"type": ["number", "null"]},
    "amount": {"type": ["number", "null"], "multipleOf": 0.01},
    "amount_text": {"type": ["string", "null"], "format": "decimal", "multipleOf": 0.0001},
    "updated_at": {"type": ["string", "null"], "format": "date-time"},
    "due": {"type": ["string", "null"], "format": "date"},
    "at": {"type": ["string", "null"], "format": "time"},
    "active": {"type": ["boolean", "null"]},
    "owner": {"type": ["object", "null"], "properties": {"name": {"type": "string"}}},
    "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    "either": {"anyOf": [{"type": "string"}, {"type": "object"}]},
    "mixed": {"type": ["string", "integer", "null"]},
    "untyped": {},
    "title": {"type": ["string", "null"]},
}
ROW = {
    "id": 1,
    "big": 9_007_199_254_740_993,  # 2^53 + 1: not representable as a double
    "ratio": 0.1,
    "amount": Decimal("12345678901234567890123456789012345.67"),  # written as a JSON number
    "amount_text": "0.0001",
    "updated_at": "2024-03-10T23:30:00.123456-05:00",
    "due": "2024-02-29",
    "at": "13:45:30",
    "active": True,
    "owner": {"name": "Ada", "score": 1.5},
    "tags": ["soc2", "gdpr"],
    "either": {"k": "v"},
    "mixed": 42,
    "untyped": [1, "two"],
    "title": "Tab\tand ünïcödé",
}


def _load_one(warehouse: Warehouse) -> None:
    warehouse.load([schema("things", PROPERTIES, ["id"]), record("things", ROW)])


def test_json_schema_types_map_to_honest_duckdb_types(warehouse: Warehouse) -> None:
    _load_one(warehouse)
    types = warehouse.column_types("things")
    assert {name: types[name] for name in PROPERTIES} == {
        "id": "BIGINT",
        "big": "BIGINT",
        "ratio": "DOUBLE",
        "amount": "DECIMAL(38,2)",
        "amount_text": "DECIMAL(38,4)",
        "updated_at": "TIMESTAMP WITH TIME ZONE",
        "due": "DATE",
        "at": "TIME",
        "active": "BOOLEAN",
        "owner": "JSON",
        "tags": "JSON",
        "either": "JSON",
        "mixed": "JSON",
        "untyped": "JSON",
        "title": "VARCHAR",
    }


def test_sdc_metadata_columns_are_typed(warehouse: Warehouse) -> None:
    _load_one(warehouse)
    types = warehouse.column_types("things")
    assert types["_sdc_extracted_at"] == types["_sdc_deleted_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["_sdc_sequence"] == types["_sdc_table_version"] == types["_sdc_sync_started_at"] == "BIGINT"
    extracted, received = warehouse.query(f'SELECT _sdc_extracted_at, _sdc_received_at FROM "{SCHEMA_NAME}".things')[0]
    assert extracted == dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)
    assert received.tzinfo is not None


def test_key_columns_are_not_null_and_other_columns_nullable(warehouse: Warehouse) -> None:
    _load_one(warehouse)
    nullable = dict(
        warehouse.query("SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = 'things'")
    )
    assert nullable["id"] == "NO"
    assert {v for k, v in nullable.items() if k != "id"} == {"YES"}


def test_timestamps_stay_timezone_aware_in_utc(warehouse: Warehouse) -> None:
    _load_one(warehouse)
    (value,) = warehouse.query(f'SELECT updated_at FROM "{SCHEMA_NAME}".things')[0]
    assert value == dt.datetime(2024, 3, 11, 4, 30, 0, 123456, tzinfo=dt.UTC)
    assert value.utcoffset() == dt.timedelta(0)


def test_naive_timestamps_are_read_as_utc(warehouse: Warehouse) -> None:
    props = {"id": {"type": "integer"}, "ts": {"type": "string", "format": "date-time"}}
    warehouse.load([schema("naive", props, ["id"]), record("naive", {"id": 1, "ts": "2024-01-01T08:00:00"})])
    assert warehouse.query(f'SELECT ts FROM "{SCHEMA_NAME}".naive') == [(dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC),)]


def test_decimals_keep_every_digit_and_integers_all_64_bits(warehouse: Warehouse) -> None:
    _load_one(warehouse)
    row = warehouse.query(f'SELECT amount, amount_text, big, ratio FROM "{SCHEMA_NAME}".things')[0]
    assert row == (
        Decimal("12345678901234567890123456789012345.67"),
        Decimal("0.0001"),
        9_007_199_254_740_993,
        0.1,
    )


def test_nested_values_are_queryable_json_with_their_original_types(warehouse: Warehouse) -> None:
    _load_one(warehouse)
    row = warehouse.query(
        f"SELECT owner->>'$.name', json_extract(owner, '$.score'), tags->>'$[1]', json_array_length(tags), "
        f"either->>'k', untyped->>'$[1]', json_type(json_extract(owner, '$.score')) "
        f'FROM "{SCHEMA_NAME}".things'
    )[0]
    assert row == ("Ada", "1.5", "gdpr", 2, "v", "two", "DOUBLE")


def test_scalar_values_round_trip(warehouse: Warehouse) -> None:
    _load_one(warehouse)
    row = warehouse.query(f'SELECT due, "at", active, title, mixed FROM "{SCHEMA_NAME}".things')[0]
    assert row == (dt.date(2024, 2, 29), dt.time(13, 45, 30), True, ROW["title"], "42")


def test_nulls_and_missing_properties_load_as_null(warehouse: Warehouse) -> None:
    warehouse.load([schema("things", PROPERTIES, ["id"]), record("things", {"id": 2, "owner": None})])
    row = warehouse.query(f'SELECT owner, amount, updated_at, tags FROM "{SCHEMA_NAME}".things')[0]
    assert row == (None, None, None, None)


NUMBERS = {
    "id": {"type": "integer"},
    "n": {"type": ["integer", "null"]},
    "cents": {"type": ["number", "null"], "multipleOf": 0.01},
}


def test_integral_numbers_load_into_integer_and_decimal_columns(warehouse: Warehouse) -> None:
    warehouse.load(
        [
            schema("nums", NUMBERS, ["id"]),
            record("nums", {"id": 1, "n": Decimal("3.0"), "cents": Decimal("1.500")}),
            record("nums", {"id": 2, "n": Decimal("1E+3"), "cents": 7}),
        ]
    )
    rows = warehouse.query(f'SELECT n, cents FROM "{SCHEMA_NAME}".nums ORDER BY id')
    assert rows == [(3, Decimal("1.50")), (1000, Decimal("7.00"))]


def test_number_its_column_would_round_fails_the_run(warehouse: Warehouse) -> None:
    for bad in ({"id": 1, "n": Decimal("1.5")}, {"id": 1, "cents": Decimal("1.005")}):
        result = warehouse.run_cli([schema("nums", NUMBERS, ["id"]), record("nums", bad)])
        assert result.returncode == 1
        column, value = next((k, v) for k, v in bad.items() if k != "id")
        assert f"stream 'nums': {column}=Decimal('{value}') does not fit its column" in result.stderr
    assert warehouse.query(f'SELECT count(*) FROM "{SCHEMA_NAME}".nums') == [(0,)]
