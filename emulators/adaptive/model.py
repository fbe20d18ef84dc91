"""Seeded Adaptive Planning instance: the metadata trees and the data cube behind exportData.

Shapes follow ``shared/sources/adaptive.md`` §4-§5 (wdadaptivepy test fixtures mirror the vendor docs):
nested ``<account>``/``<level>``/``<version>``/``<dimensionValue>``/``<attributeValue>``/``<period>``
trees, mixed boolean encodings ("1"/"0" on accounts, "true"/"false" on versions' isLocked...),
empty-string attributes on group nodes, "YYYY-MM-DD HH:MM:SS.0" user timestamps, month codes
``MM/YYYY``. Everything derives from ``random.Random`` streams seeded by the emulator seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

#: Codes the operators' allow-list used (§8): realistic, dotted "Sheet.Account" codes included.
WELL_KNOWN_CODES = [
    "RPO",
    "cRPO",
    "Revenue",
    "Bookings_Model_New.Plan_Contraction_and_Churn",
    "new_logos",
    "Bookings_Model_New.BM_Exit_ARR",
    "Bookings_Model_New.BM_Net_ARR_Bookings",
    "Headcount",
    "Current_Billings",
    "Total_Calc_Billings",
    "4000",
    "5100",
    "6200",
    "Bookings_Model_New.5K_Customer_Number",
]
WORDS = [
    "Sales",
    "Marketing",
    "R&D",
    "G&A",
    "Hosting",
    "Travel",
    "Software",
    "Payroll",
    "Bonus",
    "Commission",
    "Contractors",
    "Rent",
    "Utilities",
    "Recruiting",
    "Training",
    "Legal",
    "Audit",
    "Insurance",
    "Depreciation",
    "Interest",
    "Tax",
    "Equipment",
    "Events",
    "Advertising",
    "Support",
    "Licenses",
    "Cloud",
    "Benefits",
]
CURRENCY_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.3}
BLANK = None
INVALID = "I"


@dataclass
class Node:
    """One element of a nested metadata tree: its attributes and its children."""

    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)  # <attributes><attribute .../>
    parent: Node | None = field(default=None, repr=False)

    def add(self, child: Node) -> Node:
        """Attach a child and return it."""
        child.parent = self
        self.children.append(child)
        return child

    def walk(self) -> Iterator[Node]:
        """Pre-order, the order the API nests elements in."""
        yield self
        for child in self.children:
            yield from child.walk()

    def leaves(self) -> list[Node]:
        """Nodes without children under (and including) this one."""
        return [n for n in self.walk() if not n.children]

    @property
    def depth(self) -> int:
        """Distance from the container element."""
        return 0 if self.parent is None else self.parent.depth + 1


def _b10(value: bool) -> str:
    return "1" if value else "0"


def _btf(value: bool) -> str:
    return "true" if value else "false"


class Instance:
    """All metadata of one instance plus the cube; built once per emulator."""

    def __init__(self, rng_for: Any, volume: int, options: dict[str, Any]) -> None:
        self.rng_for = rng_for
        self.volume = volume
        self.data_account_count = int(options.get("data_accounts", 12))
        self.account_count = int(options.get("accounts", max(volume, self.data_account_count + 12)))
        self.level_count = int(options.get("levels", max(8, volume // 10)))
        self.combos_per_cell = int(options.get("combos_per_cell", 2))
        self.months = int(options.get("months", 12))
        #: Free text as finance teams type it: names and sheet cells with line breaks (LF and U+2028).
        self.multiline_text = _flag(options.get("multiline_text"))
        #: Dimension value codes the instance lists twice within their dimension (hand-kept trees).
        self.duplicate_dimension_values = _names(options.get("duplicate_dimension_values"))
        self.start_year = 2024
        self.currencies = self._currencies()
        self.time = self._time()
        self.month_codes = [f"{m:02d}/{y}" for y in range(2023, 2027) for m in range(1, 13)]
        self.accounts = self._accounts()
        self.levels = self._levels()
        self.dimensions = self._dimensions()
        self.attributes = self._attributes()
        self.versions = self._versions()
        self.groups = self._groups()
        self.permission_sets = self._permission_sets()
        self.roles = self._roles()
        self.users = self._users()
        self.sheets = self._sheets()
        self.instances = self._instances()
        self.locales = [
            {"code": "en_US", "name": "English (United States)", "isDefault": "1"},
            {"code": "fr_FR", "name": "Français (France)", "isDefault": "0"},
            {"code": "ja_JP", "name": "日本語 (日本)", "isDefault": "0"},
        ]
        self.families = self._families()
        self.audit_events = self._audit_events()
        self.data_account_index = {n.attrs["code"]: i for i, n in enumerate(self.data_accounts)}

    # -- metadata trees --------------------------------------------------------------------------

    def _currencies(self) -> list[dict[str, str]]:
        names = {
            "USD": "United States of America, Dollars",
            "EUR": "Euro Member Countries, Euro",
            "GBP": "United Kingdom, Pounds",
            "JPY": "Japan, Yen",
        }
        return [
            {
                "id": str(i),
                "code": code,
                "precision": "0" if code == "JPY" else "2",
                "isReportingCurrency": _b10(code == "USD"),
                "userDefined": "0",
                "description": names[code],
            }
            for i, code in enumerate(CURRENCY_RATES, start=1)
        ]

    def _accounts(self) -> Node:
        rng = self.rng_for("accounts")
        root = Node("accounts", {"seqNo": "1"})
        groups = []
        for gid, name in enumerate(["Income Statement", "Balance Sheet", "Metrics & Drivers"], start=1):
            groups.append(root.add(Node("account", self._account_attrs(gid, "", name, group=True))))
        next_id = 100
        used: set[str] = set()
        # Data accounts first (leaves under the metrics/income groups), so the cube is stable.
        self.data_accounts: list[Node] = []
        for i in range(self.data_account_count):
            code = WELL_KNOWN_CODES[i] if i < len(WELL_KNOWN_CODES) else f"Data_{i:04d}"
            used.add(code)
            parent = groups[2] if i % 2 else groups[0]
            name = code.replace("_", " ")
            if self.multiline_text and i % 4 == 1:
                name = f"{name}\n(restated)" if i % 8 == 1 else f"{name}\u2028(restated)"
            node = parent.add(Node("account", self._account_attrs(next_id, code, name)))
            self.data_accounts.append(node)
            next_id += 1
        candidates = list(groups)
        while next_id - 100 < self.account_count:
            parent = candidates[rng.randrange(len(candidates))]
            word = rng.choice(WORDS)
            code = f"{rng.randint(1000, 9999)}" if rng.random() < 0.5 else f"{word.replace('&', '')}_{next_id}"
            if code in used:
                code = f"{code}_{next_id}"
            used.add(code)
            name = f"{word} {next_id}" if rng.random() < 0.9 else f'{word}, "special" {next_id}'
            node = parent.add(Node("account", self._account_attrs(next_id, code, name)))
            if rng.random() < 0.3:
                node.attributes.append(
                    {
                        "attributeId": "13",
                        "name": "AP Eligible",
                        "valueId": rng.choice(["117", "118"]),
                        "value": rng.choice(["Yes", "No"]),
                    }
                )
            if node.depth < 9:
                candidates.append(node)
            next_id += 1
        for node in root.walk():
            if node.tag == "account" and node.children:
                node.attrs["isGroup"] = "1"
        return root

    def _account_attrs(self, aid: int, code: str, name: str, group: bool = False) -> dict[str, str]:
        return {
            "id": str(aid),
            "code": code,
            "name": name,
            "description": "" if group else f"{name} account",
            "shortName": "",
            "timeStratum": "" if group else "month",
            "displayAs": "CASH",
            "accountTypeCode": "" if group else "GL",
            "decimalPrecision": "2",
            "isAssumption": "0",
            "suppressZeroes": "1",
            "isDefaultRoot": _b10(group),
            "exchangeRateType": "A",
            "balanceType": "DEBIT",
            "dataEntryType": "STANDARD",
            "timeRollup": "SUM",
            "isGroup": _b10(group),
            "isIntercompany": "0",
            "isLinked": "0",
            "isSystem": "0",
            "isImportable": _b10(not group),
        }

    def _levels(self) -> Node:
        rng = self.rng_for("levels")
        root = Node("levels", {"seqNo": "0", "displayNameType": "NAME"})
        top = root.add(Node("level", self._level_attrs(1, "Total Company", "Total Company", "USD")))
        subs = [
            top.add(Node("level", self._level_attrs(2, "BC-US", "Company A (100% owned)", "USD"))),
            top.add(Node("level", self._level_attrs(3, "BC-EU", "Company B Europe", "EUR"))),
            top.add(Node("level", self._level_attrs(4, "BC-UK", "Company C UK", "GBP"))),
        ]
        for lid in range(5, self.level_count + 1):
            parent = subs[(lid - 5) % len(subs)]
            if parent.children and rng.random() < 0.25:
                parent = rng.choice(parent.children)
            cur = parent.attrs["currency"]
            word = rng.choice(WORDS)
            node = parent.add(Node("level", self._level_attrs(lid, f"L{lid:03d}", f"{word} {lid}", cur)))
            if rng.random() < 0.3:
                node.attributes.append(
                    {
                        "attributeId": "21",
                        "name": "Color",
                        "valueId": "30",
                        "value": rng.choice(["blue", "red"]),
                    }
                )
        for node in root.walk():
            if node.tag == "level":
                node.attrs["hasChildren"] = _btf(bool(node.children))
        self.leaf_levels = [n for n in root.walk() if n.tag == "level" and not n.children]
        return root

    @staticmethod
    def _level_attrs(lid: int, code: str, name: str, currency: str) -> dict[str, str]:
        return {
            "id": str(lid),
            "code": code,
            "name": name,
            "displayName": name,
            "currency": currency,
            "publishCurrency": currency,
            "shortName": "",
            "availableStart": "01/2023",
            "availableEnd": "",
            "isImportable": "1",
            "workflowStatus": "I",
            "isElimination": "0",
            "isLinked": "0",
            "description": "",
        }

    def _dimensions(self) -> Node:
        root = Node("dimensions", {"seqNo": "35"})
        dept = root.add(
            Node(
                "dimension",
                {
                    "id": "6",
                    "name": "Department",
                    "code": "DEPT",
                    "shortName": "",
                    "autoCreate": "0",
                    "listDimension": "0",
                    "keepSorted": "0",
                    "useOnLevels": "1",
                    "seqNo": "1",
                    "description": "",
                },
            )
        )
        for i, (code, name) in enumerate(
            [("ENG", "Engineering"), ("SAL", "Sales"), ("MKT", "Marketing"), ("GA", "G&A")], start=7
        ):
            dept.add(
                Node(
                    "dimensionValue",
                    {
                        "id": str(i),
                        "code": code,
                        "name": name,
                        "displayName": name,
                        "shortName": "",
                        "description": f"{name} department",
                    },
                )
            )
        geo = root.add(
            Node(
                "dimension",
                {
                    "id": "16",
                    "name": "Region",
                    "code": "REG",
                    "shortName": "",
                    "autoCreate": "1",
                    "listDimension": "0",
                    "keepSorted": "1",
                    "useOnLevels": "0",
                    "seqNo": "2",
                    "description": "Geography",
                },
            )
        )
        amer = geo.add(
            Node(
                "dimensionValue",
                {
                    "id": "521",
                    "code": "AMER",
                    "name": "Americas",
                    "displayName": "Americas",
                    "shortName": "",
                    "description": "",
                },
            )
        )
        emea = geo.add(
            Node(
                "dimensionValue",
                {
                    "id": "522",
                    "code": "EMEA",
                    "name": "EMEA",
                    "displayName": "EMEA",
                    "shortName": "",
                    "description": "",
                },
            )
        )
        for vid, code, name, parent in [
            (555, "US", "United States", amer),
            (556, "CA", "Canada", amer),
            (557, "DE", "Germany", emea),
            (558, "FR", "France", emea),
        ]:
            child = parent.add(
                Node(
                    "dimensionValue",
                    {
                        "id": str(vid),
                        "code": code,
                        "name": name,
                        "displayName": name,
                        "shortName": "",
                        "description": "",
                    },
                )
            )
            child.attributes.append(
                {
                    "attributeId": "40",
                    "name": "Sales Zone",
                    "valueId": str(vid + 100),
                    "value": "North" if vid % 2 else "South",
                }
            )
        for dimension in root.children:
            for value in [n for n in dimension.walk() if n.attrs.get("code") in self.duplicate_dimension_values]:
                # Listed a second time, at the top of its dimension: same id, code and name.
                dimension.add(Node(value.tag, dict(value.attrs), attributes=list(value.attributes)))
        return root

    def _attributes(self) -> Node:
        root = Node("attributes", {"seqNo": "21"})
        ap = root.add(
            Node(
                "attribute",
                {
                    "id": "13",
                    "name": "AP Eligible",
                    "type": "account",
                    "displayNameType": "NAME",
                    "autoCreate": "0",
                    "keepSorted": "1",
                    "dimensionId": "",
                },
            )
        )
        ap.add(
            Node(
                "attributeValue",
                {"id": "118", "code": "N", "name": "No", "displayName": "No", "description": ""},
            )
        )
        yes = ap.add(
            Node(
                "attributeValue",
                {"id": "117", "code": "Y", "name": "Yes", "displayName": "Yes", "description": ""},
            )
        )
        yes.add(
            Node(
                "attributeValue",
                {"id": "136", "code": "YF", "name": "Full", "displayName": "Full", "description": ""},
            )
        )
        yes.add(
            Node(
                "attributeValue",
                {"id": "135", "code": "YP", "name": "Partial", "displayName": "Partial", "description": ""},
            )
        )
        color = root.add(
            Node(
                "attribute",
                {
                    "id": "21",
                    "name": "Color",
                    "type": "level",
                    "displayNameType": "NAME",
                    "autoCreate": "1",
                    "keepSorted": "0",
                    "dimensionId": "",
                },
            )
        )
        color.add(
            Node(
                "attributeValue",
                {"id": "30", "code": "blue", "name": "blue", "displayName": "Blue", "description": ""},
            )
        )
        zone = root.add(
            Node(
                "attribute",
                {
                    "id": "40",
                    "name": "Sales Zone",
                    "type": "dimension",
                    "displayNameType": "NAME",
                    "autoCreate": "0",
                    "keepSorted": "0",
                    "dimensionId": "16",
                },
            )
        )
        zone.add(
            Node(
                "attributeValue",
                {"id": "655", "code": "N", "name": "North", "displayName": "North", "description": ""},
            )
        )
        return root

    def _time(self) -> Node:
        root = Node("time", {"isCustom": "0", "seqNo": "24"})
        year = root.add(
            Node(
                "stratum",
                {
                    "code": "year",
                    "label": "Year",
                    "shortName": "Yr",
                    "id": "3",
                    "inUse": "1",
                    "isDefault": "0",
                },
            )
        )
        qtr = year.add(
            Node(
                "stratum",
                {
                    "code": "qtr",
                    "label": "Quarter",
                    "shortName": "Qtr",
                    "id": "2",
                    "inUse": "1",
                    "isDefault": "0",
                },
            )
        )
        qtr.add(
            Node(
                "stratum",
                {
                    "code": "month",
                    "label": "Month",
                    "shortName": "Mon",
                    "id": "1",
                    "inUse": "1",
                    "isDefault": "1",
                },
            )
        )
        for y in range(2023, 2027):
            fy = root.add(
                Node(
                    "period",
                    {
                        "code": str(y),
                        "label": f"FY{y}",
                        "shortName": f"FY{y}",
                        "stratumId": "3",
                        "id": f"{y}003",
                        "start": f"{y}-01-01",
                        "end": f"{y + 1}-01-01",
                    },
                )
            )
            for q in range(1, 5):
                qp = fy.add(
                    Node(
                        "period",
                        {
                            "code": f"Q{q}-{y}",
                            "label": f"Q{q}-FY{y % 100}",
                            "shortName": f"Q{q}-{y % 100}",
                            "stratumId": "2",
                            "id": f"{y}{q}002",
                            "start": f"{y}-{3 * q - 2:02d}-01",
                            "end": f"{y + (q == 4)}-{(3 * q) % 12 + 1:02d}-01",
                        },
                    )
                )
                for m in range(3 * q - 2, 3 * q + 1):
                    nxt = f"{y + (m == 12)}-{m % 12 + 1:02d}-01"
                    qp.add(
                        Node(
                            "period",
                            {
                                "code": f"{m:02d}/{y}",
                                "label": f"{_MONTHS[m - 1]}-{y}",
                                "shortName": f"{_MONTHS[m - 1]}-{y}",
                                "stratumId": "1",
                                "id": f"{y}{m:02d}001",
                                "start": f"{y}-{m:02d}-01",
                                "end": nxt,
                            },
                        )
                    )
        return root

    def _versions(self) -> Node:
        """Versions, sub-versions and folders; "Shared with Data" holds what finance finalised (§8)."""
        root = Node("versions", {"seqNo": "32"})
        ids = iter(range(1, 1000))

        def version(parent: Node, name: str, vtype: str, start: int = 1, **extra: str) -> Node:
            attrs = {
                "id": str(next(ids)),
                "name": name,
                "shortName": "",
                "type": vtype,
                "isVirtual": "false",
                "description": "",
                "isDefaultVersion": "false",
                "isLocked": _btf(vtype != "PLANNING"),
                "hasAuditTrail": "false",
                "enabledForWorkflow": "0",
                "isImportable": _b10(vtype != "VERSION_FOLDER"),
                "isPredictive": "false",
                "startVer": str(self.start_year),
                "endVer": str(self.start_year + 1),
                "completedValuesThru": "",
                "startPlan": f"{start:02d}/{self.start_year}",
                "lockLeading": "",
            }
            attrs.update(extra)
            return parent.add(Node("version", attrs))

        actuals = version(root, "Actuals", "ACTUALS", completedValuesThru=f"12/{self.start_year}")
        adjusted = version(actuals, "Adjusted Actuals", "ACTUALS")
        version(adjusted, "Original Import", "ACTUALS")
        version(root, "Budget 2024", "PLANNING", isDefaultVersion="true")
        shared = version(root, "Shared with Data", "VERSION_FOLDER")
        version(shared, "FY24 Plan", "PLANNING")
        forecast = version(shared, "FY24 Forecast Q2", "PLANNING", start=4)
        version(forecast, "FY24 Forecast Q2 - Upside", "SCENARIO", start=4)
        archive = version(shared, "Archive", "VERSION_FOLDER")
        version(archive, "FY23 Final", "PLANNING")
        version(archive, "Empty Drafts", "VERSION_FOLDER")
        drafts = version(root, "Working Drafts", "VERSION_FOLDER")
        version(drafts, "FY25 Draft (confidential)", "PLANNING")
        version(root, "Empty Folder", "VERSION_FOLDER")
        return root

    def _groups(self) -> list[dict[str, str]]:
        groups = [{"id": "1", "name": "Corporate and Operations", "isGlobal": "true", "ownerId": ""}]
        groups += [
            {
                "id": str(i),
                "name": f"Group {WORDS[i % len(WORDS)]} {i}",
                "isGlobal": _btf(i % 3 == 0),
                "ownerId": "" if i % 3 == 0 else "19",
            }
            for i in range(2, 2 + max(3, self.volume // 20))
        ]
        return groups

    def _permission_sets(self) -> list[dict[str, str]]:
        return [
            {"id": "1", "name": "Standard", "permissions": "SHT,RPT,SCOREBOARD"},
            {"id": "2", "name": "Administrative", "permissions": "SHT,RPT,SCOREBOARD,SAL,MOD,IMP,EXP"},
            {"id": "3", "name": "Analyst", "permissions": "SHT,RPT,EXP"},
        ]

    def _roles(self) -> list[dict[str, str]]:
        return [
            {"id": "1", "name": "Administrator", "permissions": "ADMIN,MOD,IMP,EXP"},
            {"id": "2", "name": "Planner", "permissions": "SHT,RPT"},
        ]

    def _users(self) -> list[Node]:
        rng = self.rng_for("users")
        users = []
        for uid in range(19, 19 + max(5, self.volume // 4)):
            created = datetime(2021, 1, 1) + timedelta(seconds=rng.randrange(3 * 365 * 86400))
            last = created + timedelta(seconds=rng.randrange(365 * 86400))
            groups = sorted(rng.sample([g["id"] for g in self.groups], k=min(2, len(self.groups))), key=int)
            node = Node(
                "user",
                {
                    "id": str(uid),
                    "guid": f"{rng.getrandbits(64):016X}",
                    "login": f"user{uid}@example.com",
                    "email": f"user{uid}@example.com" if uid % 5 else "",
                    "name": f"User {uid}",
                    "position": rng.choice(["Analyst", "Director FP&A", "Implementer"]),
                    "permissionSetIds": ",".join(sorted(rng.sample(["1", "2", "3"], k=rng.randint(1, 2)))),
                    "groupIds": ",".join(groups),
                    "timeZone": rng.choice(["US/Pacific", "Europe/Paris", "UTC"]),
                    "homepage": "Welcome",
                    "createdDate": created.strftime("%Y-%m-%d %H:%M:%S.0"),
                    "lastLogin": last.strftime("%Y-%m-%d %H:%M:%S.0") if uid % 7 else "",
                    "failedAttempts": str(rng.randint(0, 3)),
                    "locked": _btf(uid % 11 == 0),
                },
            )
            node.add(
                Node(
                    "subscriptions",
                    {
                        "nosubscriptions": "0",
                        "customerNewsLetter": _b10(uid % 2 == 0),
                        "systemAlertsAndUpdates": "1",
                        "userGroups": "0",
                    },
                )
            )
            users.append(node)
        return users

    def _sheets(self) -> list[Node]:
        sheets = []
        for sid, name, stype in [
            (1, "Capital Model", "modeled"),
            (2, "Compensation", "modeled"),
            (3, "Revenue Cube", "cube"),
            (4, "Travel Plan", "standard"),
        ]:
            sheet = Node(
                "sheet",
                {
                    "id": str(sid),
                    "name": name,
                    "type": stype,
                    "prefix": name[:3].upper(),
                    "description": f"{name} sheet",
                    "isGlobal": "false",
                },
            )
            sheets.append(sheet)
        return sheets

    def sheet_columns(self, sheet: Node) -> list[Node]:
        """Return the columns of a modeled sheet (exportSheetDefinition uses kebab-case attributes, §6)."""
        sid = sheet.attrs["id"]
        dim = Node("dimension", {"id": "6", "name": "Department", "required": "false"})
        dim.add(Node("value", {"id": "7", "name": "Engineering"}))
        dim.add(Node("value", {"id": "8", "name": "Sales"}))
        return [
            Node(
                "levels",
                {
                    "code": "levels",
                    "name": "Level",
                    "read-only": "false",
                    "splittable": "true",
                    "required": "true",
                },
            ),
            Node("text", {"code": f"item{sid}", "name": "Item", "read-only": "false", "required": "true"}),
            dim,
            Node("date", {"code": "start", "name": "Start Date", "read-only": "false", "required": "false"}),
            Node("number", {"code": "amount", "name": "Amount", "read-only": "false", "required": "false"}),
        ]

    def model_rows(self, sheet: Node, version: str) -> list[list[str]]:
        """Rows of exportConfigurableModelData for one sheet and version."""
        rng = self.rng_for(f"model:{sheet.attrs['id']}:{version}")
        rows = []
        for i in range(rng.randint(3, 9)):
            level = self.leaf_levels[i % len(self.leaf_levels)].attrs["name"]
            item = f"Item {i + 1}"
            if self.multiline_text and i % 3 == 1:
                item += '\nsecond line, "quoted"' if i % 2 else "\u2028continued"
            rows.append(
                [
                    level,
                    item,
                    rng.choice(["Engineering", "Sales"]),
                    f"{rng.randint(1, 12):02d}/{self.start_year}",
                    f"{rng.uniform(100, 9000):.2f}",
                ]
            )
        return rows

    def _instances(self) -> list[dict[str, str]]:
        return [
            {
                "code": "ACME",
                "name": "Acme Corp",
                "sessionTimeout": "60",
                "calendarType": "CALENDAR",
                "systemCurrency": "USD",
                "products": "PLANNING,CONSOLIDATION",
                "options": "",
                "notificationType": "EMAIL",
                "workdayTenantID": "",
                "workdayEnvironment": "",
            },
            {
                "code": "ACME_SANDBOX",
                "name": "Acme Corp Sandbox",
                "sessionTimeout": "30",
                "calendarType": "CALENDAR",
                "systemCurrency": "USD",
                "products": "PLANNING",
                "options": "",
                "notificationType": "NONE",
                "workdayTenantID": "",
                "workdayEnvironment": "",
            },
        ]

    def _families(self) -> list[dict[str, str]]:
        codes = [n.attrs["id"] for n in self.data_accounts[:4]]
        return [
            {"id": "1", "name": "Headcount family", "accounts": ",".join(codes[:2]), "dimensions": "6"},
            {"id": "2", "name": "Revenue family", "accounts": ",".join(codes[2:]), "dimensions": "6,16"},
        ]

    def _audit_events(self) -> list[dict[str, str]]:
        rng = self.rng_for("audit")
        events = []
        base = datetime(2024, 12, 1, tzinfo=UTC)
        for i in range(max(5, self.volume // 5)):
            moment = base + timedelta(seconds=rng.randrange(31 * 86400))
            events.append(
                {
                    "dateTime": moment.strftime("%Y-%m-%d %H:%M:%S"),
                    "eventType": rng.choice(["LOGIN_FAILURE", "PASSWORD_CHANGE", "ACCOUNT_LOCKOUT", "USER_CREATED"]),
                    "actor": f"user{19 + i % 5}@example.com",
                    "ipAddress": f"10.0.{i % 250}.{rng.randint(1, 254)}",
                    "interface": rng.choice(["WEB", "API"]),
                    "outcome": rng.choice(["SUCCESS", "FAILURE"]),
                    "details": "",
                }
            )
        events.sort(key=lambda e: e["dateTime"])
        return events

    # -- the data cube -------------------------------------------------------------------------

    def version_by_name(self, name: str) -> Node | None:
        """Find a version or folder by exact name (exportData addresses versions by name)."""
        return next((n for n in self.versions.walk() if n.tag == "version" and n.attrs["name"] == name), None)

    def default_version(self) -> Node:
        """Return the version flagged isDefaultVersion."""
        return next(n for n in self.versions.walk() if n.attrs.get("isDefaultVersion") == "true")

    def version_months(self, version: Node) -> list[str]:
        """Month codes a version covers, from its startPlan."""
        start = int(version.attrs["startPlan"][:2])
        first = self.month_codes.index(f"{start:02d}/{self.start_year}")
        return self.month_codes[first : first + self.months]

    def export_cells(self, request: Any) -> int:
        """Upper bound of the cells an exportData answer holds (leaf cells x months): picks whole vs streamed."""
        del request  # every filter only narrows it
        return self.data_account_count * len(self.leaf_levels) * self.combos_per_cell * self.months

    def cells(self, version: Node, account: int, level: Node) -> list[tuple[tuple[str, str], list[Any]]]:
        """Leaf cells of one (data account, leaf level) in ``version``: [((dept code, region code), values)].

        Generated from the seed on demand (never a whole cube in memory: 10M cells would take gigabytes).
        Values per month of the version's range: a float, BLANK (no data) or INVALID (a ratio with a zero
        denominator, which Adaptive marks "I"). A combo drawn twice keeps its last values (one cell per combo).
        """
        rand = self.rng_for(f"cube:{version.attrs['name']}:{account}:{level.attrs['code']}").random
        months = len(self.version_months(version))
        ratio = account % 5 == 4
        depts = ("ENG", "SAL", "MKT", "GA")
        regions = ("US", "CA", "DE", "FR")
        out: dict[tuple[str, str], list[Any]] = {}
        for _ in range(self.combos_per_cell):
            combo = (depts[int(rand() * 4)], regions[int(rand() * 4)])
            values: list[Any] = []
            for _m in range(months):
                r = rand()
                if r < 0.08:
                    values.append(BLANK)
                elif r < 0.14:
                    values.append(0.0)
                elif ratio and r < 0.17:
                    values.append(INVALID)
                else:
                    values.append(round((r - 0.3) * 20000, 2))
            out[combo] = values
        return list(out.items())


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _flag(value: Any) -> bool:
    """Boolean option from config or ``--option key=value`` text."""
    return str(value).strip().lower() in {"1", "true", "yes", "on"} if value is not None else False


def _names(value: Any) -> set[str]:
    """List option from config (a list) or ``--option key=a,b`` text."""
    if not value:
        return set()
    return set(value.split(",") if isinstance(value, str) else value)


def combine(values: list[Any]) -> Any:
    """Roll cells up the way the cube does: blanks vanish, any invalid cell poisons the sum."""
    total: float | None = None
    for value in values:
        if value is INVALID or value == INVALID:
            return INVALID
        if value is not None:
            total = value if total is None else total + value
    return None if total is None else round(total, 2)


def rng_factory(name: str, seed: int) -> Any:
    """Random streams depending only on the emulator, the seed and the purpose."""
    return lambda purpose: random.Random(f"{name}:{seed}:{purpose}")
