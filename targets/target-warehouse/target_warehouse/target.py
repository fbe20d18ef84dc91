"""target-warehouse: the dev environment's embedded DuckDB warehouse (see README.md for why it exists)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

import msgspec
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities, TargetLoadMethods
from singer_sdk.singerlib.encoding import SingerMessageType
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.target_base import Target

from target_warehouse.sinks import WarehouseSink
from target_warehouse.warehouse import Warehouse, WarehouseError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.sinks import Sink

_SNIPPET = 120


class _Envelope(msgspec.Struct):
    """A Singer message with its record, version and time_extracted left as raw JSON (never parsed)."""

    type: str
    stream: str = ""
    record: msgspec.Raw = msgspec.Raw(b"")
    version: msgspec.Raw = msgspec.Raw(b"null")
    time_extracted: msgspec.Raw = msgspec.Raw(b"null")


#: Takes a RECORD as raw JSON (stream, record, version, time_extracted); False: not for this stream.
RawRecordTaker = Callable[[str, msgspec.Raw, msgspec.Raw, msgspec.Raw], bool]


class _LineReader(MsgSpecReader):
    """msgspec reader (faster than the default) whose parse error is one line with its line number.

    The SDK's reader logs a traceback plus the whole offending line before raising. RECORD messages
    of streams whose sink takes raw records skip the SDK's per-record path altogether: only the
    envelope is decoded, and the record's bytes go to DuckDB as they came (:attr:`take_raw_record`).
    """

    def __init__(self) -> None:
        super().__init__()
        self._line_number = 0
        self._decoder = msgspec.json.Decoder(float_hook=Decimal)
        self._envelope = msgspec.json.Decoder(_Envelope)
        #: Set by the target; None reads every message the SDK's way.
        self.take_raw_record: RawRecordTaker | None = None
        #: Called after every message handled the SDK's way (a SCHEMA may have replaced a sink).
        self.after_message: Callable[[], None] = lambda: None

    @override
    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Callable[[dict[str, Any]], None]]
    ) -> Counter[str]:
        take = self.take_raw_record
        if take is None:
            return super().process_lines(file_input, callbacks)
        stats: Counter[str] = Counter()
        for line in file_input or self.default_input:
            try:
                envelope = self._envelope.decode(line)
            except msgspec.MsgspecError:
                envelope = None  # deserialize_json below reports it in one line
            if (
                envelope is not None
                and envelope.type == "RECORD"
                and take(envelope.stream, envelope.record, envelope.version, envelope.time_extracted)
            ):
                self._line_number += 1
                stats[SingerMessageType.RECORD] += 1
                continue
            message = self.deserialize_json(line)
            self.assert_line_requires(message, requires={"type"})
            kind = message["type"]
            if (callback := callbacks.get(kind)) is None:
                msg = f"input line {self._line_number}: unknown message type {kind!r}"
                raise InvalidInputLine(msg)
            callback(message)
            self.after_message()
            stats[kind] += 1
        return stats

    @override
    def deserialize_json(self, line: str) -> dict[str, Any]:
        self._line_number += 1
        try:
            message = self._decoder.decode(line)
        except msgspec.DecodeError as exc:
            snippet = line.strip()[:_SNIPPET]
            msg = f"input line {self._line_number} is not valid JSON ({exc}): {snippet!r}"
            raise InvalidInputLine(msg) from None
        if not isinstance(message, dict):
            msg = f"input line {self._line_number} is not a Singer message (a JSON object)"
            raise InvalidInputLine(msg)
        return message


class TargetWarehouse(Target):
    """Singer target for the embedded DuckDB warehouse."""

    name = "target-warehouse"
    default_sink_class = WarehouseSink
    message_reader_class = _LineReader
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        *Target.capabilities,
        PluginCapabilities.ACTIVATE_VERSION,
        TargetCapabilities.HARD_DELETE,
        TargetCapabilities.TARGET_SCHEMA,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "filepath",
            th.StringType,
            required=True,
            title="DuckDB file",
            description="Path of the DuckDB database file; it and its parent folders are created if missing.",
        ),
        th.Property(
            "default_target_schema",
            th.StringType,
            default="main",
            title="Target schema",
            description="Schema every stream lands in, case kept (Meltano passes the extractor's load_schema).",
        ),
        th.Property(
            "add_record_metadata",
            th.BooleanType,
            default=False,
            title="Add record metadata",
            description="Add the SDK's _sdc_* columns (extracted/received/batched/deleted at, sequence, "
            "table version, sync started at). Needed for ACTIVATE_VERSION deletes.",
        ),
        th.Property(
            "hard_delete",
            th.BooleanType,
            default=False,
            title="Hard delete",
            description="On ACTIVATE_VERSION, delete rows of older table versions instead of setting "
            "their _sdc_deleted_at.",
        ),
        th.Property(
            "load_method",
            th.StringType,
            default=TargetLoadMethods.UPSERT.value,
            # The SDK's append-only and overwrite are refused: no job of the project uses them.
            allowed_values=[TargetLoadMethods.UPSERT.value],
            title="Load method",
            description="upsert, the only method: replace rows by primary key (streams without a key append).",
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            title="Validate records",
            description="Validate each record against its JSON Schema (slow; DuckDB still rejects values "
            "that do not fit their column).",
        ),
    ).to_dict()

    @property
    @override
    def max_parallelism(self) -> int:
        """One DuckDB connection, used by one thread; DuckDB parallelises each load internally."""
        return 1

    @max_parallelism.setter
    def max_parallelism(self, new_value: int) -> None:
        _ = new_value

    @override
    def setup_mapper(self) -> None:
        super().setup_mapper()
        reader = self.message_reader
        if (
            isinstance(reader, _LineReader)
            and not self.config.get("stream_maps")
            and not self.config.get("flattening_enabled")
        ):
            reader.take_raw_record = self.take_raw_record
            reader.after_message = self._raw_sinks.clear

    @cached_property
    def _raw_sinks(self) -> dict[str, WarehouseSink | None]:
        """Stream → its sink if that sink takes raw records, else None; forgotten after any non-RECORD."""
        return {}

    def take_raw_record(
        self, stream: str, record: msgspec.Raw, version: msgspec.Raw, time_extracted: msgspec.Raw
    ) -> bool:
        """Hand a RECORD's raw JSON to its sink, or return False to let the SDK process the message.

        Only streams without stream maps (the config has none) whose sink accepts raw records; a
        stream without a sink yet goes the SDK's way, which reports it.
        """
        try:
            sink = self._raw_sinks[stream]
        except KeyError:
            found = self.get_sink(stream) if self.sink_exists(stream) else None
            sink = found if isinstance(found, WarehouseSink) and found.accepts_raw_records else None
            self._raw_sinks[stream] = sink
        if sink is None:
            return False
        sink.add_raw_record(record, version, time_extracted)
        if sink.is_full:
            self.drain_one(sink)
        return True

    @cached_property
    def warehouse(self) -> Warehouse:
        """Opened on first use, so `--about` and config errors never create a database file."""
        return Warehouse(Path(self.config["filepath"]).expanduser(), self.logger)

    @property
    def schema_name(self) -> str:
        """Every stream's schema; an empty value (unset Meltano variable) falls back to main."""
        return str(self.config.get("default_target_schema") or "main")

    @override
    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict[str, Any] | None = None,
        schema: dict[str, Any] | None = None,
        key_properties: Sequence[str] | None = None,
    ) -> Sink:
        """Load a replaced sink's pending records before the new sink can load newer ones.

        The SDK parks a sink whose stream got a new SCHEMA and drains it only at the next full
        drain, after the new sink may already have loaded later versions of the same keys.
        """
        if schema is not None and self.sink_exists(stream_name):
            current = super().get_sink(stream_name)
            if current.original_schema != schema or current.key_properties != key_properties:
                self.drain_one(current)
        return super().get_sink(stream_name, record=record, schema=schema, key_properties=key_properties)

    @override
    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        if "warehouse" in self.__dict__:
            self.warehouse.finish(hard_delete=bool(self.config.get("hard_delete", False)))

    @classmethod
    @override
    def invoke(cls, **kwargs: Any) -> None:
        """Run the target; any failure ends in one clear ERROR line and exit code 1.

        The traceback is logged at DEBUG only: operators read Meltano's log, where a 40-line
        SDK traceback buries the one sentence that says which stream or line was wrong.
        """
        try:
            super().invoke(**kwargs)
        except Exception as exc:  # the CLI boundary: every error becomes one line
            cls.logger.debug("Traceback of the failure", exc_info=True)
            cls.logger.error("target-warehouse failed: %s", _one_line(exc))  # noqa: TRY400
            sys.exit(1)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ConfigValidationError):
        return "invalid config: " + "; ".join(exc.errors)
    text = " ".join(str(exc).split()) or type(exc).__name__
    # Our own messages already say what failed; for anything else the class name is the context.
    return text if isinstance(exc, (InvalidInputLine, WarehouseError)) else f"{type(exc).__name__}: {text}"
