"""TapXactly: settings, discovery (source metadata, else the built-in catalogue) and one-line errors."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
import weakref
from types import FrameType
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import SingerCommand

from landing_tap_xactly import discovery, inputs, jdbc
from landing_tap_xactly.client import XactlyStream
from landing_tap_xactly.errors import ConfigError, XactlyError

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


class OneLineErrorCommand(SingerCommand):
    """The SDK command, but a failure prints one line naming what failed; the traceback is DEBUG only."""

    @override
    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                argv = kwargs.get("args", args[0] if args else None)
                inputs.check(sys.argv[1:] if argv is None else list(argv))
                return super().main(*args, **kwargs)
            except XactlyError as exc:
                self._fail(str(exc), exc)
            except ConfigValidationError as exc:
                # Name the settings, never their values (a wrong-typed password would be echoed).
                names = sorted({n for e in exc.errors for n in re.findall(r"config\['([^']+)'\]", e)})
                problem = f"invalid value for setting {', '.join(names)}" if names else "invalid config"
                self._fail(f"{problem}: see its type in `tap-xactly --about`", exc)
            except Exception as exc:
                first = str(exc).splitlines()[0] if str(exc) else ""
                self._fail(f"tap-xactly failed: {type(exc).__name__}: {first}", exc)
        except SystemExit as done:
            if jdbc.stuck_calls():
                # The JVM's orderly shutdown would wait forever for a JDBC call stuck in the driver.
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(OSError, ValueError):
                        stream.flush()
                os._exit(code)
            raise
        return None

    def _fail(self, message: str, exc: BaseException) -> None:
        self.logger.error(message)
        self.logger.debug("traceback", exc_info=exc)
        sys.exit(1)


class TapXactly(Tap):
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
            description="Rows per keyset page; state is written after every page.",
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
            title="Max tries per page",
            description="Attempts (with reconnect) for a page failing with a transient network/driver error.",
        ),
        th.Property(
            "max_retry_seconds",
            NUMBER,
            default=300,
            title="Max retry time without progress",
            description=(
                "Seconds one stream may spend on failed attempts and their waits since it last read a page "
                "before it fails; every page read starts it afresh."
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
        self._selection_checked = False
        super().__init__(*args, **kwargs)

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """The SDK's streams; a catalog that selects none of them gets one warning (exit 0: nothing to do)."""
        streams = super().streams
        if self.input_catalog is not None and not self._selection_checked:
            self._selection_checked = True
            if not any(stream.selected for stream in streams.values()):
                self.logger.warning("the catalog selects no stream: nothing will be extracted")
        return streams

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

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: final state (the SDK's part), one line, exit 128 + signal number, at once.

        The SDK would exit 0, and a scheduler must see a stopped run as failed. ``os._exit`` because a
        JDBC call may still be stuck in its thread (jdbc._JavaThread), and an orderly JVM shutdown would
        wait for it.
        """
        try:
            for stream in self.streams.values():
                if isinstance(stream, XactlyStream):
                    stream.rewind_to_written_row()
            super()._handle_termination(signum, frame)  # writes the state, then exits 0: not for us
        except SystemExit:
            pass
        finally:
            self.logger.error("tap-xactly stopped by %s", signal.Signals(signum).name)
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(128 + signum)

    @classmethod
    @override
    def get_singer_command(cls) -> OneLineErrorCommand:
        command = super().get_singer_command()
        return OneLineErrorCommand(
            name=command.name,
            callback=command.callback,
            params=command.params,
            help=command.help,
            context_settings=command.context_settings,
            logger=cls.logger,
        )


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
            msg = f"invalid value for setting {name}: see its type in `tap-xactly --about`"
            raise ConfigError(msg)


logging.getLogger("JPype").setLevel(logging.WARNING)

if __name__ == "__main__":
    TapXactly.cli()
