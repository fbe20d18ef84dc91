"""exportVersions and its child exportData: the operators' "Shared with Data" job inside the tap.

What it replaces (adaptive.md §8): a script that walked exportVersions to one folder, exported each
version under it once (a "processed versions" table), and asked only for an allow-list of account
codes because the other accounts carry material non-public information. Here the folder walk happens
in the parent stream, the "processed" table is a per-version bookmark in Singer state, and the
allow-list is the only way accounts ever reach a request (never ``includeDescendants``).
"""

from __future__ import annotations

import csv
import typing as t
from datetime import UTC, datetime

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.mapper import SameRecordTransform
from typing_extensions import override

from landing_tap_adaptive import schemas
from landing_tap_adaptive.cell_files import CellLineEncoder, Period, WideRow, cell_records, write_files
from landing_tap_adaptive.client import AdaptiveStream
from landing_tap_adaptive.errors import ConfigurationError
from landing_tap_adaptive.flatten import ElementShape
from landing_tap_adaptive.xmlapi import Envelope, call_body, element, output_lines, scan_envelope

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from landing_tap_adaptive.cell_files import BatchSettings

FOLDER = "VERSION_FOLDER"


class ExportVersionsStream(AdaptiveStream):
    """exportVersions: full table, the version tree flattened; parent of export_data.

    Leaf versions under the ``export_data_version_folder`` folder (at any depth, sub-folders included;
    versions with sub-versions and empty folders are not leaves — GitLab's walker exported empty
    folder names, §5) become export_data contexts.
    """

    name = "export_versions"
    method = "exportVersions"
    shape = ElementShape({"version": None}, schemas.VERSION, hierarchy=True)
    schema = shape.schema()
    primary_keys = ("id",)

    _targets: frozenset[int] = frozenset()

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        records = list(super().parse_response(response))  # a version tree is small; the folder needs all of it
        self._targets = frozenset(self._folder_leaves(records)) if self._export_data_wanted() else frozenset()
        yield from records

    def _export_data_wanted(self) -> bool:
        child = next((c for c in self.child_streams if c.name == "export_data"), None)
        if child is None or not child.selected:
            return False
        if not self.config.get("export_data_account_codes"):
            self.logger.warning(
                "export_data is off: setting `export_data_account_codes` (the account allow-list) is empty; "
                "the other streams sync"
            )
            return False
        return True

    def _folder_leaves(self, records: list[dict[str, t.Any]]) -> set[int]:
        folder_name = str(self.config.get("export_data_version_folder") or "Shared with Data")
        folders = [r for r in records if r["type"] == FOLDER]
        folder = next((r for r in folders if r["name"] == folder_name), None)
        if folder is None:
            existing = ", ".join(repr(f["name"]) for f in folders) or "none"
            msg = (
                f"setting `export_data_version_folder`: version folder {folder_name!r} not found "
                f"in exportVersions; folders that exist: {existing}"
            )
            raise ConfigurationError(msg)
        has_children = {r["parent_id"] for r in records}
        prefix = folder["path"]
        return {
            r["id"]
            for r in records
            if r["path"][: len(prefix)] == prefix
            and r is not folder
            and r["type"] != FOLDER
            and r["id"] not in has_children
        }

    @override
    def generate_child_contexts(self, record: dict[str, t.Any], context: Context | None) -> t.Iterable[Context | None]:
        if record["id"] in self._targets:
            yield {"version_id": record["id"], "version_name": record["name"]}


