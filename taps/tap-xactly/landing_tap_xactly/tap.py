"""TapXactly: settings and discovery (source metadata, else the built-in catalogue).

One-line errors, the checks of --config/--state/--catalog files and the log filters come from
``landing_tap_kit.cli``; what stays here is what only a JDBC tap needs (a JVM that must not wait for a
driver call stuck past its deadline).
"""

from __future__ import annotations

import logging
import re
import sys
import weakref
from typing import Any

from landing_tap_kit.cli import BadConfigError, OneLineErrorTap
from landing_tap_kit.stopping import StoppableTap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError

from landing_tap_xactly import discovery, jdbc
from landing_tap_xactly.client import XactlyStream
from landing_tap_xactly.errors import ConfigError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

#: shared/sources/xactly.md §1.4: the API gateway URL the public tap uses (properties in the query string).
DEFAULT_JDBC_URL = "jdbc:xactly://api.xactlycorp.com:443/api?sslVerifyServer=true"
#: §1.2: the driver class inside Xactly's xjdbc jar.
DEFAULT_DRIVER_CLASS = "com.xactly.connect.jdbc.Driver"
#: Numeric settings take a JSON number or a numeric string: Meltano sends a setting without a numeric
#: ``kind`` as text, and cannot send ``kind: decimal`` at all (it JSON-encodes a Decimal and crashes).
INTEGER = th.CustomType({"type": ["integer", "string"], "pattern": r"^\s*[0-9]+\s*$"})
NUMBER = th.CustomType({"type": ["number", "string"], "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*$"})


