"""The 23 export methods GitLab's operators load (adaptive.md §2), declared as one table.

Every stream is FULL_TABLE (the API has no change tracking; §2: "100% sync for every refresh") except
export_security_audit (incremental on its timestamp, the API takes a date range) and export_data (one
call per not-yet-exported version, remembered per version in state: see :mod:`landing_tap_adaptive.export_data`).
Element and attribute names are from wdadaptivepy/vendor samples (§4-§6); where the notes mark a shape
as inferred, the README says so.
"""

from __future__ import annotations

import csv
import hashlib
import io
import typing as t
from datetime import UTC, datetime

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from landing_tap_adaptive.client import EXTRA_FIELDS_SCHEMA, AdaptiveStream
from landing_tap_adaptive.xmlapi import element

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


def _f(spec: str) -> dict[str, str]:
    """``"id:int name code:str"`` → {"id": "int", "name": "str", "code": "str"} (default kind str)."""
    result = {}
    for item in spec.split():
        name, _, kind = item.partition(":")
        result[name] = kind or "str"
    return result


ACCOUNT = _f(
    "id:int code name accountTypeCode description shortName timeStratum displayAs isAssumption:bool "
    "suppressZeroes:bool isDefaultRoot:bool decimalPrecision:int planBy exchangeRateType isImportable:bool "
    "balanceType dataEntryType timeRollup timeWeightAcctId:int hasSalaryDetail:bool dataPrivacy subType "
    "startExpanded:bool isBreakbackEligible:bool levelDimRollup rollupText enableActuals:bool isGroup:bool "
    "isIntercompany:bool formula isLinked:bool isSystem:bool owningSheetId:int"
)
LEVEL = _f(
    "id:int code name displayName currency publishCurrency shortName availableStart availableEnd "
    "isImportable:bool workflowStatus isElimination:bool isLinked:bool hasChildren:bool description"
)
VERSION = _f(
    "id:int name shortName type isVirtual:bool description isDefaultVersion:bool isLocked:bool "
    "hasAuditTrail:bool enabledForWorkflow:bool isImportable:bool startVer endVer startScroll "
    "completedValuesThru leftScroll startPlan endPlan lockLeading isPredictive:bool"
)
DIMENSION = _f(
    "id:int name code displayName shortName description displayNameType autoCreate:bool listDimension:bool "
    "keepSorted:bool useOnLevels:bool seqNo:int"
)
ATTRIBUTE = _f(
    "id:int name code displayName description type displayNameType autoCreate:bool keepSorted:bool "
    "dimensionId:int seqNo:int"
)
TIME = _f(
    "id:int code label shortName inUse:bool isDefault:bool stratumId:int start:date end:date timeslot:int "
    "encodedTimePeriod legacyReportTimeId legacySheetTimeId"
)
USER = _f(
    "id:int guid login email name position permissionSetIds:list groupIds:list alternateEmail samlFedId "
    "timeZone homepage country usState perspective perspectiveName dashboard dashboardName netsuiteLogin "
    "salesforceLogin createdDate:datetime lastLogin:datetime failedAttempts:int locked:bool"
)


class _Spec(t.NamedTuple):
    name: str
    method: str
    node_tags: dict[str, str | None]
    fields: dict[str, str]
    key: tuple[str, ...] = ("id",)
    hierarchy: bool = False
    has_attributes: bool = False
    root_key: str | None = None
    child_fields: dict[str, str] = {}
    request: str = ""


