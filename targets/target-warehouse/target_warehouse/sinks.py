"""One sink per stream: records are encoded once to NDJSON bytes, loaded by DuckDB per batch."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import msgspec
import orjson
import simplejson
from singer_sdk.sinks import BatchSink

from target_warehouse.types import BIGINT, column_type, decimal_scale, is_decimal
from target_warehouse.warehouse import VERSION_COLUMN, TableRef, WarehouseError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_warehouse.target import TargetWarehouse

_UNSAFE = re.compile(r"[^0-9A-Za-z_]")


def table_name(stream_name: str) -> str:
    """Make a safe, readable identifier of a stream name: ``public-users`` → ``public_users``."""
    name = _UNSAFE.sub("_", stream_name) or "_"
    return f"_{name}" if name[0].isdigit() else name


def _encode_default(value: Any) -> Any:
    """Encode what orjson cannot: Decimal, as the Singer readers parse every JSON float into one.

    Emitting it as a raw JSON number keeps nested numbers numbers (a JSON column must not turn
    ``1.5`` into ``"1.5"``); DECIMAL columns are turned into strings before encoding, see
    :meth:`WarehouseSink.process_record`.
    """
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(type(value).__name__)


def _local_path(url: str) -> Path | None:
    """The file of a ``file://`` (or bare path) manifest entry; None for remote storage."""
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme in ("", "file") else None


def _is_local_gzip(url: str) -> bool:
    path = _local_path(url)
    if path is None:
        return False
    try:
        with path.open("rb") as file:
            return file.read(2) == b"\x1f\x8b"
    except OSError:
        return False  # the SDK's own open reports it


def encode(record: dict[str, Any]) -> bytes:
    """Serialise one record as a JSON line (numbers exact, nested values kept as JSON)."""
    try:
        return orjson.dumps(record, default=_encode_default)
    except TypeError:
        # orjson refuses integers beyond 64 bits; simplejson (an SDK dependency) writes them verbatim.
        text: str = simplejson.dumps(record, use_decimal=True, default=str, separators=(",", ":"))
        return text.encode()