class TapXactly(StoppableTap, OneLineErrorTap):
    """Xactly Incent ``xactly.xc_*`` tables through Xactly Connect's JDBC driver."""

    name = "tap-xactly"
    #: Distribution name, so `--version` and `--about` read the installed version (Tap.name is the plugin name).
    package_name = "landing-tap-xactly"
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "jdbc_url",
            th.StringType(),
            default=DEFAULT_JDBC_URL,
            title="JDBC URL",
            description="Xactly Connect JDBC URL (pod/sandbox hosts differ; the emulator uses an H2 URL).",
        ),
        th.Property(
            "driver_class",
            th.StringType(),
            default=DEFAULT_DRIVER_CLASS,
            title="Driver class",
            description="JDBC driver class inside driver_jar.",
        ),
        th.Property(
            "driver_jar",
            th.CustomType({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
            title="Driver jar",
            description="Path of Xactly's JDBC driver jar (several: list, or os.pathsep-separated).",
        ),
        th.Property("username", th.StringType(), title="Username", description="Xactly Connect user."),
        th.Property("password", th.StringType(), secret=True, title="Password", description="Xactly Connect password."),
        th.Property(
            "client_id",
            th.StringType(),
            title="API gateway client id",
            description="Sent as the driver's clientID connection property when set.",
        ),
        th.Property(
            "consumer",
            th.StringType(),
            title="API gateway consumer",
            description="Sent as the driver's consumer connection property when set.",
        ),
        th.Property(
            "schema", th.StringType(), default="xactly", title="Schema", description="Schema holding the xc_* objects."
        ),
        th.Property(
            "start_date",
            th.DateTimeType(),
            title="Start date",
            description="Earliest MODIFIED_DATE to extract on a first run (default: everything).",
        ),
        th.Property(
            "page_size",
            INTEGER,
            default=10_000,
            title="Page size",
            description="Rows per round trip and between two checkpoints: state is written after every page_size rows.",
        ),
        th.Property(
            "tables_include",
            th.ArrayType(th.StringType()),
            default=["xc_*"],
            title="Tables to include",
            description="Shell patterns of table names to extract.",
        ),
        th.Property(
            "tables_exclude",
            th.ArrayType(th.StringType()),
            default=[],
            title="Tables to exclude",
            description="Shell patterns of table names to skip.",
        ),
        th.Property(
            "max_retries",
            INTEGER,
            default=5,
            title="Max tries per slice",
            description="Attempts (with reconnect) for a slice of page_size rows failing with a transient "
            "network/driver error.",
        ),
        th.Property(
            "max_retry_seconds",
            NUMBER,
            default=300,
            title="Max retry time without progress",
            description=(
                "Seconds one stream may spend on failed attempts and their waits since it last read page_size "
                "rows before it fails; every slice read starts it afresh."
            ),
        ),
        th.Property(
            "retry_initial_seconds",
            NUMBER,
            default=1.0,
            title="First retry wait",
            description="First backoff wait; doubles each try, capped at 60 s.",
        ),
        th.Property(
            "connect_timeout_seconds",
            NUMBER,
            default=60,
            title="Connect timeout",
            description="Seconds to connect and log in before giving up (a server that accepts the TCP "
            "connection and never answers fails the run instead of hanging it).",
        ),
        th.Property(
            "query_timeout_seconds",
            INTEGER,
            default=600,
            title="Query timeout",
            description="JDBC query timeout (the Xactly driver's own response timeout is 600 s).",
        ),
        th.Property(
            "skip_missing_tables",
            th.BooleanType(),
            default=False,
            title="Skip missing tables",
            description="A catalog table that no longer exists is logged as an error and skipped, "
            "instead of failing the run.",
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._client: jdbc.JdbcClient | None = None
        super().__init__(*args, **kwargs)

    @property
    def client(self) -> jdbc.JdbcClient:
        """The run's JDBC client; the driver jar is checked here, before the JVM starts."""
        if self._client is None:
            config = self.config
            _check_numbers(config)
            self._client = jdbc.JdbcClient(
                jdbc.ConnectionSettings(
                    jdbc_url=config.get("jdbc_url", DEFAULT_JDBC_URL),
                    driver_class=config.get("driver_class", DEFAULT_DRIVER_CLASS),
                    jars=jdbc.jar_paths(config.get("driver_jar")),
                    username=config.get("username"),
                    password=config.get("password"),
                    properties={"clientID": config.get("client_id") or "", "consumer": config.get("consumer") or ""},
                    query_timeout=int(config.get("query_timeout_seconds", 600)),
                    fetch_size=int(config.get("page_size", 10_000)),  # one round trip per slice
                    connect_timeout=float(config.get("connect_timeout_seconds", 60)),
                )
            )
            # Tap.sync_all is final: the connection closes when the tap goes away (or the process ends).
            weakref.finalize(self, self._client.close)
        return self._client

    @override
    def discover_streams(self) -> list[XactlyStream]:
        """From the input catalog when given (no round trip), else from the source's metadata."""
        include = self.config.get("tables_include", ["xc_*"])
        exclude = self.config.get("tables_exclude", [])
        if self.input_catalog:
            tables = [self._from_catalog_entry(entry) for entry in self.input_catalog.streams]
        else:
            tables = discovery.discover(self.client, self.config.get("schema", "xactly"), include, exclude)
        return [XactlyStream(self, table, self.client) for table in tables]

    @staticmethod
    def _from_catalog_entry(entry: Any) -> discovery.TableInfo:
        return discovery.TableInfo(
            name=entry.tap_stream_id,
            key=tuple(entry.key_properties or ()),
            replication_key=entry.replication_key,
            schema=entry.schema.to_dict(),
        )

    @classmethod
    @override
    def invoke(cls, **options: Any) -> None:
        """The kit's command, except that a setting of the wrong type is named without its value.

        The SDK's schema validator quotes the value it refused (``987654321987 is not of type 'string' in
        config['password']``), and the kit prints its message: a mistyped secret would reach the log.
        """
        try:
            super().invoke(**options)
        except BadConfigError as exc:
            errors = exc.__cause__.errors if isinstance(exc.__cause__, ConfigValidationError) else []
            names = sorted({name for error in errors for name in re.findall(r"config\['([^']+)'\]", error)})
            problem = f"invalid value for setting {', '.join(names)}" if names else "invalid config"
            raise ConfigError(f"{problem}: see its type in `landing-tap-xactly --about`") from None


def _check_numbers(config: Any) -> None:
    """Numeric settings as numbers or numeric strings (discovery runs without the SDK's config check)."""
    for name, pattern in (
        ("page_size", INTEGER),
        ("max_retries", INTEGER),
        ("query_timeout_seconds", INTEGER),
        ("max_retry_seconds", NUMBER),
        ("retry_initial_seconds", NUMBER),
        ("connect_timeout_seconds", NUMBER),
    ):
        value = config.get(name)
        if isinstance(value, str) and not re.match(pattern.type_dict["pattern"], value):
            msg = f"invalid value for setting {name}: see its type in `landing-tap-xactly --about`"
            raise ConfigError(msg)


logging.getLogger("JPype").setLevel(logging.WARNING)

if __name__ == "__main__":
    TapXactly.cli()