#: Parameterless exports: (stream, method, element tag(s), fields, key, tree?, attribute lists?, ...).
SIMPLE_EXPORTS: list[_Spec] = [
    _Spec(
        "export_accounts",
        "exportAccounts",
        {"account": None},
        ACCOUNT,
        hierarchy=True,
        has_attributes=True,
        request=element("include", {"attributes": True}),
    ),
    _Spec(
        "export_active_currencies",
        "exportActiveCurrencies",
        {"currency": None},
        _f("id:int code precision:int isReportingCurrency:bool userDefined:bool description"),
    ),
    _Spec(
        "export_attributes",
        "exportAttributes",
        {"attribute": "attribute", "attributeValue": "attribute_value"},
        ATTRIBUTE,
        key=("node_type", "id"),
        hierarchy=True,
        root_key="attribute_id",
    ),
    _Spec("export_customer_logo", "exportCustomerLogo", {"logo": None}, _f("url"), key=("url",)),
    _Spec(
        "export_dimension_families",
        "exportDimensionFamilies",
        {"family": None},
        _f("id:int name accounts:list dimensions:list"),
    ),
    _Spec(
        "export_dimensions",
        "exportDimensions",
        {"dimension": "dimension", "dimensionValue": "dimension_value"},
        DIMENSION,
        # A dimension value is addressed within its dimension (exportData's <dimensionValue dimName= code=>,
        # adaptive.md §4), so the dimension is part of its key.
        key=("node_type", "dimension_id", "id"),
        hierarchy=True,
        has_attributes=True,
        root_key="dimension_id",
        request=element("include", {"dimensionValues": True, "attributes": True}),
    ),
    _Spec(
        "export_dimension_mapping",
        "exportDimensionMapping",
        {"mapping": None},
        _f("id:int name dimensionId:int sourceValue targetValue"),
    ),
    _Spec("export_groups", "exportGroups", {"group": None}, _f("id:int name isGlobal:bool ownerId:int")),
    _Spec(
        "export_instances",
        "exportInstances",
        {"instance": None},
        _f(
            "code name sessionTimeout:int calendarType systemCurrency products:list options:list "
            "notificationType "
            "workdayTenantID workdayEnvironment workdayUiUrl workdayRestUrl datasources"
        ),
        key=("code",),
        request=element("include", {"accessibleInstances": True}),
    ),
    _Spec(
        "export_levels",
        "exportLevels",
        {"level": None},
        LEVEL,
        hierarchy=True,
        has_attributes=True,
        request=element("include", {"attributes": True}),
    ),
    _Spec("export_locales", "exportLocales", {"locale": None}, _f("code name isDefault:bool"), key=("code",)),
    _Spec("export_roles", "exportRoles", {"role": None}, _f("id:int name permissions:list")),
    _Spec(
        "export_permission_sets",
        "exportPermissionSets",
        {"permission_set": None, "permissionSet": None},
        _f("id:int name permissions:list"),
    ),
    _Spec(
        "export_time",
        "exportTime",
        {"stratum": "stratum", "period": "period"},
        TIME,
        key=("node_type", "id"),
        hierarchy=True,
        request=element("options", {"includeAllLocales": False, "includeLegacyInformation": False}),
    ),
    _Spec(
        "export_users",
        "exportUsers",
        {"user": None},
        USER,
        child_fields={"subscriptions": "object"},
        request=element("include", {"groups": True}),
    ),
]


def _stream_class(spec: _Spec, base: type[AdaptiveStream] = AdaptiveStream) -> type[AdaptiveStream]:
    """Build a stream class from one table row (no copy-pasted classes, STYLE.md)."""
    body = spec.request

    def call_children(self: AdaptiveStream, context: Context | None, next_page_token: t.Any) -> str:
        return body

    attrs: dict[str, t.Any] = {
        "name": spec.name,
        "method": spec.method,
        "node_tags": spec.node_tags,
        "fields": spec.fields,
        "primary_keys": spec.key,
        "hierarchy": spec.hierarchy,
        "has_attributes": spec.has_attributes,
        "root_key": spec.root_key,
        "child_fields": spec.child_fields,
        "__doc__": f"{spec.method}: full table, one record per element"
        + (", trees flattened with parent_id/depth/path." if spec.hierarchy else "."),
    }
    if body:
        attrs["call_children"] = call_children
    return type(f"{spec.name.title().replace('_', '')}Stream", (base,), attrs)


class ExportTransactionDefinitionStream(AdaptiveStream):
    """exportTransactionDefinition: one record per field of the instance's transaction definition."""

    name = "export_transaction_definition"
    method = "exportTransactionDefinition"
    primary_keys = ("field_type", "name")
    schema: t.ClassVar[dict[str, t.Any]] = {
        "type": "object",
        "properties": {
            "field_type": {"type": ["string"]},
            "name": {"type": ["string"]},
            "id": {"type": ["string", "null"]},
            "position": {"type": ["integer"]},
            "values": {"type": ["array", "null"], "items": {"type": "object"}},
            "extra_fields": EXTRA_FIELDS_SCHEMA,
        },
    }

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        root = self.parsed_root(response)
        for position, field in enumerate(root.iterfind("output/transaction/*")):
            if not isinstance(field.tag, str):
                continue
            extra = {k: v for k, v in field.attrib.items() if k not in {"name", "id"}} or None
            if extra:
                self.note_extra_fields(extra)
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
    node_tags: t.ClassVar[dict[str, str | None]] = {"event": None}
    fields: t.ClassVar[dict[str, str]] = _f("dateTime:datetime eventType actor ipAddress interface outcome details")
    primary_keys = ("event_id",)
    extra_properties: t.ClassVar[dict[str, t.Any]] = {"event_id": {"type": ["string"]}}
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


class _SheetChild(AdaptiveStream):
    """Methods that take one modeled sheet: children of export_sheets (they fan out per sheet)."""

    state_partitioning_keys: t.ClassVar[list[str]] = []
    extra_properties: t.ClassVar[dict[str, t.Any]] = {"sheet_id": {"type": ["integer"]}}

    @override
    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        row.setdefault("sheet_id", (context or {}).get("sheet_id"))
        return row


class ExportSheetsStream(AdaptiveStream):
    """exportSheets: full table; its modeled sheets feed the three per-sheet methods."""

    name = "export_sheets"
    method = "exportSheets"
    node_tags: t.ClassVar[dict[str, str | None]] = {"sheet": None}
    fields: t.ClassVar[dict[str, str]] = _f("id:int name type prefix description isGlobal:bool")
    primary_keys = ("id",)

    @override
    def generate_child_contexts(self, record: dict[str, t.Any], context: Context | None) -> t.Iterable[Context | None]:
        # exportSheetDefinition/exportModeledSheet/exportConfigurableModelData take modeled sheets only.
        if str(record.get("type", "")).lower() == "modeled":
            yield {"sheet_id": record["id"], "sheet_name": record["name"]}


