"""The 23 export methods GitLab's operators load (adaptive.md §2): one table, plus the few that need code.

Every stream is FULL_TABLE (the API has no change tracking; §2: "100% sync for every refresh") except
export_security_audit (incremental on its timestamp, the API takes a date range) and export_data (one
call per not-yet-exported version, remembered per version in state: see :mod:`landing_tap_adaptive.export_data`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import typing as t
from datetime import UTC, datetime

from singer_sdk import typing as th
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from landing_tap_adaptive import schemas
from landing_tap_adaptive.client import AdaptiveStream
from landing_tap_adaptive.flatten import ElementShape
from landing_tap_adaptive.xmlapi import element, parse_document

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context


class Export(t.NamedTuple):
    """One parameterless export: stream name, API method, element shape, key, request elements."""

    name: str
    method: str
    shape: ElementShape
    key: tuple[str, ...] = ("id",)
    request: str = ""


def _flat(tag: str, attributes: th.PropertiesList) -> ElementShape:
    return ElementShape({tag: None}, attributes)


#: Parameterless exports, one row each (no copy-pasted classes, STYLE.md).
SIMPLE_EXPORTS: list[Export] = [
    Export(
        "export_accounts",
        "exportAccounts",
        ElementShape({"account": None}, schemas.ACCOUNT, hierarchy=True, has_attributes=True),
        request=element("include", {"attributes": True}),
    ),
    Export("export_active_currencies", "exportActiveCurrencies", _flat("currency", schemas.ACTIVE_CURRENCIES)),
    Export(
        "export_attributes",
        "exportAttributes",
        ElementShape(
            {"attribute": "attribute", "attributeValue": "attribute_value"},
            schemas.ATTRIBUTE,
            hierarchy=True,
            root_key="attribute_id",
        ),
        key=("node_type", "id"),
    ),
    Export("export_customer_logo", "exportCustomerLogo", _flat("logo", schemas.CUSTOMER_LOGO), key=("url",)),
    Export("export_dimension_families", "exportDimensionFamilies", _flat("family", schemas.DIMENSION_FAMILIES)),
    Export(
        "export_dimensions",
        "exportDimensions",
        ElementShape(
            {"dimension": "dimension", "dimensionValue": "dimension_value"},
            schemas.DIMENSION,
            hierarchy=True,
            has_attributes=True,
            root_key="dimension_id",
        ),
        # A dimension value is addressed within its dimension (exportData's <dimensionValue dimName= code=>,
        # adaptive.md §4), so the dimension is part of its key.
        key=("node_type", "dimension_id", "id"),
        request=element("include", {"dimensionValues": True, "attributes": True}),
    ),
    Export("export_dimension_mapping", "exportDimensionMapping", _flat("mapping", schemas.DIMENSION_MAPPING)),
    Export("export_groups", "exportGroups", _flat("group", schemas.GROUPS)),
    Export(
        "export_instances",
        "exportInstances",
        _flat("instance", schemas.INSTANCES),
        key=("code",),
        request=element("include", {"accessibleInstances": True}),
    ),
    Export(
        "export_levels",
        "exportLevels",
        ElementShape({"level": None}, schemas.LEVEL, hierarchy=True, has_attributes=True),
        request=element("include", {"attributes": True}),
    ),
    Export("export_locales", "exportLocales", _flat("locale", schemas.LOCALES), key=("code",)),
    Export("export_roles", "exportRoles", _flat("role", schemas.ROLES)),
    Export(
        "export_permission_sets",
        "exportPermissionSets",
        ElementShape({"permission_set": None, "permissionSet": None}, schemas.PERMISSION_SETS),
    ),
    Export(
        "export_time",
        "exportTime",
        ElementShape({"stratum": "stratum", "period": "period"}, schemas.TIME, hierarchy=True),
        key=("node_type", "id"),
        request=element("options", {"includeAllLocales": False, "includeLegacyInformation": False}),
    ),
    Export(
        "export_users",
        "exportUsers",
        ElementShape({"user": None}, schemas.USER, child_fields={"subscriptions": "object"}),
        request=element("include", {"groups": True}),
    ),
]


def _stream_class(export: Export) -> type[AdaptiveStream]:
    """Build a stream class from one table row."""
    tree = ", trees flattened with parent_id/depth/path." if export.shape.hierarchy else "."
    attrs: dict[str, t.Any] = {
        "name": export.name,
        "method": export.method,
        "shape": export.shape,
        "schema": export.shape.schema(),
        "primary_keys": export.key,
        "request_children": export.request,
        "__doc__": f"{export.method}: full table, one record per element{tree}",
    }
    return type(f"{export.name.title().replace('_', '')}Stream", (AdaptiveStream,), attrs)


class ExportTransactionDefinitionStream(AdaptiveStream):
    """exportTransactionDefinition: one record per field of the instance's transaction definition."""

    name = "export_transaction_definition"
    method = "exportTransactionDefinition"
    primary_keys = ("field_type", "name")
    schema = schemas.TRANSACTION_DEFINITION.to_dict()

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        root = self.parsed_root(response)
        for position, field in enumerate(root.iterfind("output/transaction/*")):
            if not isinstance(field.tag, str):
                continue
            extra = {k: v for k, v in field.attrib.items() if k not in {"name", "id"}} or None
            if extra:
                self.variance.extra_fields(extra)
            yield {
                "field_type": field.tag,
                "name": field.get("name") or field.tag,
                "id": field.get("id"),
                "position": position,
                "values": [dict(v.attrib) for v in field.iterfind("value")],
                "extra_fields": extra,
            }


