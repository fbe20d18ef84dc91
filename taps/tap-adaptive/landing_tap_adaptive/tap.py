"""tap-adaptive: Workday Adaptive Planning's XML API as Singer streams."""

from __future__ import annotations

import typing as t

from landing_tap_kit.cli import OneLineErrorTap
from landing_tap_kit.stopping import StoppableTap
from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from typing_extensions import override

from landing_tap_adaptive.export_data import ExportDataStream, ExportVersionsStream
from landing_tap_adaptive.streams import (
    SIMPLE_STREAMS,
    ExportConfigurableModelDataStream,
    ExportModeledSheetStream,
    ExportSecurityAuditStream,
    ExportSheetDefinitionStream,
    ExportSheetsStream,
    ExportTransactionDefinitionStream,
)

#: Every stream class, parents before their children.
STREAM_TYPES: list[type[Stream]] = [
    *SIMPLE_STREAMS,
    ExportVersionsStream,
    ExportDataStream,
    ExportSheetsStream,
    ExportSheetDefinitionStream,
    ExportModeledSheetStream,
    ExportConfigurableModelDataStream,
    ExportSecurityAuditStream,
    ExportTransactionDefinitionStream,
]
#: The vendor endpoint; the API version is part of the path (adaptive.md §1); v40 is the newest seen.
DEFAULT_API_URL = "https://api.adaptiveinsights.com/api/v40"
#: Meltano hands numbers over as JSON numbers, as strings (settings without a kind, env variables) or,
#: for ``kind: decimal``, not at all (it cannot JSON-encode its own Decimal): accept numbers and numeric text.
NUMERIC_TEXT = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
INTEGER_TEXT = r"^\s*[+-]?\d+(\.0*)?\s*$"


def _strings(name: str, title: str, description: str) -> th.Property[t.Any]:
    return th.Property(name, th.ArrayType(th.StringType), title=title, description=description)


def _number(name: str, default: float, title: str, description: str, *, integer: bool = False) -> th.Property[t.Any]:
    """A numeric setting that also accepts its number as text ("2.5"), as Meltano may send it."""
    kind = "integer" if integer else "number"
    pattern = INTEGER_TEXT if integer else NUMERIC_TEXT
    return th.Property(
        name,
        th.CustomType({"type": [kind, "string"], "pattern": pattern}),
        default=default,
        title=title,
        description=description,
    )


class TapAdaptive(StoppableTap, OneLineErrorTap):
    """Singer tap for Workday Adaptive Planning (all 23 export methods GitLab's operators load)."""

    name = "tap-adaptive"
    #: Distribution name, so `--version` and `--about` read the installed version (Tap.name is the plugin name).
    package_name = "landing-tap-adaptive"
    #: Every stream (a catalog selecting another name is refused with one line naming it).
    known_stream_names = tuple(str(vars(stream_type)["name"]) for stream_type in STREAM_TYPES)
    #: msgspec encodes records about twice as fast as the SDK's default simplejson writer.
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="API URL",
            description="XML API endpoint including the API version, e.g. https://api.adaptiveinsights.com/api/v40",
        ),
        th.Property(
            "username",
            th.StringType,
            required=True,
            title="Username",
            description="Adaptive login (the `login` of <credentials>).",
        ),
        th.Property(
            "password",
            th.StringType,
            required=True,
            secret=True,
            title="Password",
            description="Adaptive password; sent in the request body, never logged.",
        ),
        th.Property(
            "instance_code",
            th.StringType,
            title="Instance code",
            description="Instance to read when the user can access several (see export_instances).",
        ),
        th.Property(
            "locale",
            th.StringType,
            title="Locale",
            description="Credentials locale, e.g. en_US (affects message language and number formats).",
        ),
        th.Property(
            "caller_name",
            th.StringType,
            default="tap-adaptive",
            title="Caller name",
            description="callerName attribute identifying this client to Adaptive.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            default="2010-01-01T00:00:00Z",
            title="Start date",
            description="Earliest security-audit event to request on the first run.",
        ),
        th.Property(
            "model_data_version",
            th.StringType,
            title="Model data version",
            description="Version for exportConfigurableModelData; empty = the instance's default version.",
        ),
        th.Property(
            "export_data_version_folder",
            th.StringType,
            default="Shared with Data",
            title="exportData version folder",
            description="Version folder whose leaf versions are exported (sub-folders included).",
        ),
        _strings(
            "export_data_account_codes",
            "exportData account allow-list",
            "Account codes exportData may request; required for exportData (empty = export_data off). "
            "Descendants are never requested.",
        ),
        _strings("export_data_levels", "exportData levels", "Level names to export; empty = all levels."),
        th.Property(
            "export_data_levels_rollup",
            th.BooleanType,
            default=True,
            title="Levels as rollups",
            description="isRollup on each requested level.",
        ),
        th.Property(
            "export_data_levels_include_descendants",
            th.BooleanType,
            default=False,
            title="Levels include descendants",
            description="includeDescendants on each requested level.",
        ),
        _strings("export_data_dimensions", "exportData dimensions", "Dimension names added as columns."),
        th.Property(
            "export_data_start_period",
            th.StringType,
            title="exportData start period",
            description="First period code (e.g. 01/2024); empty = the version's range.",
        ),
        th.Property(
            "export_data_end_period",
            th.StringType,
            title="exportData end period",
            description="Last period code (e.g. 12/2024).",
        ),
        th.Property(
            "export_data_stratum",
            th.StringType,
            title="exportData time stratum",
            description="Time stratum code of the periods (month, qtr, year).",
        ),
        th.Property(
            "export_data_currency",
            th.StringType,
            default="corporate",
            title="exportData currency",
            description="corporate, local, or a currency code to convert to.",
        ),
        th.Property(
            "export_data_include_rollup_accounts",
            th.BooleanType,
            default=True,
            title="Include rollup accounts",
        ),
        th.Property("export_data_include_rollup_levels", th.BooleanType, default=True, title="Include rollup levels"),
        th.Property("export_data_include_zero_rows", th.BooleanType, default=True, title="Include zero rows"),
        _strings(
            "export_data_force_versions",
            "Re-export versions",
            "Version names exported again even if their bookmark says they are done.",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Emit ACTIVATE_VERSION",
            description="After each complete full-table stream, tell the loader which table version is "
            "current so elements deleted in Adaptive are marked deleted (never for export_data).",
        ),
        _number(
            "max_retries",
            5,
            "Max retries",
            "Retries of a throttled, failed or malformed response before giving up (with max_retry_seconds, "
            "whichever limit comes first).",
            integer=True,
        ),
        _number(
            "max_retry_seconds",
            600,
            "Retry budget without progress (s)",
            "Time a stream may spend in failed attempts and backoff waits since its last good response (every "
            "good response starts it afresh); when spent (or when the server's Retry-After asks for more than "
            "is left) the stream fails with one line.",
        ),
        _number(
            "retry_base_seconds",
            2.0,
            "Retry base wait (s)",
            "First backoff wait (doubles per retry) when the server gives no Retry-After.",
        ),
        _number(
            "max_retry_wait_seconds",
            60.0,
            "Max backoff wait (s)",
            "Upper bound of one backoff wait the tap chooses itself; a server's Retry-After is never shortened.",
        ),
        _number(
            "request_timeout",
            300,
            "Request timeout (s)",
            "Wall-clock limit of one whole request, body included (a server trickling bytes cannot stretch it); "
            "a request over the limit is retried like other transient faults.",
            integer=True,
        ),
    ).to_dict()

    @override
    def discover_streams(self) -> list[Stream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]
