"""The Xactly Connect ``xactly.xc_*`` objects the emulator holds, as described in shared/sources/xactly.md §2.

Column names and keys come from the notes' catalogue (§2.1 common columns, §2.2 per-object columns);
SQL types follow the conventions the notes report (``*_ID`` numeric unless marked string, ``*_DATE``
timestamps, ``IS_*`` 0/1 flags, amounts decimal). Where the notes are silent the choice is ours and is
marked as such: ``_HIST`` objects are keyed on ``OBJECT_ID`` (one row per history version, §2.3 leaves the
real key open) and the two summaries carry no key and no ``MODIFIED_DATE`` (§2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: §2.1: present on almost every object.
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
#: §2.1: effective-dated objects add these.
EFFECTIVE = ("EFFECTIVE_START_DATE", "EFFECTIVE_END_DATE", "IS_MASTER")
#: §2.3: tenant custom fields use ``__`` between words; each numeric one has a ``__UNIT_TYPE_ID`` twin.
CUSTOM_NUMERIC = "ARR__NET__AMOUNT"
CUSTOM_COLUMNS = (CUSTOM_NUMERIC, f"{CUSTOM_NUMERIC}__UNIT_TYPE_ID", "INVOICE__DATE", "ADP__FILE__NUMBER")
#: Ids the notes mark as strings (§2.2 "(s)").
STRING_IDS = frozenset(
    {
        "ATTAINMENT_MEASURE_ID",
        "ATTAINMENT_MEASURE_CRITERIA_ID",
        "MASTER_ATTAINMENT_MEASURE_ID",
        "QUOTA_RELATIONSHIP_ID",
        "QTA_ASGNMT_ID",
        "HISTORY_UUID",
        "ADP__FILE__NUMBER",
    }
)
AMOUNT_WORDS = ("AMOUNT", "VALUE", "SALARY", "TARGET", "QUOTA_VALUE")


@dataclass(frozen=True)
class Table:
    """One ``xc_*`` object: its key column(s), whether it has MODIFIED_DATE, and its columns in order."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    custom: bool = False
    hist_of: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def incremental(self) -> bool:
        """Keyed tables with MODIFIED_DATE; the summaries are neither."""
        return bool(self.key) and "MODIFIED_DATE" in self.columns

    def sql_type(self, column: str) -> str:
        """H2 column type by the naming conventions of §2.1-2.3."""
        if column in STRING_IDS or column.endswith("_UUID"):
            return "VARCHAR(64)"
        if column.endswith("_DATE") or column.startswith(("HIRE_", "TERMINATION_")):
            return "TIMESTAMP"
        if column.startswith("IS_") or column == "ENABLED":
            return "TINYINT"
        if column.endswith(("_ID", "_ID_FK")) or column in {"VERSION", "BATCH_NUMBER", "ORDER_NUMBER", "LINE_NUMBER"}:
            return "BIGINT"
        if column == CUSTOM_NUMERIC or any(word in column for word in AMOUNT_WORDS):
            return "DECIMAL(20,4)"
        return "VARCHAR(255)"


def _table(name: str, key: str, notable: str, *, effective: bool = False, custom: bool = False) -> Table:
    columns = [key, *COMMON]
    if effective:
        columns += EFFECTIVE
    columns += [c for c in notable.split() if c not in columns]
    if custom:
        columns += CUSTOM_COLUMNS
    return Table(name, (key,), tuple(columns), custom=custom)


def _hist(parent: Table) -> Table:
    """A ``_HIST`` object repeats its parent's columns and adds OBJECT_ID (§2.1), keyed on it (our choice)."""
    return Table(f"{parent.name}_hist", ("OBJECT_ID",), ("OBJECT_ID", *parent.columns), hist_of=parent.name)