class ExportSecurityAuditStream(AdaptiveStream):
    """exportSecurityAudit: incremental on the event time; the API filters by dateTimeFrom/To.

    Adaptive keeps 30 days of audit trail and defaults to the last 24 h without a range (vendor doc), so
    the range always starts at the bookmark (or ``start_date``). Events carry no id: ``event_id`` hashes
    the event's attributes so reloads upsert instead of duplicating.
    """

    name = "export_security_audit"
    method = "exportSecurityAudit"
    shape = _flat("event", schemas.SECURITY_AUDIT)
    schema = shape.schema(th.PropertiesList(th.Property("event_id", th.StringType, required=True)))
    primary_keys = ("event_id",)
    replication_key = "date_time"
    is_sorted = False

    @override
    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        start = self.get_starting_timestamp(context)
        attrs = {"dateTimeTo": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")}
        if start is not None:
            attrs = {"dateTimeFrom": start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), **attrs}
        return element("include", attrs)

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        # extra_fields stays out of the hash: events loaded before it existed keep their ids.
        identity = "\x1f".join(f"{k}={row[k]}" for k in sorted(row) if k != "extra_fields")
        digest = hashlib.sha1(identity.encode(), usedforsecurity=False)
        row["event_id"] = digest.hexdigest()
        return row


#: Column the per-sheet methods add: the modeled sheet they were called for.
SHEET_ID = th.PropertiesList(th.Property("sheet_id", th.IntegerType, required=True))


class ExportSheetsStream(AdaptiveStream):
    """exportSheets: full table; its modeled sheets feed the three per-sheet methods."""

    name = "export_sheets"
    method = "exportSheets"
    shape = _flat("sheet", schemas.SHEETS)
    schema = shape.schema()
    primary_keys = ("id",)

    @override
    def generate_child_contexts(self, record: dict[str, t.Any], context: Context | None) -> t.Iterable[Context | None]:
        # exportSheetDefinition/exportModeledSheet/exportConfigurableModelData take modeled sheets only.
        if str(record.get("type", "")).lower() == "modeled":
            yield {"sheet_id": record["id"], "sheet_name": record["name"]}


class _SheetChild(AdaptiveStream):
    """Methods that take one modeled sheet: children of export_sheets (they fan out per sheet)."""

    parent_stream_type = ExportSheetsStream
    state_partitioning_keys: t.ClassVar[list[str]] = []

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        row.setdefault("sheet_id", (context or {}).get("sheet_id"))
        return row


class ExportSheetDefinitionStream(_SheetChild):
    """exportSheetDefinition per modeled sheet (``<modeled-sheet id>``); columns kept as JSON objects."""

    name = "export_sheet_definition"
    method = "exportSheetDefinition"
    shape = ElementShape({"modeled-sheet": None}, schemas.SHEET_DEFINITION, child_fields={"columns": "elements"})
    schema = shape.schema(SHEET_ID)
    primary_keys = ("id",)

    @override
    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        return element("modeled-sheet", {"id": (context or {})["sheet_id"]})


