"""exportData cells straight into BATCH files: the landed records, without the SDK's per-record cost.

A version of exportData is a wide CSV (one row per account, level and dimension combination, one column
per period) landed in long format, one record per cell: a million cells is a million records. Through
RECORD messages each pays the SDK's per-record path (state, counters, child contexts, the message
writer), which measured at 0.11x of what parsing the response costs (issue 13). Here a row's shared
columns are JSON-encoded once and every cell only adds its period and value, written as JSON lines into
the files the SDK's BATCH message points at (``batch_config``, the SDK's own jsonl layout and storage).

Each line is the JSON of the record the SDK path would emit for the cell, with the catalog's property
selection applied (``tests/test_batch_files.py`` proves both paths land the same records).
"""

from __future__ import annotations

import gzip
import typing as t
from contextlib import ExitStack
from operator import itemgetter
from uuid import uuid4

import msgspec

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

#: exportData cell text → value_status: "B" marks a blank, "I" an invalid cell (``markBlanks``,
#: ``markInvalidValues``, adaptive.md §9); an empty cell is blank too; anything else is a number.
BLANK_CELLS = frozenset({"B", ""})
INVALID_CELL = "I"

_encode = msgspec.json.Encoder().encode


class WideRow(t.NamedTuple):
    """One CSV data row of a version: the columns its cells share, and the row's cells."""

    shared: dict[str, t.Any]
    cells: list[str]


class Period(t.NamedTuple):
    """A period column of the wide CSV: where its cells sit, its code and the first day it covers."""

    column: int
    code: str
    start: str | None


def cell_records(row: WideRow, periods: list[Period]) -> Iterator[dict[str, t.Any]]:
    """The records of one row's cells, as the SDK path emits them (one per period)."""
    for period in periods:
        cell = row.cells[period.column]
        record = dict(row.shared)
        record["period"] = period.code
        record["period_start"] = period.start
        if cell in BLANK_CELLS:
            record["value"] = None
            record["value_status"] = "blank"
        elif cell == INVALID_CELL:
            record["value"] = None
            record["value_status"] = "invalid"
        else:
            record["value"] = float(cell)
            record["value_status"] = "value"
        yield record


def _pair(key: str, value: t.Any) -> bytes:
    return _encode(key) + b":" + _encode(value)


def _join(*parts: bytes) -> bytes:
    return b",".join(part for part in parts if part)