class ExportSheetDefinitionStream(_SheetChild):
    """exportSheetDefinition per modeled sheet (``<modeled-sheet id>``); columns kept as JSON objects."""

    name = "export_sheet_definition"
    method = "exportSheetDefinition"
    parent_stream_type = ExportSheetsStream
    node_tags: t.ClassVar[dict[str, str | None]] = {"modeled-sheet": None}
    fields: t.ClassVar[dict[str, str]] = _f(
        "id:int prefix name description available-in-actuals:bool allow-splits:bool split-column-title strataId:int"
    )
    child_fields: t.ClassVar[dict[str, str]] = {"columns": "elements"}
    primary_keys = ("id",)

    @override
    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        return element("modeled-sheet", {"id": (context or {})["sheet_id"]})


class ExportModeledSheetStream(_SheetChild):
    """exportModeledSheet per modeled sheet (``<exportModel sheetToExport>``; needs the MOD permission)."""

    name = "export_modeled_sheet"
    method = "exportModeledSheet"
    parent_stream_type = ExportSheetsStream
    node_tags: t.ClassVar[dict[str, str | None]] = {"model": None, "modeled-sheet": None}
    fields: t.ClassVar[dict[str, str]] = _f("id:int name isGlobal:bool allowSplits:bool")
    child_fields: t.ClassVar[dict[str, str]] = {"columns": "elements"}
    primary_keys = ("sheet_id",)

    @override
    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        return element("exportModel", {"sheetToExport": (context or {})["sheet_name"]})


class _JobPaginator(BaseAPIPaginator[int]):
    """Pages of exportConfigurableModelData, the one paged export (``<job jobNumber pageNumber>``, §7)."""

    def __init__(self, stream: ExportConfigurableModelDataStream) -> None:
        super().__init__(0)
        self.stream = stream
        self.seen: set[tuple[str, int]] = set()

    @override
    def get_next(self, response: requests.Response) -> int | None:
        job = self.stream.last_job
        if job is None or job.get("isLastPage", "true").lower() == "true":
            return None
        self.stream.job_number = job.get("jobNumber", "0")
        page = int(job.get("pageNumber", "0"))
        # A cycle of any length (0 → 1 → 0) would page forever; the SDK only catches a page repeating itself.
        if (self.stream.job_number, page) in self.seen:
            msg = (
                f"stream {self.stream.name}: the API answered page {page} of job {self.stream.job_number} twice "
                "(pagination cycle); stopping instead of reading it again"
            )
            raise FatalAPIError(msg)
        self.seen.add((self.stream.job_number, page))
        return page + 1


class ExportConfigurableModelDataStream(_SheetChild):
    """exportConfigurableModelData per modeled sheet, in the version set by ``model_data_version``.

    Columns differ per sheet, so a row is kept as a JSON object of column → text.
    """

    name = "export_configurable_model_data"
    method = "exportConfigurableModelData"
    parent_stream_type = ExportSheetsStream
    primary_keys = ("sheet_id", "version", "page_number", "row_in_page")
    schema: t.ClassVar[dict[str, t.Any]] = {
        "type": "object",
        "properties": {
            "sheet_id": {"type": ["integer"]},
            "sheet_name": {"type": ["string"]},
            "version": {"type": ["string"]},
            "page_number": {"type": ["integer"]},
            "row_in_page": {"type": ["integer"]},
            "values": {"type": ["object"]},
            "extra_fields": EXTRA_FIELDS_SCHEMA,
        },
    }
    last_job: dict[str, str] | None = None
    job_number = "0"

    @property
    def version_label(self) -> str:
        """The version named in records (the setting, or the default version)."""
        return str(self.config.get("model_data_version") or "(default version)")

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[t.Any]:
        self.job_number = "0"
        return _JobPaginator(self)

    @override
    def call_children(self, context: Context | None, next_page_token: t.Any) -> str:
        name = self.config.get("model_data_version")
        version = element("version", {"name": name}) if name else element("version", {"isDefault": True})
        return (
            version
            + element(
                "job",
                {
                    "jobNumber": self.job_number if next_page_token else "0",
                    "pageNumber": next_page_token or 0,
                },
            )
            + element(
                "modeled-sheet",
                {"name": (context or {})["sheet_name"], "includeAllColumns": True, "isGetAllRows": True},
            )
        )

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        root = self.parsed_root(response)
        job = root.find("output/job")
        self.last_job = None if job is None else dict(job.attrib)
        page = int(self.last_job.get("pageNumber", "0")) if self.last_job else 0
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


SIMPLE_STREAMS: list[type[AdaptiveStream]] = [_stream_class(spec) for spec in SIMPLE_EXPORTS]