class ExportModeledSheetStream(_SheetChild):
    """exportModeledSheet per modeled sheet (``<exportModel sheetToExport>``; needs the MOD permission)."""

    name = "export_modeled_sheet"
    method = "exportModeledSheet"
    shape = ElementShape(
        {"model": None, "modeled-sheet": None}, schemas.MODELED_SHEET, child_fields={"columns": "elements"}
    )
    schema = shape.schema(SHEET_ID)
    primary_keys = ("sheet_id",)

    @override
    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        return element("exportModel", {"sheetToExport": (context or {})["sheet_name"]})


class JobPage(t.NamedTuple):
    """Where a page of exportConfigurableModelData sits: the server's job and the page within it."""

    job_number: str
    page_number: int


def job_page(response: requests.Response) -> tuple[JobPage, bool]:
    """The ``<job jobNumber pageNumber isLastPage>`` of a model-data response (adaptive.md §7)."""
    job = parse_document(response.content).find("output/job")
    if job is None:
        return JobPage("0", 0), True
    page = JobPage(job.get("jobNumber", "0"), int(job.get("pageNumber", "0")))
    return page, job.get("isLastPage", "true").lower() == "true"


class JobPaginator(BaseAPIPaginator[JobPage | None]):
    """Pages of exportConfigurableModelData, the one paged export: the next page of the server's job.

    A cycle of any length (0 → 1 → 0) would page forever; the SDK only catches a page repeating itself.
    """

    def __init__(self, stream_name: str) -> None:
        """Start at the first page of a new job (no token)."""
        super().__init__(None)
        self.stream_name = stream_name
        self.seen: set[JobPage] = set()

    @override
    def get_next(self, response: requests.Response) -> JobPage | None:
        page, last = job_page(response)
        if last:
            return None
        if page in self.seen:
            msg = (
                f"stream {self.stream_name}: the API answered page {page.page_number} of job {page.job_number} "
                "twice (pagination cycle); stopping instead of reading it again"
            )
            raise FatalAPIError(msg)
        self.seen.add(page)
        return JobPage(page.job_number, page.page_number + 1)


class ExportConfigurableModelDataStream(_SheetChild):
    """exportConfigurableModelData per modeled sheet, in the version set by ``model_data_version``.

    Columns differ per sheet, so a row is kept as a JSON object of column → text.
    """

    name = "export_configurable_model_data"
    method = "exportConfigurableModelData"
    primary_keys = ("sheet_id", "version", "page_number", "row_in_page")
    schema = schemas.CONFIGURABLE_MODEL_DATA.to_dict()

    @property
    def version_label(self) -> str:
        """The version named in records (the setting, or the default version)."""
        return str(self.config.get("model_data_version") or "(default version)")

    @override
    def get_new_paginator(self) -> JobPaginator:
        return JobPaginator(self.name)

    @override
    def call_children(self, context: Context | None, next_page_token: JobPage | None) -> str:
        name = self.config.get("model_data_version")
        version = element("version", {"name": name}) if name else element("version", {"isDefault": True})
        page = next_page_token or JobPage("0", 0)
        return (
            version
            + element("job", {"jobNumber": page.job_number, "pageNumber": page.page_number})
            + element(
                "modeled-sheet",
                {"name": (context or {})["sheet_name"], "includeAllColumns": True, "isGetAllRows": True},
            )
        )

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        root = self.parsed_root(response)
        job = root.find("output/job")
        page = int(job.get("pageNumber", "0")) if job is not None else 0
        data = root.find("output/data")
        text = (data.text or "") if data is not None else ""
        # Records end at "\n" only: quoted cells may hold newlines or U+2028 (splitlines() breaks on both).
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            return
        sheet = (self.context or {}).get("sheet_name")
        for index, row in enumerate(reader):
            if len(row) != len(header):
                msg = (
                    f"stream {self.name}: sheet {sheet!r}, version {self.version_label!r}, page {page}, row "
                    f"{index + 1} has {len(row)} cells for {len(header)} columns; refused (nothing of it loaded)"
                )
                raise FatalAPIError(msg)
            yield {
                "sheet_name": sheet,
                "version": self.version_label,
                "page_number": page,
                "row_in_page": index,
                "values": dict(zip(header, row, strict=True)),
                "extra_fields": None,  # every column is already kept in values
            }

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        row["sheet_id"] = (context or {}).get("sheet_id")
        row["sheet_name"] = (context or {}).get("sheet_name")
        return row


SIMPLE_STREAMS: list[type[AdaptiveStream]] = [_stream_class(export) for export in SIMPLE_EXPORTS]
