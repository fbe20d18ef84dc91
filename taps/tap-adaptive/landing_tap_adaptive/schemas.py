"""Every stream's columns, as SDK typing ``PropertiesList`` (the one schema style of this tap, STYLE.md).

The element lists name each XML attribute's column (the attribute in snake_case, ``isAssumption`` →
``is_assumption``) and its JSON type; the type also chooses the attribute's text converter
(:func:`landing_tap_adaptive.converters.converter_for`), so a list is the single source of columns and
types. Element and attribute names come from wdadaptivepy and vendor samples (adaptive.md §4-§6); where
the notes mark a shape as inferred, the README says so. Structural columns (``parent_id``, ``depth``,
``path``, ``node_type``, ...) are added per stream by :class:`landing_tap_adaptive.flatten.ElementShape`.
"""

from __future__ import annotations

from singer_sdk import typing as th

#: Comma-separated id lists (groupIds, permissions) land as JSON arrays of strings.
STRINGS = th.ArrayType(th.StringType)
#: Every stream's catch-all for what the API sent that the schema does not declare (tap contract §4).
EXTRA_FIELDS = th.Property("extra_fields", th.ObjectType(additional_properties=True))

#: exportAccounts ``<account>`` attributes (wdadaptivepy's Account model, adaptive.md §4).
ACCOUNT = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("code", th.StringType),
    th.Property("name", th.StringType),
    th.Property("account_type_code", th.StringType),
    th.Property("description", th.StringType),
    th.Property("short_name", th.StringType),
    th.Property("time_stratum", th.StringType),
    th.Property("display_as", th.StringType),
    th.Property("is_assumption", th.BooleanType),
    th.Property("suppress_zeroes", th.BooleanType),
    th.Property("is_default_root", th.BooleanType),
    th.Property("decimal_precision", th.IntegerType),
    th.Property("plan_by", th.StringType),
    th.Property("exchange_rate_type", th.StringType),
    th.Property("is_importable", th.BooleanType),
    th.Property("balance_type", th.StringType),
    th.Property("data_entry_type", th.StringType),
    th.Property("time_rollup", th.StringType),
    th.Property("time_weight_acct_id", th.IntegerType),
    th.Property("has_salary_detail", th.BooleanType),
    th.Property("data_privacy", th.StringType),
    th.Property("sub_type", th.StringType),
    th.Property("start_expanded", th.BooleanType),
    th.Property("is_breakback_eligible", th.BooleanType),
    th.Property("level_dim_rollup", th.StringType),
    th.Property("rollup_text", th.StringType),
    th.Property("enable_actuals", th.BooleanType),
    th.Property("is_group", th.BooleanType),
    th.Property("is_intercompany", th.BooleanType),
    th.Property("formula", th.StringType),
    th.Property("is_linked", th.BooleanType),
    th.Property("is_system", th.BooleanType),
    th.Property("owning_sheet_id", th.IntegerType),
)
#: exportLevels ``<level>`` attributes (§4).
LEVEL = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("code", th.StringType),
    th.Property("name", th.StringType),
    th.Property("display_name", th.StringType),
    th.Property("currency", th.StringType),
    th.Property("publish_currency", th.StringType),
    th.Property("short_name", th.StringType),
    th.Property("available_start", th.StringType),
    th.Property("available_end", th.StringType),
    th.Property("is_importable", th.BooleanType),
    th.Property("workflow_status", th.StringType),
    th.Property("is_elimination", th.BooleanType),
    th.Property("is_linked", th.BooleanType),
    th.Property("has_children", th.BooleanType),
    th.Property("description", th.StringType),
)
#: exportVersions ``<version>`` attributes (§4).
VERSION = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("short_name", th.StringType),
    th.Property("type", th.StringType),
    th.Property("is_virtual", th.BooleanType),
    th.Property("description", th.StringType),
    th.Property("is_default_version", th.BooleanType),
    th.Property("is_locked", th.BooleanType),
    th.Property("has_audit_trail", th.BooleanType),
    th.Property("enabled_for_workflow", th.BooleanType),
    th.Property("is_importable", th.BooleanType),
    th.Property("start_ver", th.StringType),
    th.Property("end_ver", th.StringType),
    th.Property("start_scroll", th.StringType),
    th.Property("completed_values_thru", th.StringType),
    th.Property("left_scroll", th.StringType),
    th.Property("start_plan", th.StringType),
    th.Property("end_plan", th.StringType),
    th.Property("lock_leading", th.StringType),
    th.Property("is_predictive", th.BooleanType),
)
#: exportDimensions ``<dimension>``/``<dimensionValue>`` attributes (§4).
DIMENSION = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("code", th.StringType),
    th.Property("display_name", th.StringType),
    th.Property("short_name", th.StringType),
    th.Property("description", th.StringType),
    th.Property("display_name_type", th.StringType),
    th.Property("auto_create", th.BooleanType),
    th.Property("list_dimension", th.BooleanType),
    th.Property("keep_sorted", th.BooleanType),
    th.Property("use_on_levels", th.BooleanType),
    th.Property("seq_no", th.IntegerType),
)
#: exportAttributes ``<attribute>``/``<attributeValue>`` attributes (§4).
ATTRIBUTE = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("code", th.StringType),
    th.Property("display_name", th.StringType),
    th.Property("description", th.StringType),
    th.Property("type", th.StringType),
    th.Property("display_name_type", th.StringType),
    th.Property("auto_create", th.BooleanType),
    th.Property("keep_sorted", th.BooleanType),
    th.Property("dimension_id", th.IntegerType),
    th.Property("seq_no", th.IntegerType),
)
#: exportTime ``<stratum>``/``<period>`` attributes (§4).
TIME = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("code", th.StringType),
    th.Property("label", th.StringType),
    th.Property("short_name", th.StringType),
    th.Property("in_use", th.BooleanType),
    th.Property("is_default", th.BooleanType),
    th.Property("stratum_id", th.IntegerType),
    th.Property("start", th.DateType),
    th.Property("end", th.DateType),
    th.Property("timeslot", th.IntegerType),
    th.Property("encoded_time_period", th.StringType),
    th.Property("legacy_report_time_id", th.StringType),
    th.Property("legacy_sheet_time_id", th.StringType),
)
#: exportUsers ``<user>`` attributes (§4); personal fields are hashed by mapper-pii.
USER = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("guid", th.StringType),
    th.Property("login", th.StringType),
    th.Property("email", th.StringType),
    th.Property("name", th.StringType),
    th.Property("position", th.StringType),
    th.Property("permission_set_ids", STRINGS),
    th.Property("group_ids", STRINGS),
    th.Property("alternate_email", th.StringType),
    th.Property("saml_fed_id", th.StringType),
    th.Property("time_zone", th.StringType),
    th.Property("homepage", th.StringType),
    th.Property("country", th.StringType),
    th.Property("us_state", th.StringType),
    th.Property("perspective", th.StringType),
    th.Property("perspective_name", th.StringType),
    th.Property("dashboard", th.StringType),
    th.Property("dashboard_name", th.StringType),
    th.Property("netsuite_login", th.StringType),
    th.Property("salesforce_login", th.StringType),
    th.Property("created_date", th.DateTimeType),
    th.Property("last_login", th.DateTimeType),
    th.Property("failed_attempts", th.IntegerType),
    th.Property("locked", th.BooleanType),
)
#: active currencies attributes.
ACTIVE_CURRENCIES = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("code", th.StringType),
    th.Property("precision", th.IntegerType),
    th.Property("is_reporting_currency", th.BooleanType),
    th.Property("user_defined", th.BooleanType),
    th.Property("description", th.StringType),
)
#: customer logo attributes.
CUSTOMER_LOGO = th.PropertiesList(
    th.Property("url", th.StringType),
)
#: dimension families attributes.
DIMENSION_FAMILIES = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("accounts", STRINGS),
    th.Property("dimensions", STRINGS),
)
#: dimension mapping attributes.
DIMENSION_MAPPING = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("dimension_id", th.IntegerType),
    th.Property("source_value", th.StringType),
    th.Property("target_value", th.StringType),
)
#: groups attributes.
GROUPS = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("is_global", th.BooleanType),
    th.Property("owner_id", th.IntegerType),
)
#: instances attributes.
INSTANCES = th.PropertiesList(
    th.Property("code", th.StringType),
    th.Property("name", th.StringType),
    th.Property("session_timeout", th.IntegerType),
    th.Property("calendar_type", th.StringType),
    th.Property("system_currency", th.StringType),
    th.Property("products", STRINGS),
    th.Property("options", STRINGS),
    th.Property("notification_type", th.StringType),
    th.Property("workday_tenant_id", th.StringType),
    th.Property("workday_environment", th.StringType),
    th.Property("workday_ui_url", th.StringType),
    th.Property("workday_rest_url", th.StringType),
    th.Property("datasources", th.StringType),
)
#: locales attributes.
LOCALES = th.PropertiesList(
    th.Property("code", th.StringType),
    th.Property("name", th.StringType),
    th.Property("is_default", th.BooleanType),
)
#: roles attributes.
ROLES = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("permissions", STRINGS),
)
#: permission sets attributes.
PERMISSION_SETS = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("permissions", STRINGS),
)
#: security audit attributes.
SECURITY_AUDIT = th.PropertiesList(
    th.Property("date_time", th.DateTimeType),
    th.Property("event_type", th.StringType),
    th.Property("actor", th.StringType),
    th.Property("ip_address", th.StringType),
    th.Property("interface", th.StringType),
    th.Property("outcome", th.StringType),
    th.Property("details", th.StringType),
)
#: sheets attributes.
SHEETS = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("type", th.StringType),
    th.Property("prefix", th.StringType),
    th.Property("description", th.StringType),
    th.Property("is_global", th.BooleanType),
)
#: sheet definition attributes.
SHEET_DEFINITION = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("prefix", th.StringType),
    th.Property("name", th.StringType),
    th.Property("description", th.StringType),
    th.Property("available_in_actuals", th.BooleanType),
    th.Property("allow_splits", th.BooleanType),
    th.Property("split_column_title", th.StringType),
    th.Property("strata_id", th.IntegerType),
)
#: modeled sheet attributes.
MODELED_SHEET = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("is_global", th.BooleanType),
    th.Property("allow_splits", th.BooleanType),
)

