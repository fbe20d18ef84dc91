"""Workday Adaptive Planning XML API emulator: ``POST /api/v{N}`` with ``<call method="exportX">`` bodies.

Reference: `../shared/sources/adaptive.md <../shared/sources/adaptive.md>`_ (the vendor notes; nothing here
comes from our tap). Contract from its §10: credentials in the body, every API-level failure is
HTTP 200 with ``<response success="false"><messages><message key=.. type="ERROR">``; the streamed
exportData form (``<call stream="true">``) answers ``<response><output><![CDATA[csv]]></output>
<status success="true" rowCountSent="N"/></response>``.

Options (``--option key=value``): ``login``/``password`` (accepted credentials), ``unsupported``
(methods the instance's licence lacks, answered with ``error-permission-denied``; default
exportDimensionMapping, which needs the sales-planning licence), ``data_accounts``, ``accounts``,
``levels``, ``months``, ``combos_per_cell`` (cube size). Data variance real instances show:
``multiline_text`` (names and modeled-sheet cells holding line breaks, LF and U+2028),
``duplicate_dimension_values`` (codes listed twice within their dimension, as Airbyte's public
``unit_tests/sample_data/dimension_output.xml`` lists dimension value id 2), ``ragged_rows``
(``version:row:delta,...``: exportData data row ``row`` of that version written with ``delta`` cells
too many or too few: -1 drops the fourth period's cell, as a writer skipping a blank does, +1 writes
the first value with an unquoted decimal comma, as a comma-decimal locale does).

Ground truth at any size: ``POST /_emulator/export_summary`` with an exportData ``<call>`` body answers
:meth:`AdaptiveEmulator.export_summary` (rows, cells, numeric sum, cell checksum) without holding the rows;
the cells themselves are generated per (version, account, level) on demand and streamed above 200k cells.

Test hooks: ``throttle_next`` (calls answered with the concurrency-limit message), ``row_count_skew``
(version name → delta added to ``rowCountSent``), :meth:`revoke` (an administrator removes the API
user's permission for a method between runs), :meth:`calls` (parsed request log), :meth:`export_rows`
(exportData ground truth).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

from emulators.adaptive.export import ApiError, ExportRequest, Row, cell_text, compute, csv_lines
from emulators.adaptive.model import Instance, Node, rng_factory
from emulators.core.server import ADMIN_PREFIX, HttpEmulator, json_response

__all__ = ["AdaptiveEmulator"]

DEFAULT_LOGIN = "emulator@example.com"
DEFAULT_PASSWORD = "emulator-password"  # noqa: S105 - the emulator's own fake credential
API_PATH = re.compile(r"^/api/v(\d+)$")
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
AUTH_FAILURE = ("error-authentication-failure", "Authentication failed")
THROTTLED = (
    "error-concurrent-request-limit",
    "Too many concurrent requests for this instance; try again later",
)
PERMISSION = "error-permission-denied"
#: Methods whose answer depends on nothing in the request.
STATIC_METHODS = frozenset(
    {
        "exportAccounts",
        "exportAttributes",
        "exportDimensions",
        "exportLevels",
        "exportTime",
        "exportVersions",
        "exportUsers",
        "exportGroups",
        "exportActiveCurrencies",
        "exportSheets",
        "exportTransactionDefinition",
    }
)


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())


def render(node: Node) -> str:
    """One element and its subtree, attribute lists as the nested ``<attributes>`` element (§4)."""
    inner = ""
    if node.attributes:
        inner += "<attributes>" + "".join(f"<attribute{_attrs(a)}/>" for a in node.attributes) + "</attributes>"
    inner += "".join(render(child) for child in node.children)
    return f"<{node.tag}{_attrs(node.attrs)}" + (f">{inner}</{node.tag}>" if inner else "/>")


def _flat(tag: str, rows: Iterable[dict[str, str]]) -> str:
    return "".join(f"<{tag}{_attrs(r)}/>" for r in rows)


def parse_call(body: str | bytes) -> ET.Element:
    """Parse a request body (stdlib ElementTree resolves no external entities; the clients are tests)."""
    return ET.fromstring(body)  # noqa: S314


def _quoted(text: str) -> str:
    """A CSV text cell: quoted, inner quotes doubled (RFC 4180), line breaks kept inside the quotes."""
    return '"' + text.replace('"', '""') + '"'


def _ragged(value: Any) -> dict[str, dict[int, int]]:
    """``"FY24 Plan:2:-1,FY23 Final:1:1"`` (or a list of such items) → {version: {data row: delta}}."""
    if not value:
        return {}
    items = value.split(",") if isinstance(value, str) else list(value)
    result: dict[str, dict[int, int]] = {}
    for item in items:
        version, row, delta = str(item).rsplit(":", 2)
        result.setdefault(version, {})[int(row)] = int(delta)
    return result


#: exportData answers up to this many cells go out as one body (faults that edit bodies apply); larger stream.
WHOLE_ANSWER_CELLS = 200_000
#: Characters per write of a streamed exportData answer.
STREAM_CHUNK = 1 << 20


class _Counted:
    """Rows passed through, counted (``rowCountSent`` is written after the streamed CSV)."""

    def __init__(self, rows: Iterator[Row]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        for row in self._rows:
            self.count += 1
            yield row


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class AdaptiveEmulator(HttpEmulator):
    """One Adaptive instance with seeded metadata and a data cube per version."""

    name: ClassVar[str] = "adaptive"

    def __init__(self, seed: int = 1, volume: int = 100, faults: Any = None, **options: Any) -> None:
        super().__init__(seed=seed, volume=volume, faults=faults, **options)
        self.login = str(options.get("login", DEFAULT_LOGIN))
        self.password = str(options.get("password", DEFAULT_PASSWORD))
        unsupported = options.get("unsupported", ["exportDimensionMapping"])
        self.unsupported = set(unsupported.split(",") if isinstance(unsupported, str) else unsupported)
        self.ragged_rows = _ragged(options.get("ragged_rows"))
        self.instance = Instance(rng_factory(self.name, seed), volume, options)
        self.throttle_next = int(options.get("throttle_next", 0))
        self.row_count_skew: dict[str, int] = {}
        self._cache: dict[str, str] = {}
        self.handlers: dict[str, Callable[[ET.Element], str]] = {
            "exportAccounts": lambda c: render(self.instance.accounts),
            "exportActiveCurrencies": lambda c: (
                f'<currencies seqNo="42">{_flat("currency", self.instance.currencies)}</currencies>'
            ),
            "exportAttributes": lambda c: render(self.instance.attributes),
            "exportConfigurableModelData": self._model_data,
            "exportCustomerLogo": lambda c: '<logo url="https://cdn.example.com/logos/acme.png"/>',
            "exportDimensionFamilies": lambda c: f"<families>{_flat('family', self.instance.families)}</families>",
            "exportDimensions": lambda c: render(self.instance.dimensions),
            "exportDimensionMapping": lambda c: "<mappings/>",
            "exportGroups": lambda c: f"<groups>{_flat('group', self.instance.groups)}</groups>",
            "exportInstances": self._instances,
            "exportLevels": lambda c: render(self.instance.levels),
            "exportLocales": lambda c: f"<locales>{_flat('locale', self.instance.locales)}</locales>",
            "exportModeledSheet": self._modeled_sheet,
            "exportRoles": lambda c: f"<roles>{_flat('role', self.instance.roles)}</roles>",
            "exportPermissionSets": lambda c: (
                f"<permission_sets>{_flat('permission_set', self.instance.permission_sets)}</permission_sets>"
            ),
            "exportSecurityAudit": self._security_audit,
            "exportSheetDefinition": self._sheet_definition,
            "exportSheets": lambda c: "<sheets>" + "".join(render(s) for s in self.instance.sheets) + "</sheets>",
            "exportTime": lambda c: render(self.instance.time),
            "exportTransactionDefinition": lambda c: (
                '<transaction><posting-date name="Posting Date"/><type name="Type">'
                '<value id="1" name="Invoice"/>'
                '<value id="2" name="Credit Memo"/></type><accounts name="Account"/><levels name="Level"/>'
                '<dimension id="6" name="Department"><value id="7" name="Engineering"/></dimension>'
                '<text name="Memo"/><number name="Quantity"/><date name="Due Date"/><amount name="Amount"/>'
                "</transaction>"
            ),
            "exportUsers": lambda c: (
                '<users seqNo="55">' + "".join(render(u) for u in self.instance.users) + "</users>"
            ),
            "exportVersions": lambda c: render(self.instance.versions),
        }

    # -- ground truth ------------------------------------------------------------------------------

    def truth(self, collection: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Return flattened metadata per method: attributes plus ``_tag``, ``_parent_id``, ``_depth``."""
        inst = self.instance
        trees = {
            "exportAccounts": inst.accounts,
            "exportAttributes": inst.attributes,
            "exportDimensions": inst.dimensions,
            "exportLevels": inst.levels,
            "exportTime": inst.time,
            "exportVersions": inst.versions,
        }
        result: dict[str, list[dict[str, Any]]] = {}
        for method, tree in trees.items():
            rows = []
            for node in tree.walk():
                if node is tree:
                    continue
                parent = node.parent if node.parent is not tree else None
                rows.append(
                    {
                        **node.attrs,
                        "_tag": node.tag,
                        "_depth": node.depth - 1,
                        "_parent_id": None if parent is None else parent.attrs.get("id", parent.attrs.get("code")),
                        "_attributes": node.attributes,
                    }
                )
            result[method] = rows
        result["exportActiveCurrencies"] = inst.currencies
        result["exportGroups"] = inst.groups
        result["exportInstances"] = inst.instances
        result["exportLocales"] = inst.locales
        result["exportRoles"] = inst.roles
        result["exportPermissionSets"] = inst.permission_sets
        result["exportUsers"] = [{**u.attrs, "_subscriptions": u.children[0].attrs} for u in inst.users]
        result["exportSheets"] = [s.attrs for s in inst.sheets]
        result["exportDimensionFamilies"] = inst.families
        result["exportSecurityAudit"] = inst.audit_events
        if collection:
            return {collection: result[collection]}
        return result

    def leaf_versions(self, folder: str) -> list[str]:
        """Names of the versions a folder holds at any depth, excluding folders and versions with children."""
        node = next(n for n in self.instance.versions.walk() if n.attrs.get("name") == folder)
        return [
            n.attrs["name"]
            for n in node.walk()
            if n is not node and n.attrs["type"] != "VERSION_FOLDER" and not n.children
        ]

    def export_rows(self, call_xml: str) -> tuple[list[str], list[Row]]:
        """Return what an exportData call (its XML body) answers, before rendering: the data ground truth."""
        periods, rows = compute(self.instance, ExportRequest.parse(parse_call(call_xml)))
        return periods, list(rows)

    def export_summary(self, call_xml: str) -> dict[str, Any]:
        """Ground truth of an exportData call at any size: rows, cells and a checksum, rows never held.

        ``cell_checksum`` is the SHA-256 of every cell as ``account code,level code,dimension codes...,period,
        value`` lines in answer order (value as the CSV writes it); ``value_sum`` adds the numeric cells.
        """
        export = ExportRequest.parse(parse_call(call_xml))
        periods, rows = compute(self.instance, export)
        digest = hashlib.sha256()
        row_count = cell_count = 0
        total = 0.0
        for row in rows:
            row_count += 1
            prefix = ",".join([row.account.attrs["code"], row.level.attrs["code"], *(c for c, _ in row.dims)])
            lines = []
            for period, value in zip(periods, row.values, strict=True):
                cell_count += 1
                if isinstance(value, float):
                    total += value
                lines.append(f"{prefix},{period},{cell_text(value, export)}\n")
            digest.update("".join(lines).encode())
        return {
            "rows": row_count,
            "cells": cell_count,
            "value_sum": round(total, 2),
            "cell_checksum": digest.hexdigest(),
        }

    def revoke(self, method: str) -> None:
        """An administrator takes the API user's permission for ``method`` away (it answered before)."""
        self.unsupported.add(method)
        self._cache.pop(method, None)

    def calls(self) -> list[ET.Element]:
        """Return every ``<call>`` the API received (parsed from the core request log; bad XML skipped)."""
        parsed = []
        for entry in list(self.requests):
            try:
                parsed.append(parse_call(entry["body"]))
            except ET.ParseError:
                continue
        return parsed

    # -- HTTP --------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """One endpoint per API version, like the vendor's ``/api/v{N}``; plus the exportData ground truth."""
        return [
            web.post("/api/{version}", self._api),
            web.get("/api/{version}", self._get),
            web.post(f"{ADMIN_PREFIX}export_summary", self._export_summary),
        ]

    async def _export_summary(self, request: web.Request) -> web.Response:
        """``POST /_emulator/export_summary`` with an exportData ``<call>``: :meth:`export_summary` as JSON."""
        body = (await request.read()).decode()
        try:
            summary = await asyncio.to_thread(self.export_summary, body)
        except (ET.ParseError, ApiError) as err:
            return json_response({"error": str(err)}, status=400)
        return json_response(summary)

    async def _get(self, _: web.Request) -> web.Response:
        return web.Response(status=405, text="Method Not Allowed: use POST with an XML <call> body")

    async def _api(self, request: web.Request) -> web.StreamResponse:
        match = API_PATH.match(request.path)
        if match is None or not 18 <= int(match.group(1)) <= 40:
            return web.Response(status=404, text=f"No API at {request.path}")
        body = await request.read()
        try:
            call = parse_call(body)
        except ET.ParseError:
            return self._failure("error-malformed-request", "The request is not well-formed XML")
        if call.tag != "call" or not call.get("method"):
            return self._failure("error-malformed-request", "Expected a <call method=...> element")
        creds = call.find("credentials")
        if creds is None or creds.get("login") != self.login or creds.get("password") != self.password:
            return self._failure(*AUTH_FAILURE)
        instance_code = creds.get("instanceCode")
        if instance_code and instance_code not in {i["code"] for i in self.instance.instances}:
            return self._failure("error-invalid-instance-code", f"Instance '{instance_code}' is not accessible")
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return self._failure(*THROTTLED)
        method = call.get("method", "")
        if method in self.unsupported:
            return self._failure(PERMISSION, f"You do not have permission to invoke {method}")
        try:
            if method == "exportData":
                return await self._export_data(request, call)
            handler = self.handlers.get(method)
            if handler is None:
                return self._failure("error-unknown-method", f"Unknown method '{method}'")
            output = self._cache.get(method) or handler(call)
            if method in STATIC_METHODS:
                self._cache[method] = output  # metadata never changes: render 50k-node trees once
        except ApiError as err:
            return self._failure(err.key, err.text)
        return self._xml(f'{XML_HEAD}<response success="true"><output>{output}</output></response>')

    @staticmethod
    def _xml(text: str) -> web.Response:
        return web.Response(body=text.encode("utf-8"), content_type="text/xml", charset="utf-8")

    def _failure(self, key: str, text: str) -> web.Response:
        return self._xml(
            f'{XML_HEAD}<response success="false"><messages><message key={quoteattr(key)} type="ERROR">'
            f"{escape(text)}</message></messages></response>"
        )

    async def _export_data(self, request: web.Request, call: ET.Element) -> web.StreamResponse:
        """The CSV streamed as it is generated (a 10M-cell answer never sits in memory).

        A small answer (under :data:`WHOLE_ANSWER_CELLS` cells) is sent as one body instead, so the body
        faults (truncate, invalid UTF-8) apply to it as to every other method.
        """
        export = ExportRequest.parse(call)
        periods, rows = compute(self.instance, export)  # ApiError before anything is sent
        ragged = self.ragged_rows.get(export.version or "", {})
        streamed = call.get("stream") == "true"
        skew = self.row_count_skew.get(export.version or "", 0)
        counted = _Counted(rows)
        lines = csv_lines(periods, counted, export, ragged)
        if self.instance.export_cells(export) <= WHOLE_ANSWER_CELLS:
            csv_text = "".join(lines)
            if not streamed:
                return self._xml(f'{XML_HEAD}<response success="true"><output>{_cdata(csv_text)}</output></response>')
            return self._xml(
                f"{XML_HEAD}<response><output>{_cdata(csv_text)}</output>"
                f'<status success="true" rowCountSent="{counted.count + skew}"/></response>'
            )
        response = web.StreamResponse(headers={"Content-Type": "text/xml; charset=utf-8"})
        await response.prepare(request)
        head = "<response><output>" if streamed else '<response success="true"><output>'
        await response.write(f"{XML_HEAD}{head}<![CDATA[".encode())
        chunk: list[str] = []
        size = 0
        for line in lines:
            chunk.append(line.replace("]]>", "]]]]><![CDATA[>"))
            size += len(line)
            if size >= STREAM_CHUNK:
                await response.write("".join(chunk).encode())
                chunk, size = [], 0
        tail = "]]></output>"
        tail += f'<status success="true" rowCountSent="{counted.count + skew}"/>' if streamed else ""
        await response.write(("".join(chunk) + tail + "</response>").encode())
        await response.write_eof()
        return response

    def _instances(self, call: ET.Element) -> str:
        include = call.find("include")
        rows = self.instance.instances
        if include is None or include.get("accessibleInstances") != "true":
            rows = rows[:1]
        return f"<instances>{_flat('instance', rows)}</instances>"

    def _sheet(self, call: ET.Element, tag: str, attr: str) -> Node:
        ref = call.find(tag)
        wanted = None if ref is None else ref.get(attr)
        for sheet in self.instance.sheets:
            if sheet.attrs[attr if attr != "sheetToExport" else "name"] == wanted:
                if sheet.attrs["type"] != "modeled":
                    raise ApiError("error-invalid-sheet", f"Sheet '{wanted}' is not a modeled sheet")
                return sheet
        raise ApiError("error-sheet-not-found", f"Sheet '{wanted}' not found")

    def _sheet_definition(self, call: ET.Element) -> str:
        sheet = self._sheet(call, "modeled-sheet", "id")
        columns = "".join(render(c) for c in self.instance.sheet_columns(sheet))
        attrs = {
            "id": sheet.attrs["id"],
            "prefix": sheet.attrs["prefix"],
            "name": sheet.attrs["name"],
            "description": sheet.attrs["description"],
            "available-in-actuals": "false",
            "allow-splits": "true",
            "split-column-title": "Split",
            "strataId": "1",
        }
        return f"<modeled-sheet{_attrs(attrs)}><columns>{columns}</columns></modeled-sheet>"

    def _modeled_sheet(self, call: ET.Element) -> str:
        sheet = self._sheet(call, "exportModel", "sheetToExport")
        columns = "".join(
            "<column"
            + _attrs({"name": c.attrs["name"], "type": c.tag, "required": c.attrs.get("required", "false")})
            + "/>"
            for c in self.instance.sheet_columns(sheet)
        )
        attrs = {
            "id": sheet.attrs["id"],
            "name": sheet.attrs["name"],
            "isGlobal": "false",
            "allowSplits": "1",
        }
        return f"<model{_attrs(attrs)}><columns>{columns}</columns></model>"

    def _model_data(self, call: ET.Element) -> str:
        """Paged CSV (``<job jobNumber pageNumber/>``, the only paged export, §7); 5 rows a page here."""
        sheet = self._sheet(call, "modeled-sheet", "name")
        version_el = call.find("version")
        version = (
            self.instance.default_version()
            if version_el is None or version_el.get("isDefault") == "true"
            else self.instance.version_by_name(version_el.get("name", ""))
        )
        if version is None or version.attrs["type"] == "VERSION_FOLDER":
            raise ApiError("error-version-not-found", "Version not found")
        rows = self.instance.model_rows(sheet, version.attrs["name"])
        job = call.find("job")
        page = int(job.get("pageNumber", "0")) if job is not None else 0
        chunk = rows[page * 5 : page * 5 + 5]
        header = "Level,Item,Department,Start Date,Amount"
        csv_text = "\n".join([header, *(",".join(_quoted(c) for c in r) for r in chunk)]) + "\n"
        last = (page + 1) * 5 >= len(rows)
        return (
            f'<job jobNumber="{1000 + int(sheet.attrs["id"])}" pageNumber="{page}" '
            f'isLastPage="{str(last).lower()}"/>'
            f"<data>{_cdata(csv_text)}</data>"
        )

    def _security_audit(self, call: ET.Element) -> str:
        include = call.find("include")
        start = None if include is None else include.get("dateTimeFrom")
        end = None if include is None else include.get("dateTimeTo")
        for stamp in (start, end):
            if stamp:
                try:
                    datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    raise ApiError("error-invalid-date", f"Invalid date '{stamp}'") from None
        rows = [
            e
            for e in self.instance.audit_events
            if (not start or e["dateTime"] >= start) and (not end or e["dateTime"] <= end)
        ]
        return f"<securityAudit>{_flat('event', rows)}</securityAudit>"