_PEOPLE = "PARTICIPANT_ID PARTICIPANT_NAME POSITION_ID POSITION_NAME"
_BASE = [
    _table(
        "xc_attainment_measure",
        "ATTAINMENT_MEASURE_ID",
        "DESCRIPTION PERIOD_TYPE EFFECTIVE_START_PERIOD_ID EFFECTIVE_END_PERIOD_ID MASTER_ATTAINMENT_MEASURE_ID "
        "HISTORY_UUID",
        effective=True,
    ),
    _table(
        "xc_attainment_measure_criteria",
        "ATTAINMENT_MEASURE_CRITERIA_ID",
        "CRITERIA_ID ATTAINMENT_MEASURE_ID TYPE HISTORY_UUID",
    ),
    _table(
        "xc_credit",
        "CREDIT_ID",
        f"PERIOD_ID PERIOD_NAME AMOUNT AMOUNT_UNIT_TYPE_ID {_PEOPLE} ORDER_ITEM_ID ITEM_CODE ORDER_CODE RULE_ID "
        "RULE_NAME CREDIT_TYPE_ID CREDIT_TYPE_NAME IS_HELD IS_PROCESSED RELEASE_DATE PRODUCT_ID PRODUCT_NAME "
        "CUSTOMER_ID CUSTOMER_NAME GEOGRAPHY_ID GEOGRAPHY_NAME BATCH_NUMBER RUN_ID INCENTIVE_DATE EFF_PARTICIPANT_ID "
        "EFF_POSITION_ID PLAN_ID PLAN_NAME BUSINESS_GROUP_ID SUB_PART_KEY MGR_PARTICIPANT_ID MGR_PARTICIPANT_NAME "
        "MGR_POSITION_ID MGR_POSITION_NAME",
    ),
    _table("xc_credit_adjustment", "CREDIT_ADJUSTMENT_ID", "CREDIT_ID PERIOD_ID AMOUNT REASON_ID"),
    _table("xc_credit_held", "CREDIT_HELD_ID", "CREDIT_ID IS_HELD HELD_DATE RELEASE_GROUP_ID RUN_ID TRANS_ID"),
    _table("xc_credit_totals", "CREDIT_TOTALS_ID", f"PERIOD_ID AMOUNT UNITTYPE_ID {_PEOPLE}"),
    _table("xc_credit_type", "CREDIT_TYPE_ID", "DESCR"),
    _table(
        "xc_position",
        "POSITION_ID",
        "DESCR INCENT_ST_DATE INCENT_END_DATE TITLE_ID POS_GROUP_ID PARENT_POSITION_ID PARTICIPANT_ID "
        "MASTER_POSITION_ID BUSINESS_GROUP_ID CREDIT_START_DATE CREDIT_END_DATE",
        effective=True,
    ),
    _table(
        "xc_pos_hierarchy", "POS_HIERARCHY_ID", "FROM_POS_ID FROM_POS_NAME TO_POS_ID TO_POS_NAME POS_HIERARCHY_TYPE_ID"
    ),
    _table(
        "xc_pos_hierarchy_type",
        "POS_HIERARCHY_TYPE_ID",
        "POS_HIERARCHY_TYPE_NAME POS_HIERARCHY_TYPE_DISP_NAME",
        effective=True,
    ),
    _table("xc_pos_part_assignment", "POS_PART_ASSIGNMENT_ID", _PEOPLE),
    _table("xc_pos_relations", "ID", "FROM_POS_ID FROM_POS_NAME TO_POS_ID TO_POS_NAME POS_REL_TYPE_ID"),
    _table("xc_pos_rel_type", "POS_REL_TYPE_ID", "DESCR", effective=True),
    _table("xc_pos_title_assignment", "POS_TITLE_ASSIGNMENT_ID", "TITLE_ID TITLE_NAME POSITION_ID POSITION_NAME"),
    _table(
        "xc_quota",
        "QUOTA_ID",
        "QUOTA_VALUE QUOTA_VALUE_UNIT_TYPE_ID QUOTA_VALUE_UNIT_TYPE_NAME QUOTA_PERIOD_ID QUOTA_PERIOD_NAME "
        "QUOTA_INTERVAL_ID QUOTA_INTERVAL_NAME SOURCE_ID CLASSIFICATION_NAME CLASSIFICATION_TYPE",
    ),
    _table(
        "xc_quota_assignment",
        "QUOTA_ASSIGNMENT_ID",
        "ASSIGNMENT_ID ASSIGNMENT_NAME ASSIGNMENT_TYPE AMOUNT PERIOD_ID QUOTA_ID EFFECTIVE_START_PERIOD_ID "
        "EFFECTIVE_END_PERIOD_ID QTA_ASGNMT_ID",
    ),
    _table("xc_quota_relationship", "QUOTA_RELATIONSHIP_ID", "LABEL DESCRIPTION"),
    _table("xc_quota_totals", "QUOTA_TOTALS_ID", f"PERIOD_ID AMOUNT UNITTYPE_ID {_PEOPLE}"),
    _table("xc_role", "ROLE_ID", "DESCR ROLE_TYPE"),
    _table(
        "xc_participant",
        "PARTICIPANT_ID",
        "FIRST_NAME MIDDLE_NAME LAST_NAME EMPLOYEE_ID SALARY SALARY_UNIT_TYPE_ID HIRE_DATE TERMINATION_DATE "
        "PERSONAL_TARGET USER_ID BUSINESS_GROUP_ID",
        effective=True,
        custom=True,
    ),
    _table(
        "xc_period",
        "PERIOD_ID",
        "START_DATE END_DATE IS_OPEN PARENT_PERIOD_ID PERIOD_TYPE_ID_FK CALENDAR_ID ORDER_NUMBER IS_PUBLISHED "
        "IS_VISIBLE IS_HIDDEN IS_ETL_EXCLUDED IS_CALC_PERIOD",
    ),
    _table("xc_period_type", "PERIOD_TYPE_ID", ""),
    _table("xc_plan", "PLAN_ID", "DESCRIPTION PERIOD_ID"),
    _table(
        "xc_plan_assignment",
        "PLAN_ASSIGNMENT_ID",
        "ASSIGNMENT_ID ASSIGNMENT_TYPE ASSIGNMENT_NAME PLAN_ID ACTIVE_START_DATE ACTIVE_END_DATE",
    ),
    _table(
        "xc_user",
        "USER_ID",
        "EMAIL LOCALE ENABLED PRIMARY_ROLE_TYPE IS_INTERNAL_USER USER_UUID BUSINESS_GROUP_ID",
    ),
    _table(
        "xc_comp_order_item",
        "COMP_ORDER_ITEM_ID",
        "ORDER_CODE ITEM_CODE LINE_NUMBER AMOUNT INCENTIVE_DATE PERIOD_ID ORDER_DATE ORDER_TYPE_ID BATCH_NUMBER "
        "RELATED_ORDER_CODE ITEM_STATUS",
        custom=True,
    ),
    _table("xc_comp_order_item_detail", "COMP_ORDER_ITEM_DETAIL_ID", "COMP_ORDER_ITEM_ID COI_ORDER_CODE COI_ITEM_CODE"),
    _table(
        "xc_rule",
        "RULE_ID",
        "RULE_TYPE ACTIVE_START_DATE ACTIVE_END_DATE INPUT_TYPE HOLD_TYPE PRIMARY_RULE_ID RATE_TYPE "
        "ATTAINMENT_MEASURE_ID",
        effective=True,
    ),
    _table(
        "xc_plan_approval",
        "PLAN_APPROVAL_ID",
        "STATUS PERSON_ID PERSON_NAME MANAGER_ID MANAGER_NAME PLAN_ID PLAN_NAME ROUTE_DATE DOC_TYPE DOC_TEMPLATE_ID",
    ),
    _table("xc_planrules", "PLANRULES_ID", "PLAN_ID RULE_ID"),
    _table(
        "xc_commission",
        "COMMISSION_ID",
        f"AMOUNT AMOUNT_UNIT_TYPE_ID PERIOD_ID PERIOD_NAME {_PEOPLE} CREDIT_ID RULE_ID RULE_NAME RATE_AMOUNT "
        "EARNING_GROUP_ID EARNING_GROUP_NAME QUOTA_ID QUOTA_NAME MEASURE_VALUE ATTAINMENT_VALUE RELEASED_AMOUNT "
        "HELD_AMOUNT PLAN_ID PLAN_NAME",
    ),
]
#: §3.4: the anchor tap's ``_hist`` streams.
_HIST_OF = [
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
#: §2.1: aggregates with no id and no MODIFIED_DATE.
_SUMMARIES = [
    Table("xc_credit_summary", (), ("PARTICIPANT_ID", "PERIOD_ID", "AS_OF_PERIOD_ID", "TOTAL_AMOUNT")),
    Table("xc_quota_summary", (), ("PARTICIPANT_ID", "QUOTA_ID", "AS_OF_PERIOD_ID", "TOTAL_AMOUNT")),
]


def _all_tables() -> dict[str, Table]:
    by_name = {t.name: t for t in _BASE}
    tables = dict(by_name)
    for name in _HIST_OF:
        hist = _hist(by_name[name])
        tables[hist.name] = hist
    tables.update({t.name: t for t in _SUMMARIES})
    return dict(sorted(tables.items()))


#: Every object the emulator can hold, by lower-case stream name.
TABLES: dict[str, Table] = _all_tables()