#: exportTransactionDefinition: one row per field of the instance's transaction definition.
TRANSACTION_DEFINITION = th.PropertiesList(
    th.Property("field_type", th.StringType, required=True),
    th.Property("name", th.StringType, required=True),
    th.Property("id", th.StringType),
    th.Property("position", th.IntegerType, required=True),
    th.Property("values", th.ArrayType(th.ObjectType(additional_properties=True))),
    EXTRA_FIELDS,
)

#: exportConfigurableModelData: columns differ per sheet, so a row is a JSON object of column → text.
CONFIGURABLE_MODEL_DATA = th.PropertiesList(
    th.Property("sheet_id", th.IntegerType, required=True),
    th.Property("sheet_name", th.StringType, required=True),
    th.Property("version", th.StringType, required=True),
    th.Property("page_number", th.IntegerType, required=True),
    th.Property("row_in_page", th.IntegerType, required=True),
    th.Property("values", th.ObjectType(additional_properties=True), required=True),
    EXTRA_FIELDS,
)

#: exportData in long format: one record per cell of the wide CSV (adaptive.md §4, §9).
EXPORT_DATA = th.PropertiesList(
    th.Property("version_id", th.IntegerType, required=True),
    th.Property("version_name", th.StringType, required=True),
    th.Property("account_code", th.StringType, required=True),
    th.Property("account_name", th.StringType),
    th.Property("level_code", th.StringType, required=True),
    th.Property("level_name", th.StringType),
    # A list, not an object keyed by dimension: dimension names are data, not columns.
    th.Property(
        "dimensions",
        th.ArrayType(
            th.ObjectType(
                th.Property("dimension", th.StringType, required=True),
                th.Property("code", th.StringType),
                th.Property("name", th.StringType),
            )
        ),
    ),
    th.Property("dimension_key", th.StringType, required=True),
    th.Property("period", th.StringType, required=True),
    th.Property("period_start", th.DateType),
    th.Property("value", th.NumberType),
    th.Property("value_status", th.StringType, required=True, allowed_values=["value", "blank", "invalid"]),
    # Every CSV column has a role (base, dimension or period), so nothing lands here today.
    EXTRA_FIELDS,
)
