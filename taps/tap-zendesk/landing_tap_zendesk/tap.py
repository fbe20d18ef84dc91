"""TapZendesk: settings and the stream list; the command line is the kit's one-line-error CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from landing_tap_kit import inputs
from landing_tap_kit.cli import OneLineErrorTap
from landing_tap_kit.gc_tuning import relax_garbage_collection
from landing_tap_kit.stopping import StoppableTap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from landing_tap_zendesk import settings, streams
from landing_tap_zendesk.client import DISTRIBUTION

if TYPE_CHECKING:
    from singer_sdk.streams import Stream


class TapZendesk(StoppableTap, OneLineErrorTap):
    """Zendesk Support tap: the singer-io tap's streams on the Meltano Singer SDK, any API host."""

    name = "tap-zendesk"
    #: Distribution name, so `--version` and `--about` read the installed version (Tap.name is the plugin name).
    package_name = DISTRIBUTION
    message_writer_class = MsgSpecWriter
    #: A catalog selecting another stream name is refused with one line (a typo would load nothing).
    known_stream_names = streams.STREAM_NAMES

    config_jsonschema = th.PropertiesList(
        th.Property(
            "subdomain",
            th.StringType,
            title="Subdomain",
            description="Account name: 'acme' for https://acme.zendesk.com (a pasted URL of it works).",
        ),
        th.Property("email", th.StringType, title="Email", description="Agent email for API-token auth."),
        th.Property(
            "api_token",
            th.StringType,
            secret=True,
            title="API token",
            description="Zendesk API token, sent as Basic '{email}/token:{api_token}'.",
        ),
        th.Property(
            "access_token",
            th.StringType,
            secret=True,
            title="OAuth access token",
            description="OAuth token, sent as Bearer; used when api_token is not set.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            required=True,
            title="Start date",
            description="Export changes from this moment on (first run; later runs resume from state).",
        ),
        th.Property(
            "api_url",
            th.StringType,
            title="API URL",
            description="API root; default https://{subdomain}.zendesk.com/api/v2 (set for proxy/emulator).",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=100),
            default=100,
            title="Page size",
            description="page[size] for cursor-paginated lists (max 100); exports always use 1000.",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType(minimum=1),
            default=settings.DEFAULT_REQUEST_TIMEOUT,
            title="Request timeout (s)",
            description="Wall-clock limit of one HTTP request, body included; a timed-out request is retried.",
        ),
        th.Property(
            "max_retry_seconds",
            th.NumberType(minimum=0),
            default=settings.DEFAULT_MAX_RETRY_SECONDS,
            title="Retry budget without progress (s)",
            description=(
                "Seconds a stream may spend in failed attempts and waits (429 Retry-After, 5xx, timeouts) "
                "since its last successful response before it fails; every success starts it afresh, so a "
                "long backfill under the 10/min export limit keeps going."
            ),
        ),
        th.Property(
            "rate_limit_default_wait",
            th.NumberType(minimum=0),
            default=settings.DEFAULT_RATE_LIMIT_WAIT,
            title="Default 429 wait",
            description="Seconds to wait after a 429 that carries no Retry-After header.",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Emit ACTIVATE_VERSION",
            description=(
                "After a full-table list was read completely, tell the loader the current table version so "
                "rows deleted in Zendesk are marked deleted (_sdc_deleted_at)."
            ),
        ),
    ).to_dict()

    #: Settings given in whole seconds / as any number: coerced from what Meltano or a file sends.
    INTEGER_SETTINGS = ("page_size", "request_timeout")
    NUMBER_SETTINGS = ("max_retry_seconds", "rate_limit_default_wait")

    def __init__(self, **kwargs: Any) -> None:
        """Validate what JSON Schema cannot (auth pairs, subdomain, start_date) before any request.

        Numbers sent as text ("2.5") are coerced first: Meltano and hand-written files send them so.
        """
        config = kwargs.get("config")
        found: list[str] = []
        if isinstance(config, dict):
            config = dict(config)
            found = inputs.coerce_numbers(config, self.INTEGER_SETTINGS, self.NUMBER_SETTINGS)
            kwargs["config"] = config
        if found and kwargs.get("validate_config", True):
            raise ConfigValidationError("Config validation failed", errors=found)
        super().__init__(**kwargs)
        if kwargs.get("validate_config", True):
            found = settings.problems(self.config)
            if found:
                raise ConfigValidationError("Config validation failed", errors=found)

    @override
    def discover_streams(self) -> list[Stream]:
        return [stream_class(tap=self) for stream_class in streams.STREAMS]

    @classmethod
    @override
    def invoke(cls, **options: Any) -> None:
        """Run the command with cycle collection relaxed (``landing_tap_kit.gc_tuning``: ~15% on tickets).

        Here, not in ``__init__``: only a real run parses large pages; the standard tests build the tap
        in the test process many times.
        """
        relax_garbage_collection()
        super().invoke(**options)


if __name__ == "__main__":
    TapZendesk.cli()
