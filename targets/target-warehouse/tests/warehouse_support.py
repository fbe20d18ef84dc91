"""Run the target in-process on Singer messages built in the test, and read what it loaded."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import simplejson
from target_warehouse.target import TargetWarehouse

SCHEMA_NAME = "TAP_TEST"
EXECUTABLE = str(Path(sys.executable).with_name("target-warehouse"))


def schema(stream: str, properties: dict[str, Any], keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": keys or [],
    }


def record(stream: str, data: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "RECORD",
        "stream": stream,
        "record": data,
        "time_extracted": "2024-06-01T12:00:00+00:00",
    }
    if version is not None:
        message["version"] = version
    return message


def activate_version(stream: str, version: int) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def state(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def lines(messages: Iterable[dict[str, Any] | str]) -> str:
    return "".join((m if isinstance(m, str) else simplejson.dumps(m, use_decimal=True)) + "\n" for m in messages)


class Warehouse:
    """One DuckDB file a test loads into (several runs) and queries."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "filepath": str(self.path),
            "default_target_schema": SCHEMA_NAME,
            "add_record_metadata": True,
            **overrides,
        }

    def load(self, messages: Iterable[dict[str, Any] | str], **config: Any) -> None:
        """One in-process target run (what one `meltano run` does)."""
        target = TargetWarehouse(config=self.config(**config))
        target.listen(io.StringIO(lines(messages)))

    def run_cli(self, messages: Iterable[dict[str, Any] | str], **config: Any) -> subprocess.CompletedProcess[str]:
        """The installed executable, for exit codes and what an operator sees on stderr."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        config_file = self.path.with_suffix(".config.json")
        settings = {key: value for key, value in self.config(**config).items() if value is not None}
        config_file.write_text(json.dumps(settings))
        return subprocess.run(
            [EXECUTABLE, "--config", str(config_file)],
            input=lines(messages),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            return con.execute(sql, params or []).fetchall()

    def column_types(self, table: str) -> dict[str, str]:
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [SCHEMA_NAME, table],
        )
        return dict(rows)
