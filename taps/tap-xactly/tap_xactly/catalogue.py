"""The built-in catalogue of known ``xactly.xc_*`` objects: keys and columns from shared/sources/xactly.md §2.

Used when the driver cannot answer ``DatabaseMetaData`` and to fill what it leaves out (a table reported
without primary key). Server metadata wins whenever it answers, because tenants add custom columns
(``ARR__NET__AMOUNT`` and its ``__UNIT_TYPE_ID`` twin, §2.3) that no static list can know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from singer_sdk import typing as th

REPLICATION_KEY = "MODIFIED_DATE"
#: §2.1: columns present on almost every object.
COMMON = [
    "VERSION",
    "NAME",
    "IS_ACTIVE",
    "CREATED_DATE",
    "CREATED_BY_ID",
    "CREATED_BY_NAME",
    "MODIFIED_DATE",
    "MODIFIED_BY_ID",
    "MODIFIED_BY_NAME",
]
_EFFECTIVE = ["EFFECTIVE_START_DATE", "EFFECTIVE_END_DATE", "IS_MASTER"]
#: §2.2 "(s)": ids that are strings.
_STRING_IDS = {
    "ATTAINMENT_MEASURE_ID",
    "ATTAINMENT_MEASURE_CRITERIA_ID",
    "MASTER_ATTAINMENT_MEASURE_ID",
    "QUOTA_RELATIONSHIP_ID",
    "QTA_ASGNMT_ID",
    "HISTORY_UUID",
}
_PEOPLE = "PARTICIPANT_ID PARTICIPANT_NAME POSITION_ID POSITION_NAME"


@dataclass(frozen=True)
class KnownTable:
    """What the notes say about one object."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def replication_key(self) -> str | None:
        """MODIFIED_DATE where the object has it (everything but the summaries, §2.1)."""
        return REPLICATION_KEY if REPLICATION_KEY in self.columns else None

    def schema(self) -> dict[str, Any]:
        """JSON Schema by the naming conventions of §2.1-2.3 (used only without server metadata)."""
        properties = [th.Property(c, _type_of(c), required=c in self.key) for c in self.columns]
        return th.PropertiesList(*properties).to_dict()


def _type_of(column: str) -> th.JSONTypeHelper[Any]:
    if column in _STRING_IDS:
        return th.StringType()
    if column.endswith("_DATE"):
        return th.DateTimeType()
    if column.startswith("IS_") or column.endswith(("_ID", "_ID_FK")) or column == "VERSION":
        return th.IntegerType()
    if any(word in column for word in ("AMOUNT", "VALUE", "SALARY", "TARGET")):
        return th.NumberType()
    return th.StringType()


def _known(name: str, key: str, notable: str = "", *, effective: bool = False) -> KnownTable:
    columns = [key, *COMMON, *(_EFFECTIVE if effective else [])]
    columns += [c for c in notable.split() if c not in columns]
    return KnownTable(name, (key,), tuple(columns))


