"""exportData: filters, rules and the wide CSV, computed from the seeded cube.

Semantics emulated (``shared/sources/adaptive.md`` §4, §7, §10): version by name; account filter by code
with includeDescendants; level filter by name or code with isRollup/includeDescendants; timeSpan
start/end inclusive in a stratum (month ``MM/YYYY``, quarter ``Qn-YYYY``, year ``YYYY``); extra dimension
columns; rules includeZeroRows, includeRollupAccounts/Levels (v25+), markBlanks (``B``, and rows of
only blanks/zeroes are dropped, v24+), markInvalidValues (``I``), currency useCorporate/useLocal/override.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from emulators.adaptive.model import CURRENCY_RATES, INVALID, Instance, Node, combine


class ApiError(Exception):
    """An API-level failure: HTTP 200 with ``success="false"`` and one message."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__(text)
        self.key = key
        self.text = text


def _true(value: str | None, default: bool = False) -> bool:
    return default if value is None else value.strip().lower() in {"true", "1"}


@dataclass
class ExportRequest:
    """What one exportData call asks for."""

    version: str | None
    default_version: bool = False
    accounts: list[tuple[str, bool]] | None = None  # (code, includeDescendants)
    levels: list[tuple[str, bool, bool]] | None = None  # (name or code, isRollup, includeDescendants)
    start: str | None = None
    end: str | None = None
    stratum: str = "month"
    dimensions: list[str] = field(default_factory=list)
    include_codes: bool = False
    include_names: bool = True
    include_zero_rows: bool = True
    rollup_accounts: bool = False
    rollup_levels: bool = False
    mark_blanks: bool = False
    mark_invalid: bool = False
    currency: tuple[str, str | None] = ("corporate", None)

    @classmethod
    def parse(cls, call: ET.Element) -> ExportRequest:
        """Read the request elements in wdadaptivepy's order (adaptive.md §4)."""
        version = call.find("version")
        fmt = call.find("format")
        rules = call.find("rules")
        filters = call.find("filters")
        request = cls(
            version=None if version is None else version.get("name"),
            default_version=version is not None and _true(version.get("isDefault")),
        )
        if fmt is not None:
            request.include_codes = _true(fmt.get("includeCodes"))
            request.include_names = _true(fmt.get("includeNames"), default=True)
        if filters is not None:
            accounts = filters.find("accounts")
            if accounts is not None:
                request.accounts = [(a.get("code", ""), _true(a.get("includeDescendants"))) for a in accounts]
            levels = filters.find("levels")
            if levels is not None:
                request.levels = [
                    (
                        lv.get("name") or lv.get("code") or "",
                        _true(lv.get("isRollup")),
                        _true(lv.get("includeDescendants")),
                    )
                    for lv in levels
                ]
            span = filters.find("timeSpan")
            if span is not None:
                request.start, request.end = span.get("start"), span.get("end")
                request.stratum = span.get("stratum") or "month"
        dims = call.find("dimensions")
        if dims is not None:
            request.dimensions = [d.get("name", "") for d in dims]
        if rules is not None:
            request.include_zero_rows = _true(rules.get("includeZeroRows"), default=True)
            request.rollup_accounts = _true(rules.get("includeRollupAccounts"))
            request.rollup_levels = _true(rules.get("includeRollupLevels"))
            request.mark_blanks = _true(rules.get("markBlanks"))
            request.mark_invalid = _true(rules.get("markInvalidValues"))
            currency = rules.find("currency")
            if currency is not None:
                if currency.get("override"):
                    request.currency = ("override", currency.get("override"))
                elif _true(currency.get("useLocal")):
                    request.currency = ("local", None)
        return request


@dataclass
class Row:
    """One CSV row before rendering: what ground truth and the CSV writer share."""

    account: Node
    level: Node
    dims: list[tuple[str, str]]  # (code, name) per requested dimension
    values: list[Any]  # float | None (blank) | "I"


DIMENSIONS = {"Department": 0, "Region": 1}


