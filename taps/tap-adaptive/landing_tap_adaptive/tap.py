"""tap-adaptive: Workday Adaptive Planning's XML API as Singer streams."""

from __future__ import annotations

import io
import json
import sys
import typing as t
from pathlib import Path

import click
import requests
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from typing_extensions import override

from landing_tap_adaptive.errors import ConfigurationError
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

#: The vendor endpoint; the API version is part of the path (adaptive.md §1); v40 is the newest seen.
DEFAULT_API_URL = "https://api.adaptiveinsights.com/api/v40"
#: Errors that end a run with one line: the message already names the setting, stream or URL.
CLEAN_ERRORS = (FatalAPIError, RetriableAPIError, ConfigurationError, requests.exceptions.RequestException)
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


def fail(message: str) -> t.NoReturn:
    """End the run with one ``tap-adaptive: error: ...`` line and exit code 1 (no traceback)."""
    TapAdaptive.logger.error("tap-adaptive: error: %s", message)
    sys.exit(1)  # logging flushes at exit


def read_json_object(option: str, path: str, text: str | None = None) -> dict[str, t.Any]:
    """Parse an option's JSON file, or fail with one line naming the option, the file and the problem."""
    try:
        if text is None:
            text = Path(path).read_text(encoding="utf-8")
        value = json.loads(text)
    except OSError as exc:
        fail(f"{option} {path} cannot be read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        fail(f"{option} {path} is not UTF-8 text: {exc.reason} at byte {exc.start}")
    except json.JSONDecodeError as exc:
        fail(f"{option} {path} is not valid JSON: {exc.msg}: line {exc.lineno} column {exc.colno}")
    if not isinstance(value, dict):
        fail(f"{option} {path} must hold a JSON object, not {type(value).__name__}")
    return value


def check_state_shape(path: str, state: dict[str, t.Any]) -> None:
    """A Singer state is an object whose ``bookmarks`` (if any) map stream names to objects."""
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict) or not all(isinstance(v, dict) for v in bookmarks.values()):
        fail(f"--state {path} is not a Singer state: 'bookmarks' must map stream names to objects")


def check_catalog_shape(path: str, catalog: dict[str, t.Any]) -> None:
    """A Singer catalog is an object with a ``streams`` list of objects naming their ``tap_stream_id``."""
    streams = catalog.get("streams")
    if not isinstance(streams, list):
        fail(f"--catalog {path} is not a Singer catalog: it has no 'streams' list")
    for index, entry in enumerate(streams):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            fail(f"--catalog {path} is not a Singer catalog: streams[{index}] has no 'tap_stream_id'")
        if not isinstance(entry.get("metadata", []), list) or not isinstance(entry.get("schema", {}), dict):
            fail(f"--catalog {path}: stream {entry['tap_stream_id']!r} has a malformed 'metadata' or 'schema'")


class TapAdaptive(Tap):
    """Singer tap for Workday Adaptive Planning (all 23 export methods GitLab's operators load)."""

    name = "tap-adaptive"
    #: Distribution name, so `--version` and `--about` read the installed version (Tap.name is the plugin name).
    package_name = "landing-tap-adaptive"
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

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Set up as the SDK does, then check the input catalog's selection against the streams."""
        super().__init__(*args, **kwargs)
        self.check_selection()

    def check_selection(self) -> None:
        """Refuse a catalog that selects streams this tap does not have; warn when it selects nothing."""
        catalog = self.input_catalog
        if catalog is not None:
            unknown = sorted(
                entry.tap_stream_id
                for entry in catalog.values()
                if entry.tap_stream_id not in self.streams and entry.metadata.root.selected
            )
            if unknown:
                msg = (
                    f"the catalog selects stream(s) tap-adaptive does not have: {', '.join(unknown)} "
                    f"(run --discover for the {len(self.streams)} stream names)"
                )
                raise ConfigurationError(msg)
            if not any(stream.selected for stream in self.streams.values()):
                self.logger.warning("tap-adaptive: no stream is selected in the catalog; nothing to extract")

    @override
    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        """Read each ``--config`` file ourselves first, so a bad one fails in one line naming it."""
        for path in value:
            if path != "ENV":
                read_json_object("--config", path)
        return super().cb_config(ctx, param, value)

    @override
    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        state: t.IO[str] | None = None,
        catalog: t.IO[str] | None = None,
    ) -> None:
        """One clear line for bad files, API and config errors (traceback at DEBUG only), exit code 1."""
        if state is not None:
            path = getattr(state, "name", "state")
            text = state.read()
            check_state_shape(path, read_json_object("--state", path, text))
            state = io.StringIO(text)
        if catalog is not None:
            path = getattr(catalog, "name", "catalog")
            text = catalog.read()
            check_catalog_shape(path, read_json_object("--catalog", path, text))
            catalog = io.StringIO(text)
        try:
            super().invoke(about=about, about_format=about_format, config=config, state=state, catalog=catalog)
        except ConfigValidationError as exc:
            fail(f"invalid settings: {'; '.join(exc.errors)}")
        except CLEAN_ERRORS as exc:
            cls.logger.error("tap-adaptive: error: %s", exc)  # noqa: TRY400 - traceback only at DEBUG
            cls.logger.debug("traceback", exc_info=True)
            sys.exit(1)


if __name__ == "__main__":
    TapAdaptive.cli()