_BASE = [
    _known(
        "xc_attainment_measure",
        "ATTAINMENT_MEASURE_ID",
        "DESCRIPTION PERIOD_TYPE EFFECTIVE_START_PERIOD_ID "
        "EFFECTIVE_END_PERIOD_ID MASTER_ATTAINMENT_MEASURE_ID HISTORY_UUID",
        effective=True,
    ),
    _known(
        "xc_attainment_measure_criteria",
        "ATTAINMENT_MEASURE_CRITERIA_ID",
        "CRITERIA_ID ATTAINMENT_MEASURE_ID TYPE HISTORY_UUID",
    ),
    _known(
        "xc_credit",
        "CREDIT_ID",
        f"PERIOD_ID PERIOD_NAME AMOUNT AMOUNT_UNIT_TYPE_ID {_PEOPLE} ORDER_ITEM_ID "
        "ITEM_CODE ORDER_CODE RULE_ID RULE_NAME CREDIT_TYPE_ID CREDIT_TYPE_NAME IS_HELD IS_PROCESSED RELEASE_DATE "
        "PRODUCT_ID PRODUCT_NAME CUSTOMER_ID CUSTOMER_NAME GEOGRAPHY_ID GEOGRAPHY_NAME BATCH_NUMBER RUN_ID "
        "INCENTIVE_DATE EFF_PARTICIPANT_ID EFF_POSITION_ID PLAN_ID PLAN_NAME BUSINESS_GROUP_ID",
    ),
    # §2.2: the anchor declares CREDIT_ID, but the object's own id is CREDIT_ADJUSTMENT_ID (unique per row).
    _known("xc_credit_adjustment", "CREDIT_ADJUSTMENT_ID", "CREDIT_ID PERIOD_ID AMOUNT REASON_ID"),
    _known("xc_credit_held", "CREDIT_HELD_ID", "CREDIT_ID IS_HELD HELD_DATE RELEASE_GROUP_ID RUN_ID TRANS_ID"),
    _known("xc_credit_totals", "CREDIT_TOTALS_ID", f"PERIOD_ID AMOUNT UNITTYPE_ID {_PEOPLE}"),
    _known("xc_credit_type", "CREDIT_TYPE_ID", "DESCR"),
    _known(
        "xc_position",
        "POSITION_ID",
        "DESCR TITLE_ID PARENT_POSITION_ID PARTICIPANT_ID BUSINESS_GROUP_ID",
        effective=True,
    ),
    _known("xc_pos_hierarchy", "POS_HIERARCHY_ID", "FROM_POS_ID FROM_POS_NAME TO_POS_ID TO_POS_NAME"),
    _known("xc_pos_hierarchy_type", "POS_HIERARCHY_TYPE_ID", "POS_HIERARCHY_TYPE_NAME", effective=True),
    _known("xc_pos_part_assignment", "POS_PART_ASSIGNMENT_ID", _PEOPLE),
    _known("xc_pos_relations", "ID", "FROM_POS_ID FROM_POS_NAME TO_POS_ID TO_POS_NAME POS_REL_TYPE_ID"),
    _known("xc_pos_rel_type", "POS_REL_TYPE_ID", "DESCR", effective=True),
    _known("xc_pos_title_assignment", "POS_TITLE_ASSIGNMENT_ID", "TITLE_ID TITLE_NAME POSITION_ID POSITION_NAME"),
    _known("xc_quota", "QUOTA_ID", "QUOTA_VALUE QUOTA_PERIOD_ID QUOTA_PERIOD_NAME SOURCE_ID CLASSIFICATION_NAME"),
    _known(
        "xc_quota_assignment",
        "QUOTA_ASSIGNMENT_ID",
        "ASSIGNMENT_ID ASSIGNMENT_NAME ASSIGNMENT_TYPE AMOUNT PERIOD_ID QUOTA_ID QTA_ASGNMT_ID",
    ),
    _known("xc_quota_relationship", "QUOTA_RELATIONSHIP_ID", "LABEL DESCRIPTION"),
    _known("xc_quota_totals", "QUOTA_TOTALS_ID", f"PERIOD_ID AMOUNT UNITTYPE_ID {_PEOPLE}"),
    _known("xc_role", "ROLE_ID", "DESCR ROLE_TYPE"),
    _known(
        "xc_participant",
        "PARTICIPANT_ID",
        "FIRST_NAME MIDDLE_NAME LAST_NAME EMPLOYEE_ID SALARY "
        "SALARY_UNIT_TYPE_ID HIRE_DATE TERMINATION_DATE PERSONAL_TARGET USER_ID BUSINESS_GROUP_ID",
        effective=True,
    ),
    _known("xc_period", "PERIOD_ID", "START_DATE END_DATE IS_OPEN PARENT_PERIOD_ID PERIOD_TYPE_ID_FK CALENDAR_ID"),
    _known("xc_period_type", "PERIOD_TYPE_ID"),
    _known("xc_plan", "PLAN_ID", "DESCRIPTION PERIOD_ID"),
    _known("xc_plan_assignment", "PLAN_ASSIGNMENT_ID", "ASSIGNMENT_ID ASSIGNMENT_TYPE ASSIGNMENT_NAME PLAN_ID"),
    _known("xc_user", "USER_ID", "EMAIL LOCALE ENABLED PRIMARY_ROLE_TYPE IS_INTERNAL_USER BUSINESS_GROUP_ID"),
    _known(
        "xc_comp_order_item",
        "COMP_ORDER_ITEM_ID",
        "ORDER_CODE ITEM_CODE LINE_NUMBER AMOUNT INCENTIVE_DATE PERIOD_ID ORDER_DATE ORDER_TYPE_ID ITEM_STATUS",
    ),
    _known("xc_comp_order_item_detail", "COMP_ORDER_ITEM_DETAIL_ID", "COMP_ORDER_ITEM_ID COI_ORDER_CODE COI_ITEM_CODE"),
    _known(
        "xc_rule",
        "RULE_ID",
        "RULE_TYPE INPUT_TYPE HOLD_TYPE PRIMARY_RULE_ID RATE_TYPE ATTAINMENT_MEASURE_ID",
        effective=True,
    ),
    _known(
        "xc_plan_approval",
        "PLAN_APPROVAL_ID",
        "STATUS PERSON_ID PERSON_NAME MANAGER_ID MANAGER_NAME PLAN_ID PLAN_NAME ROUTE_DATE DOC_TYPE DOC_TEMPLATE_ID",
    ),
    _known("xc_planrules", "PLANRULES_ID", "PLAN_ID RULE_ID"),
    _known(
        "xc_commission",
        "COMMISSION_ID",
        f"AMOUNT AMOUNT_UNIT_TYPE_ID PERIOD_ID PERIOD_NAME {_PEOPLE} CREDIT_ID "
        "RULE_ID RULE_NAME RATE_AMOUNT EARNING_GROUP_ID EARNING_GROUP_NAME QUOTA_ID MEASURE_VALUE "
        "ATTAINMENT_VALUE RELEASED_AMOUNT HELD_AMOUNT PLAN_ID PLAN_NAME",
    ),
]
#: §3.4: the objects with a ``_HIST`` twin.
_HISTORY = [
    "xc_position",
    "xc_pos_hierarchy",
    "xc_pos_hierarchy_type",
    "xc_pos_part_assignment",
    "xc_pos_relations",
    "xc_pos_rel_type",
    "xc_pos_title_assignment",
    "xc_quota",
    "xc_quota_assignment",
]