def compute(instance: Instance, request: ExportRequest) -> tuple[list[str], Iterator[Row]]:
    """Period headers and rows of one exportData call, or ApiError like the vendor.

    Every check runs before this returns; the rows are a generator over cells generated on demand, so a
    10M-cell answer streams with memory flat in its size.
    """
    if request.default_version:
        version = instance.default_version()
    else:
        found = instance.version_by_name(request.version or "")
        if found is None:
            raise ApiError("error-version-not-found", f"Version '{request.version}' not found")
        version = found
    if version.attrs["type"] == "VERSION_FOLDER":
        raise ApiError("error-invalid-version", f"'{version.attrs['name']}' is a version folder, not a version")
    months = instance.version_months(version)
    periods, buckets = _periods(months, request)
    accounts = _accounts(instance, request)
    levels = _levels(instance, request)
    dim_index = []
    for name in request.dimensions:
        if name not in DIMENSIONS:
            raise ApiError("error-invalid-dimension", f"Dimension '{name}' not found")
        dim_index.append(DIMENSIONS[name])
    rate_for = _rates(request)
    rows = _rows(
        instance,
        request,
        version=version,
        accounts=accounts,
        levels=levels,
        dim_index=dim_index,
        buckets=buckets,
        rate_for=rate_for,
    )
    return periods, rows


def _rows(
    instance: Instance,
    request: ExportRequest,
    *,
    version: Node,
    accounts: list[Node],
    levels: list[tuple[Node, bool]],
    dim_index: list[int],
    buckets: list[list[int]],
    rate_for: Any,
) -> Iterator[Row]:
    dim_names = _dimension_names(instance)
    data_index = instance.data_account_index
    for account in accounts:
        leaf_accounts = [data_index[n.attrs["code"]] for n in account.leaves() if n.attrs["code"] in data_index]
        for level, rollup in levels:
            leaf_levels = level.leaves() if rollup else [level]
            data_levels = [n for n in leaf_levels if not n.children]
            groups: dict[tuple[str, ...], list[list[Any]]] = {}
            for account_number in leaf_accounts:
                for leaf in data_levels:
                    for combo, values in instance.cells(version, account_number, leaf):
                        key = tuple(combo[i] for i in dim_index)
                        groups.setdefault(key, []).append(values)
            if not groups:
                groups = {tuple("None" for _ in dim_index): []}
            rate = rate_for(level)
            for key in sorted(groups):
                series = groups[key]
                values = []
                for bucket in buckets:
                    cell = combine([v[i] for v in series for i in bucket])
                    if isinstance(cell, float) and rate != 1.0:
                        cell = round(cell * rate, 2)
                    values.append(cell)
                if _dropped(values, request):
                    continue
                dims = [(code, dim_names.get(code, "None")) for code in key]
                yield Row(account, level, dims, values)


def _periods(months: list[str], request: ExportRequest) -> tuple[list[str], list[list[int]]]:
    """Headers in the requested stratum and, per header, the month indexes it sums."""
    if request.stratum == "month":
        label = list(months)
    elif request.stratum == "qtr":
        label = [f"Q{(int(m[:2]) - 1) // 3 + 1}-{m[3:]}" for m in months]
    elif request.stratum == "year":
        label = [m[3:] for m in months]
    else:
        raise ApiError("error-invalid-stratum", f"Time stratum '{request.stratum}' not found")
    headers: list[str] = []
    buckets: list[list[int]] = []
    for i, name in enumerate(label):
        if not headers or headers[-1] != name:
            headers.append(name)
            buckets.append([])
        buckets[-1].append(i)
    if request.start or request.end:
        for code in (request.start, request.end):
            if code is not None and code not in headers:
                raise ApiError("error-invalid-time-span", f"Time period '{code}' is not in the version range")
        first = headers.index(request.start) if request.start else 0
        last = headers.index(request.end) if request.end else len(headers) - 1
        headers, buckets = headers[first : last + 1], buckets[first : last + 1]
    return headers, buckets


def _accounts(instance: Instance, request: ExportRequest) -> list[Node]:
    by_code = {n.attrs["code"]: n for n in instance.accounts.walk() if n.tag == "account" and n.attrs["code"]}
    if request.accounts is None:
        chosen = [n for n in instance.accounts.walk() if n.tag == "account" and n.attrs["code"]]
    else:
        chosen = []
        for code, descendants in request.accounts:
            node = by_code.get(code)
            if node is None:
                raise ApiError("error-account-not-found", f"Account '{code}' not found")
            chosen.extend(node.walk() if descendants else [node])
    return [n for n in chosen if request.rollup_accounts or not n.children]