class WarehouseSink(BatchSink):
    """Buffers a batch as encoded lines, deduplicated by key (the last occurrence wins)."""

    def __init__(
        self,
        target: TargetWarehouse,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self._target = target
        self.warehouse = target.warehouse
        self.table = TableRef(target.schema_name, table_name(stream_name))
        self.column_types = {name: column_type(prop) for name, prop in self.schema["properties"].items()}
        missing = [key for key in self.key_properties if key not in self.column_types]
        if missing:
            msg = f"stream '{stream_name}': key properties {missing} are not in its schema"
            raise WarehouseError(msg)
        self._integer_columns = [name for name, sql_type in self.column_types.items() if sql_type == BIGINT]
        self._decimal_scales = {
            name: decimal_scale(sql_type) for name, sql_type in self.column_types.items() if is_decimal(sql_type)
        }
        # upsert is the only load method (see the target's load_method setting): keyed streams dedupe.
        self._dedupe = bool(self.key_properties)
        #: Records taken as the tap wrote them (see :meth:`add_raw_record`), one line each, not yet loaded.
        self._raw_lines: list[bytes] = []
        #: Table versions those records carried (keyless full-table streams only).
        self._raw_versions: set[int] = set()

    @cached_property
    @override
    def validate_schema(self) -> bool:
        """Off unless asked: JSON Schema validation costs about half of the target's CPU (notes §8)."""
        return bool(self.config.get("validate_records", False))

    @cached_property
    def accepts_raw_records(self) -> bool:
        """Whether DuckDB can parse this stream's records with nothing done to them in Python first.

        Not with validation on (the SDK validates a parsed record), and not for DECIMAL columns:
        DuckDB reads a JSON number through a double, so their exactness check needs Python's Decimal.
        """
        return bool(self.column_types) and not self.validate_schema and not self._decimal_scales

    def add_raw_record(self, record: msgspec.Raw, version: msgspec.Raw, time_extracted: msgspec.Raw) -> None:
        """Take one RECORD as raw JSON (record, version and time_extracted as the tap wrote them).

        The SDK's per-record work (parse, metadata, conform, re-encode) is what made this loader ~5x
        slower than DuckDB reading the same file; here it becomes SQL over the whole batch
        (:meth:`Warehouse.load_messages`).
        """
        self._raw_lines.append(
            b'{"o":%d,"v":%b,"t":%b,"r":%b}' % (len(self._raw_lines), version, time_extracted, record)
        )
        if not self.key_properties and (number := bytes(version)) != b"null":
            self._raw_versions.add(int(number))
        self.tally_record_read()
        self.record_counter_metric.increment()

    def _message_columns(self, now: datetime) -> dict[str, str]:
        """SQL for the ``_sdc_*`` columns the SDK fills from the message (its record metadata spec)."""
        if not self.include_sdc_metadata_properties:
            return {}
        stamp = f"TIMESTAMPTZ '{now.isoformat()}'"
        started = self.sync_started_at
        columns = {
            "_sdc_extracted_at": "CAST(t AS TIMESTAMPTZ)",
            "_sdc_received_at": stamp,
            "_sdc_batched_at": stamp,
            "_sdc_sequence": f"{round(now.timestamp() * 1000)} + o",
            "_sdc_table_version": "v",
            "_sdc_sync_started_at": str(int(started)) if started is not None else "NULL",
        }
        return {name: sql for name, sql in columns.items() if name in self.column_types}

    def _load_raw_lines(self) -> None:
        lines, self._raw_lines = self._raw_lines, []
        for version in self._raw_versions:
            self.warehouse.keyless_version_loaded(self.table, version)
        self._raw_versions.clear()
        path = self.warehouse.staging_file()
        path.write_bytes(b"\n".join(lines) + b"\n")
        try:
            inserted = self.warehouse.load_messages(
                self.table,
                path,
                list(self.column_types),
                self.key_properties,
                len(lines),
                integer_columns=self._integer_columns,
                message_columns=self._message_columns(datetime.now(UTC)),
                replace_keys=self._dedupe,
            )
        finally:
            path.unlink(missing_ok=True)
        if inserted < len(lines):
            self.tally_duplicate_merged(len(lines) - inserted)
        self.logger.info("Loaded %d rows into %s", inserted, self.table)

    @override
    def setup(self) -> None:
        self.warehouse.prepare(self.table, self.column_types, self.key_properties)

    def _conform_numbers(self, record: dict[str, Any]) -> None:
        """Refuse numbers their column would round; DuckDB's casts round silently (1.5 → BIGINT 2).

        The Singer readers hand over every non-integer JSON number as a Decimal, so the check is exact.
        DECIMAL values continue as strings: a JSON number would pass through a double in read_json.
        """
        for name in self._integer_columns:
            value = record.get(name)
            if isinstance(value, Decimal):
                if not value.is_finite() or value != value.to_integral_value():
                    raise self._misfit(name, value)
                record[name] = int(value)
        for name, scale in self._decimal_scales.items():
            value = record.get(name)
            if value is None:
                continue
            try:
                exact = value if isinstance(value, Decimal) else Decimal(str(value))
            except InvalidOperation:
                raise self._misfit(name, value) from None
            exponent = exact.normalize().as_tuple().exponent
            if not isinstance(exponent, int) or isinstance(value, bool) or exponent < -scale:
                raise self._misfit(name, value)
            record[name] = str(exact)

    def _misfit(self, name: str, value: Any) -> WarehouseError:
        declared = self.column_types[name]
        return WarehouseError(f"stream '{self.stream_name}': {name}={value!r} does not fit its column {declared}")

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        self._conform_numbers(record)
        if not self.key_properties and (version := record.get(VERSION_COLUMN)) is not None:
            self.warehouse.keyless_version_loaded(self.table, int(version))
        line = encode(record)
        if not self._dedupe:
            context.setdefault("lines", []).append(line)
            return
        lines: dict[Any, bytes] = context.setdefault("lines", {})
        key: Any = tuple(record[k] for k in self.key_properties)
        try:
            replaced = key in lines
        except TypeError:  # an unhashable (object/array) key value
            key = encode({"key": list(key)})
            replaced = key in lines
        if replaced:
            del lines[key]  # re-insert so the dict keeps arrival order of the surviving rows
            self.tally_duplicate_merged()
        lines[key] = line

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        # BATCH messages (a tap's jsonl/parquet files) arrive here as decoded "records", not lines.
        for batch_record in context.pop("records", None) or ():
            self.process_record(batch_record, context)
        if self._raw_lines:
            self._load_raw_lines()
        lines = context.get("lines")
        if not lines:
            return
        if not self.column_types:
            self.logger.warning("Dropped %d records of %s: its schema has no properties", len(lines), self.table)
            return
        rows = list(lines.values()) if isinstance(lines, dict) else lines
        path = self.warehouse.staging_file()
        path.write_bytes(b"\n".join(rows) + b"\n")
        try:
            self.warehouse.load(
                self.table,
                path,
                list(self.column_types),
                self.key_properties,
                len(rows),
                replace_keys=self._dedupe,
            )
        finally:
            path.unlink(missing_ok=True)
        self.logger.info("Loaded %d rows into %s", len(rows), self.table)

    @override
    def process_batch_files(self, encoding: Any, files: Sequence[str]) -> None:
        """Load the records buffered before a BATCH message first, so the later records win.

        ``encoding`` is the SDK's ``BaseBatchFileEncoding``, typed Any: its only module is private
        (``singer_sdk.helpers._batch``), which this package does not import.

        singer-sdk 0.54's jsonl batch writer gzips every file, also when the tap's batch_config asks
        for ``compression: none`` and its BATCH message says so: a local file that starts with the
        gzip magic bytes is read as gzip whatever the message says.
        """
        self._target.drain_one(self)
        if encoding.format == "jsonl" and self.accepts_raw_records:
            # DuckDB parses local jsonl files itself; a file with a repeated key goes record by record.
            files = [url for url in files if not self._load_local_batch_file(url)]
            if not files:
                return
        if encoding.format == "jsonl" and encoding.compression != "gzip" and any(map(_is_local_gzip, files)):
            encoding = replace(encoding, compression="gzip")
        super().process_batch_files(encoding, files)

    def _load_local_batch_file(self, url: str) -> bool:
        """Load one local jsonl BATCH file with DuckDB; False when it must go the SDK's way."""
        path = _local_path(url)
        if path is None or not path.is_file():
            return False
        inserted = self.warehouse.load_batch_file(
            self.table,
            path,
            list(self.column_types),
            self.key_properties,
            gzip=_is_local_gzip(url),
            integer_columns=self._integer_columns,
        )
        if inserted is None:
            return False
        self.record_counter_metric.increment(inserted)
        self.logger.info("Loaded %d rows of batch file %s into %s", inserted, path.name, self.table)
        return True

    @override
    def activate_version(self, new_version: int) -> None:
        self.warehouse.activate_version(self.table, new_version, keyless=not self.key_properties)