def _history(parent: KnownTable) -> KnownTable:
    """``_HIST`` repeats the parent's columns plus OBJECT_ID (§2.1).

    Keyed on OBJECT_ID, not the parent's id as the anchor tap does: the parent id repeats once per version,
    so upserting on it would collapse history (§3.8 item 11). Which column is unique is inferred, not
    documented; server metadata overrides this whenever ``SHOW KEYS`` answers.
    """
    return KnownTable(f"{parent.name}_hist", ("OBJECT_ID",), ("OBJECT_ID", *parent.columns))


#: §2.1: aggregates without id or MODIFIED_DATE, hence full table.
_SUMMARIES = [
    KnownTable("xc_credit_summary", (), ("PARTICIPANT_ID", "PERIOD_ID", "AS_OF_PERIOD_ID", "TOTAL_AMOUNT")),
    KnownTable("xc_quota_summary", (), ("PARTICIPANT_ID", "QUOTA_ID", "AS_OF_PERIOD_ID", "TOTAL_AMOUNT")),
]


def _build() -> dict[str, KnownTable]:
    tables = {t.name: t for t in _BASE}
    by_name = dict(tables)
    for name in _HISTORY:
        hist = _history(by_name[name])
        tables[hist.name] = hist
    tables.update({t.name: t for t in _SUMMARIES})
    return dict(sorted(tables.items()))


#: Known objects by stream name (lower case, as the notes write them).
KNOWN_TABLES: dict[str, KnownTable] = _build()
