"""tap-adaptive: Workday Adaptive Planning's XML API as Singer streams."""

from __future__ import annotations

import logging
import sys
import typing as t

import requests
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from tap_adaptive.client import ConfigurationError
from tap_adaptive.export_data import ExportDataStream, ExportVersionsStream
from tap_adaptive.streams import (
    SIMPLE_STREAMS,
    ExportConfigurableModelDataStream,
    ExportModeledSheetStream,
    ExportSecurityAuditStream,
    ExportSheetDefinitionStream,
    ExportSheetsStream,
    ExportTransactionDefinitionStream,
)

#: The vendor endpoint; the API version is part of the path (adaptive.md §1); v40 is the newest seen.
DEFAULT_API_URL = "https://api.adaptiveinsights.com/api/v40"
#: Errors that end a run with one line: the message already names the setting, stream or URL.
CLEAN_ERRORS = (FatalAPIError, RetriableAPIError, ConfigurationError, requests.exceptions.RequestException)


def _strings(name: str, title: str, description: str) -> th.Property[t.Any]:
    return th.Property(name, th.ArrayType(th.StringType), title=title, description=description)


class TapAdaptive(Tap):
    """Singer tap for Workday Adaptive Planning (all 23 export methods GitLab's operators load)."""

    name = "tap-adaptive"
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
        th.Property(
            "max_retries",
            th.IntegerType,
            default=5,
            title="Max retries",
            description="Retries of a throttled, failed or malformed response before giving up.",
        ),
        th.Property(
            "retry_base_seconds",
            th.NumberType,
            default=2.0,
            title="Retry base wait",
            description="First backoff wait (doubles per retry) when no Retry-After is given.",
        ),
        th.Property(
            "max_retry_wait_seconds",
            th.NumberType,
            default=60.0,
            title="Max retry wait",
            description="Upper bound of a single backoff wait, Retry-After included.",
        ),
        th.Property("request_timeout", th.IntegerType, default=300, title="Request timeout (s)"),
    ).to_dict()

    @override
    def discover_streams(self) -> list[Stream]:
        classes: list[type[Stream]] = [
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
        return [cls(tap=self) for cls in classes]

    @override
    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """One clear line for API and config errors (traceback at DEBUG only), exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except CLEAN_ERRORS as exc:
            retried = " (gave up after retries)" if isinstance(exc, RetriableAPIError) else ""
            cls.logger.error("tap-adaptive: %s%s", exc, retried)  # noqa: TRY400 - traceback only at DEBUG
            cls.logger.debug("traceback", exc_info=True)
            logging.shutdown()
            sys.exit(1)


if __name__ == "__main__":
    TapAdaptive.cli()