def _levels(instance: Instance, request: ExportRequest) -> list[tuple[Node, bool]]:
    nodes = [n for n in instance.levels.walk() if n.tag == "level"]
    if request.levels is None:
        return [(n, True) for n in nodes if request.rollup_levels or not n.children]
    chosen: list[tuple[Node, bool]] = []
    for ref, rollup, descendants in request.levels:
        node = next((n for n in nodes if ref in (n.attrs["name"], n.attrs["code"])), None)
        if node is None:
            raise ApiError("error-level-not-found", f"Level '{ref}' not found")
        for member in node.walk() if descendants else [node]:
            if member.children and not request.rollup_levels and member is not node:
                continue
            chosen.append((member, rollup or not member.children))
    return chosen


def _dimension_names(instance: Instance) -> dict[str, str]:
    return {n.attrs["code"]: n.attrs["name"] for n in instance.dimensions.walk() if n.tag == "dimensionValue"}


def _rates(request: ExportRequest) -> Any:
    kind, code = request.currency
    if kind == "override":
        if code not in CURRENCY_RATES:
            raise ApiError("error-invalid-currency", f"Currency '{code}' is not active")
        rate = CURRENCY_RATES[code or "USD"]
        return lambda _level: rate
    if kind == "local":
        return lambda level: CURRENCY_RATES[level.attrs["currency"]]
    return lambda _level: 1.0


def _dropped(values: list[Any], request: ExportRequest) -> bool:
    meaningful = [v for v in values if v is not None and v != 0.0]
    if request.mark_blanks and not meaningful:
        return True  # v24: markBlanks drops rows of only blanks or blanks + zeroes
    return not request.include_zero_rows and not meaningful


def cell_text(value: Any, request: ExportRequest) -> str:
    """One value as the CSV writes it."""
    if value is None:
        return "B" if request.mark_blanks else "0"
    if value == INVALID:
        return "I" if request.mark_invalid else "0"
    return repr(float(value))


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def render_csv(
    periods: list[str], rows: Iterable[Row], request: ExportRequest, ragged: dict[int, int] | None = None
) -> str:
    """Render the whole wide CSV (small answers, ground truth); :func:`csv_lines` is the streamed form."""
    return "".join(csv_lines(periods, rows, request, ragged))


def csv_lines(
    periods: list[str], rows: Iterable[Row], request: ExportRequest, ragged: dict[int, int] | None = None
) -> Iterator[str]:
    """The wide CSV as the vendor writes it, line by line: text quoted, numbers bare, LF line ends (§4).

    ``ragged`` maps a 1-based data row to a cell-count defect (see the module's ``ragged_rows`` option).
    """
    header = ["Account Name", "Account Code"]
    header += ["Level Code", "Level Name"] if request.include_codes else ["Level Name"]
    for name in request.dimensions:
        header += (
            [_quoted(f"{name} Code"), _quoted(f"{name} Name")] if request.include_codes else [_quoted(f"{name} Name")]
        )
    yield ",".join(header + periods) + "\n"
    for number, row in enumerate(rows, start=1):
        cells = [_quoted(row.account.attrs["name"]), _quoted(row.account.attrs["code"])]
        if request.include_codes:
            cells.append(_quoted(row.level.attrs["code"]))
        cells.append(_quoted(row.level.attrs["name"]))
        for code, name in row.dims:
            cells += [_quoted(code), _quoted(name)] if request.include_codes else [_quoted(name)]
        values = [cell_text(v, request) for v in row.values]
        delta = (ragged or {}).get(number, 0)
        if delta < 0:
            del values[min(3, len(values) - 1)]  # a skipped cell: every later period shifts left
        elif delta > 0:
            values[0] = values[0].replace(".", ",", 1) if "." in values[0] else values[0] + ",0"
        cells += values
        yield ",".join(cells) + "\n"