class ExportDataStream(AdaptiveStream):
    """exportData per leaf version of the shared folder: long format, one record per cell.

    Sync mode: one streamed call per version not yet exported (bookmark ``exported_at`` per version in
    the stream's state partitions; ``export_data_force_versions`` re-exports named versions). A version
    is marked only after the whole CSV was read and its row count equals ``rowCountSent`` (adaptive.md
    §9.2): a short or mismatched stream leaves it for the next run.
    """

    name = "export_data"
    method = "exportData"
    parent_stream_type = ExportVersionsStream
    state_partitioning_keys: t.ClassVar[list[str]] = ["version_id"]
    primary_keys = ("version_id", "account_code", "level_code", "dimension_key", "period")
    schema = schemas.EXPORT_DATA.to_dict()

    #: A run exports only versions not exported before: earlier versions' rows must stay live.
    activate_versions = False
    _envelope: Envelope | None = None
    _rows_read = 0
    _warned_reshaped = False
    sends_batches = True
    #: Period columns of the response being read (set by parse_response before its first row).
    periods: list[Period] = []

    # -- request -----------------------------------------------------------------------------------

    @override
    def prepare_request_payload(self, context: Context | None, next_page_token: t.Any) -> bytes:
        return call_body(self.method, self.config, self.call_children(context, next_page_token), stream=True)

    @override
    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        cfg = self.config
        accounts = "".join(
            element("account", {"code": code, "isAssumption": False, "includeDescendants": False})
            for code in self.allow_list
        )
        filters = element("accounts", children=accounts)
        levels = cfg.get("export_data_levels") or []
        if levels:
            rollup = bool(cfg.get("export_data_levels_rollup", True))
            descend = bool(cfg.get("export_data_levels_include_descendants", False))
            filters += element(
                "levels",
                children="".join(
                    element("level", {"name": n, "isRollup": rollup, "includeDescendants": descend}) for n in levels
                ),
            )
        span = {
            "start": cfg.get("export_data_start_period"),
            "end": cfg.get("export_data_end_period"),
            "stratum": cfg.get("export_data_stratum"),
        }
        if span["start"] or span["end"]:
            filters += element("timeSpan", span)
        dims = cfg.get("export_data_dimensions") or []
        currency = str(cfg.get("export_data_currency") or "corporate")
        currency_attrs = (
            {"useCorporate": True}
            if currency.lower() == "corporate"
            else {"useLocal": True}
            if currency.lower() == "local"
            else {"override": currency}
        )
        rules = {
            "includeZeroRows": bool(cfg.get("export_data_include_zero_rows", True)),
            "includeRollupAccounts": bool(cfg.get("export_data_include_rollup_accounts", True)),
            "includeRollupLevels": bool(cfg.get("export_data_include_rollup_levels", True)),
            "markInvalidValues": True,
            "markBlanks": True,
            "timeRollups": False,
        }
        return (
            element("version", {"name": (context or {})["version_name"], "isDefault": False})
            + element(
                "format",
                {
                    "useInternalCodes": True,
                    "includeUnmappedItems": False,
                    "includeCodes": True,
                    "includeNames": True,
                    "displayNameEnabled": False,
                },
            )
            + element("filters", children=filters)
            + (element("dimensions", children="".join(element("dimension", {"name": d}) for d in dims)) if dims else "")
            + element("rules", rules, children=element("currency", currency_attrs))
        )

    @property
    def allow_list(self) -> list[str]:
        """Account codes exportData may ask for: nothing else ever reaches a request."""
        return [str(code) for code in self.config.get("export_data_account_codes") or [] if str(code)]

    # -- response ---------------------------------------------------------------------------------

    @override
    def inspect(self, response: requests.Response) -> Envelope:
        # Streamed form: success and rowCountSent sit on the trailing <status>; scan without a tree.
        envelope = scan_envelope(response.content)
        self._envelope = envelope
        return envelope

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """One record per cell of the version's rows (the SDK's RECORD path)."""
        for item in self.version_rows(context):
            yield from cell_records(WideRow(**item), self.periods)

    def version_rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """The wide rows of one version not exported yet; the version is marked only when all arrived.

        A version is marked (``exported_at``, ``row_count``) after its last row, only when the rows read
        equal the ``rowCountSent`` the streamed response ends with (adaptive.md §9.2).
        """
        ctx = dict(context or {})
        version = str(ctx.get("version_name"))
        state = self.get_context_state(context)
        forced = version in {str(v) for v in self.config.get("export_data_force_versions") or []}
        if state.get("exported_at") and not forced:
            self.logger.info("export_data: version %r already exported at %s, skipped", version, state["exported_at"])
            return
        self._rows_read = 0
        self._envelope = None
        yield from super().get_records(context)
        envelope = self._envelope
        if envelope is None:
            return  # unsupported: already warned
        sent = envelope.row_count_sent
        if sent is None or sent != self._rows_read:
            self.logger.warning(
                "export_data: version %r returned %d rows but rowCountSent=%s; not marked exported, "
                "it will be exported again next run",
                version,
                self._rows_read,
                sent,
            )
            return
        state["exported_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        state["version_name"] = version
        state["row_count"] = sent
        self.logger.info("export_data: version %r exported, %d rows", version, sent)

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        """One item per CSV data row (``WideRow`` fields), checked before any of its cells is used.

        Rows, not cells: the SDK path (:meth:`get_records`) and the BATCH path (:meth:`get_batches`)
        turn them into cells each in their own way.
        """
        context = dict(self.context or {})
        version_id, version_name = context.get("version_id"), context.get("version_name")
        reader = csv.reader(output_lines(response.content))
        header = next(reader, None)
        if not header:
            return
        layout = _Layout(header)
        self.periods = layout.periods
        allowed = set(self.allow_list)
        width = len(header)
        for row in reader:
            if not row:
                continue
            self._rows_read += 1
            if len(row) != width:
                # Checked before any cell is read: a missing cell would shift every later period by one.
                account = row[layout.account_code] if layout.account_code < len(row) else "?"
                msg = (
                    f"exportData for version {version_name!r}: data row {self._rows_read} (account {account!r}) "
                    f"has {len(row)} cells for {width} columns; refused before loading any of its values, "
                    "the version stays unexported"
                )
                raise FatalAPIError(msg)
            account_code = row[layout.account_code]
            if account_code not in allowed:
                # Defence in depth for MNPI accounts: never land what was not asked for.
                raise FatalAPIError(
                    f"exportData for version {version_name!r} returned account {account_code!r} outside "
                    "`export_data_account_codes`; refusing to load it"
                )
            # A list, not an object keyed by dimension: dimension names are data, not columns.
            dims = [
                {
                    "dimension": name,
                    "code": row[c] if c is not None else None,
                    "name": row[n] if n is not None else None,
                }
                for name, c, n in layout.dimensions
            ]
            shared = {
                "version_id": version_id,
                "version_name": version_name,
                "account_code": account_code,
                "account_name": row[layout.account_name] if layout.account_name is not None else None,
                "level_code": row[layout.level_code] if layout.level_code is not None else row[layout.level_name or 0],
                "level_name": row[layout.level_name] if layout.level_name is not None else None,
                "dimensions": dims,
                "dimension_key": "|".join(f"{d['dimension']}={d['code'] or d['name']}" for d in dims),
                "extra_fields": None,
            }
            yield {"shared": shared, "cells": row}

    # -- BATCH: the cells written straight into the batch files --------------------------------------

    @override
    def get_batch_config(self, config: t.Mapping[str, t.Any]) -> t.Any:
        """The SDK's ``batch_config``, unless stream maps or flattening reshape this stream's records.

        Those are applied per record by the SDK only: with them the cells go the RECORD way.
        """
        batch_config = super().get_batch_config(config)
        if batch_config is None:
            return None
        if str(batch_config.encoding.format) not in {"jsonl", "BatchFileFormat.JSONL"}:
            msg = f"batch_config: encoding format {batch_config.encoding.format!r}; tap-adaptive writes jsonl only"
            raise ConfigurationError(msg)
        maps = self.stream_maps
        if len(maps) != 1 or type(maps[0]) is not SameRecordTransform or maps[0].flattening_enabled:
            if not self._warned_reshaped:
                self._warned_reshaped = True
                self.logger.info("export_data: stream maps or flattening configured, cells sent as RECORD messages")
            return None
        return batch_config

    @override
    def get_batches(
        self, batch_config: BatchSettings, context: Context | None = None
    ) -> t.Iterable[tuple[t.Any, list[str]]]:
        """Files of the version's cells; the last one is announced after the version was marked exported.

        The SDK writes a STATE message after each BATCH message, so holding the last file back until the
        whole response was read (and checked against rowCountSent) puts the version's mark in the STATE
        that follows its last file, exactly where the RECORD path puts it after its last record.
        """
        encoder: CellLineEncoder | None = None

        def chunks() -> t.Iterator[tuple[bytes, int]]:
            nonlocal encoder
            for item in self.version_rows(context):
                if encoder is None or encoder.periods is not self.periods:
                    encoder = CellLineEncoder(self.periods, self.keeps_column)
                yield encoder.row_lines(WideRow(**item)), len(self.periods)

        storage = batch_config.storage
        compress = str(batch_config.encoding.compression).lower().endswith("gzip")
        held: str | None = None
        for url in write_files(
            chunks(), storage, f"{self.tap_name}--{self.name}", batch_size=batch_config.batch_size, compress=compress
        ):
            if held is not None:
                yield batch_config.encoding, [held]
            held = url
        if held is not None:
            yield batch_config.encoding, [held]

    def keeps_column(self, column: str) -> bool:
        """Whether the catalog selects a column (key columns always are; unknown columns are not)."""
        return bool(self.mask.get(("properties", column), False))


class _Layout:
    """Column roles of the wide CSV: base columns end in " Name"/" Code"; the rest are periods (§4)."""

    def __init__(self, header: list[str]) -> None:
        index = {name: i for i, name in enumerate(header)}
        self.account_name = index.get("Account Name")
        account_code = index.get("Account Code")
        if account_code is None:
            raise FatalAPIError("exportData CSV has no 'Account Code' column; `includeCodes` was ignored")
        self.account_code = account_code
        self.level_name = index.get("Level Name")
        self.level_code = index.get("Level Code")
        fixed = {"Account Name", "Account Code", "Level Name", "Level Code"}
        dims: dict[str, list[int | None]] = {}
        self.periods: list[Period] = []
        for i, name in enumerate(header):
            if name in fixed:
                continue
            if name.endswith((" Code", " Name")):
                slot = dims.setdefault(name[:-5], [None, None])
                slot[0 if name.endswith(" Code") else 1] = i
            else:
                self.periods.append(Period(i, name, _period_start(name)))
        self.dimensions = [(name, c, n) for name, (c, n) in dims.items()]


def _period_start(code: str) -> str | None:
    """First day of a month (``MM/YYYY``), quarter (``Qn-YYYY``) or year (``YYYY``) period code."""
    try:
        if len(code) == 7 and code[2] == "/":
            return f"{int(code[3:]):04d}-{int(code[:2]):02d}-01"
        if code.startswith("Q") and "-" in code:
            quarter, year = code[1:].split("-", 1)
            return f"{int(year):04d}-{3 * int(quarter) - 2:02d}-01"
        if len(code) == 4 and code.isdigit():
            return f"{code}-01-01"
    except ValueError:
        return None
    return None
