"""Bad input ends in one clear ERROR line and exit code 1, and what was loaded before stays."""

from __future__ import annotations

import duckdb
from warehouse_support import SCHEMA_NAME, Warehouse, record, schema

PROPS = {"id": {"type": "integer"}, "ts": {"type": ["string", "null"], "format": "date-time"}}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line or "Traceback" in line]


def test_record_for_an_unknown_stream(warehouse: Warehouse) -> None:
    result = warehouse.run_cli([schema("items", PROPS, ["id"]), record("ghosts", {"id": 1})])
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "'ghosts'" in line
    assert "schema" in line


def test_malformed_json_line_names_its_line_number(warehouse: Warehouse) -> None:
    result = warehouse.run_cli([schema("items", PROPS, ["id"]), record("items", {"id": 1}), '{"type": "RECORD", "str'])
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "input line 3 is not valid JSON" in line


def test_value_that_does_not_fit_its_column_names_the_table(warehouse: Warehouse) -> None:
    messages = [schema("items", PROPS, ["id"]), record("items", {"id": 1, "ts": "yesterday"})]
    result = warehouse.run_cli(messages)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert f"{SCHEMA_NAME}.items" in line
    assert "yesterday" in line


def test_missing_filepath_setting_is_a_config_error(warehouse: Warehouse) -> None:
    result = warehouse.run_cli([schema("items", PROPS, ["id"])], filepath=None)
    assert result.returncode == 1
    assert "filepath" in result.stderr
    assert "Traceback" not in result.stderr


def test_warehouse_file_locked_by_another_process(warehouse: Warehouse) -> None:
    warehouse.path.parent.mkdir(parents=True)
    with duckdb.connect(str(warehouse.path)):  # e.g. someone's open DuckDB shell
        result = warehouse.run_cli([schema("items", PROPS, ["id"]), record("items", {"id": 1})])
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert f"cannot open warehouse file {warehouse.path}" in line


def test_key_property_missing_from_the_schema(warehouse: Warehouse) -> None:
    result = warehouse.run_cli([schema("items", PROPS, ["uuid"]), record("items", {"id": 1})])
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "stream 'items': key properties ['uuid'] are not in its schema" in line