class CellLineEncoder:
    """JSON lines of a row's cell records, encoding the row's shared columns once per row.

    ``keep(column)`` says whether the catalog selects a column (primary keys always are); a deselected
    column is left out of every line, as the SDK's own path leaves it out of every RECORD.
    """

    def __init__(self, periods: list[Period], keep: Callable[[str], bool]) -> None:
        """Encode what is the same for every cell of a period column once, for the whole response."""
        self.periods = periods
        self.keep = keep
        self.kept: dict[str, bool] = {}

        def pair_if_kept(key: str, value: t.Any) -> bytes:
            return _pair(key, value) if keep(key) else b""

        status = {name: pair_if_kept("value_status", name) for name in ("value", "blank", "invalid")}
        null_value = pair_if_kept("value", None)
        self.with_value = keep("value")
        self.value_tail = (b"," + status["value"] if status["value"] else b"") + b"}\n"
        # Per period column, in period order: the line tails of a blank and an invalid cell, and the
        # head of a value cell's tail (its value and ``value_tail`` complete it).
        self.blank_tails: list[bytes] = []
        self.invalid_tails: list[bytes] = []
        self.value_heads: list[bytes] = []
        for period in periods:
            where = _join(pair_if_kept("period", period.code), pair_if_kept("period_start", period.start))
            self.blank_tails.append(_join(where, null_value, status["blank"]) + b"}\n")
            self.invalid_tails.append(_join(where, null_value, status["invalid"]) + b"}\n")
            self.value_heads.append(_join(where, b'"value":' if self.with_value else b""))
        #: Per period column: marked cell text ("B", "", "I") → its whole line tail.
        self.marked_tails = [
            {**dict.fromkeys(BLANK_CELLS, blank), INVALID_CELL: invalid}
            for blank, invalid in zip(self.blank_tails, self.invalid_tails, strict=True)
        ]
        self.in_period_order = itemgetter(*(period.column for period in periods)) if periods else None

    def row_lines(self, row: WideRow) -> bytes:
        """The JSON lines of every cell of the row, in period order (one line per period column)."""
        if self.in_period_order is None:
            return b""
        kept = self.kept
        for key in row.shared.keys() - kept.keys():
            kept[key] = self.keep(key)
        shared = _encode({key: value for key, value in row.shared.items() if kept[key]})
        head = shared[:-1] + b"," if len(shared) > 2 else b"{"
        cells = self.in_period_order(row.cells)
        if len(self.value_heads) == 1:
            cells = (cells,)  # itemgetter of one column returns the cell, not a tuple
        value_tail = self.value_tail
        if self.with_value:
            # A marked cell's whole line tail comes from its period's table; a number completes the head.
            tails = [
                marked.get(cell) or head_ + _encode(float(cell)) + value_tail
                for cell, marked, head_ in zip(cells, self.marked_tails, self.value_heads, strict=True)
            ]
        else:
            tails = []
            for cell, blank, invalid, head_ in zip(
                cells, self.blank_tails, self.invalid_tails, self.value_heads, strict=True
            ):
                if cell in BLANK_CELLS:
                    tails.append(blank)
                elif cell == INVALID_CELL:
                    tails.append(invalid)
                else:
                    float(cell)  # the SDK path fails on a non-number cell whether or not value is selected
                    tails.append(head_ + value_tail)
        # Every tail ends its line, so joining on the head starts each following line with it.
        return head + head.join(tails)


class BatchStorage(t.Protocol):
    """What the SDK's ``batch_config.storage`` offers (fsspec-backed: local files, S3, ...)."""

    prefix: str | None

    def open(self, filename: str, mode: str = "rb") -> t.ContextManager[t.IO[bytes]]:
        """Open a file under the storage root."""

    def get_url(self, filename: str) -> str:
        """URL of a file under the storage root, as BATCH manifests name it."""


class BatchSettings(t.Protocol):
    """What the SDK's ``BatchConfig`` (private module, handed to ``get_batches``) offers this tap."""

    @property
    def encoding(self) -> t.Any:
        """Format and compression of the files (yielded back to the SDK with each manifest)."""

    @property
    def storage(self) -> BatchStorage:
        """Where the files go."""

    @property
    def batch_size(self) -> int:
        """Lines per file."""


def write_files(
    chunks: Iterable[tuple[bytes, int]], storage: BatchStorage, name: str, *, batch_size: int, compress: bool
) -> Iterator[str]:
    """Write chunks of lines into files of about ``batch_size`` lines (the SDK's naming); yield each file's URL.

    Chunks are written as they come, so memory holds one chunk, not one file. A chunk (one CSV row's
    cells) is never split, so a file may hold a row's worth of lines more. Gzip at level 1 when the
    config asks for gzip: the SDK's default level 9 costs more than the whole rest of the path for
    exportData's repetitive lines, for a file a few percent smaller.
    """
    sync_id = f"{name}-{uuid4()}"
    suffix = ".json.gz" if compress else ".json"
    iterator = iter(chunks)
    for number, first in enumerate(iterator, start=1):
        filename = f"{storage.prefix or ''}{sync_id}-{number}{suffix}"
        with ExitStack() as files:
            handle: t.IO[bytes] = files.enter_context(storage.open(filename, "wb"))
            if compress:
                handle = t.cast(
                    "t.IO[bytes]", files.enter_context(gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=1))
                )
            chunk, lines = first
            handle.write(chunk)
            while lines < batch_size:
                following = next(iterator, None)
                if following is None:
                    break
                chunk, count = following
                handle.write(chunk)
                lines += count
        yield storage.get_url(filename)
