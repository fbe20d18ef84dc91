"""tap-zengrc: the Tap class and its settings (one-line errors come from landing_tap_kit.cli)."""

from __future__ import annotations

import sys
import typing as t

from landing_tap_kit.cli import OneLineErrorTap
from landing_tap_kit.stopping import StoppableTap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter

from landing_tap_zengrc.client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RETRY_BASE_SECONDS,
    VENDOR_URL,
    resolve_api_url,
)
from landing_tap_zengrc.streams import STREAM_TYPES

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from landing_tap_zengrc.client import ZenGRCStream

#: Meltano 4.4 cannot hand a `kind: decimal` setting to a plugin (it JSON-encodes a Decimal and crashes),
#: so tap-zengrc.meltano.yml declares numeric settings as strings: every numeric setting takes a JSON
#: number or a numeric string ("2.5").
NUMBER = th.CustomType({"type": ["number", "string"], "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*$"})
INTEGER = th.CustomType({"type": ["integer", "string"], "pattern": r"^\s*[0-9]+\s*$"})


class TapZenGRC(StoppableTap, OneLineErrorTap):
    """Extracts every ZenGRC collection; settings are drop-in for GitLab's tap-zengrc (base_url, username, password)."""

    name = "tap-zengrc"
    known_stream_names = tuple(str(vars(stream_type)["name"]) for stream_type in STREAM_TYPES)
    #: Distribution name, so `--version` and `--about` read the installed version (Tap.name is the plugin name).
    package_name = "landing-tap-zengrc"
    #: msgspec encodes records about twice as fast as the SDK's default simplejson writer.
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.URIType,
            title="API URL",
            description=(
                f"ZenGRC API root including /api/v2. Default: {VENDOR_URL} built from `tenant`. "
                "Point it at any server that speaks the API (a proxy, the local emulator)."
            ),
        ),
        th.Property(
            "tenant",
            th.StringType,
            title="Tenant",
            description="Your tenant, the `acme` of https://acme.api.zengrc.com; used when `api_url` is unset.",
        ),
        th.Property(
            "base_url",
            th.URIType,
            title="Base URL (GitLab tap compatibility)",
            description="Same as `api_url`; accepted so configs of GitLab's tap-zengrc work unchanged.",
        ),
        th.Property(
            "username",
            th.StringType,
            required=True,
            title="API key id",
            description="ZenGRC API key id, sent as the HTTP Basic user name.",
        ),
        th.Property(
            "password",
            th.StringType,
            required=True,
            secret=True,
            title="API key secret",
            description="ZenGRC API key secret, sent as the HTTP Basic password.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description=(
                "Records last updated before this moment are not emitted "
                "(the API cannot filter, so all pages are still read)."
            ),
        ),
        th.Property(
            "page_size",
            INTEGER,
            title="Page size",
            description="Records per page to ask for (`page_size` parameter); unset leaves the server's default.",
        ),
        th.Property(
            "request_timeout",
            INTEGER,
            default=DEFAULT_REQUEST_TIMEOUT,
            title="Request timeout (s)",
            description=(
                "Wall-clock limit of one request, body included: a server that answers slowly or trickles "
                "its page fails the attempt after this many seconds (then retried like other timeouts)."
            ),
        ),
        th.Property(
            "max_retries",
            INTEGER,
            default=DEFAULT_MAX_RETRIES,
            title="Max retries",
            description="Retries of one page after 429, 5xx, dropped connections, timeouts or broken JSON.",
        ),
        th.Property(
            "max_retry_seconds",
            NUMBER,
            default=DEFAULT_MAX_RETRY_SECONDS,
            title="Retry budget without progress (s)",
            description=(
                "Seconds a stream may spend in failed attempts and waits since its last good page before it "
                "gives up (whichever of this and `max_retries` runs out first); every good page starts it "
                "afresh. A Retry-After longer than what is left ends the stream at once."
            ),
        ),
        th.Property(
            "retry_base_seconds",
            NUMBER,
            default=DEFAULT_RETRY_BASE_SECONDS,
            title="Retry base wait (s)",
            description=(
                "First backoff wait, doubled per retry (capped at 60 s); a Retry-After header is always waited in full."
            ),
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Emit ACTIVATE_VERSION",
            description=(
                "After each complete stream, tell the loader which table version is current so rows deleted "
                "in ZenGRC are marked deleted (`_sdc_deleted_at`)."
            ),
        ),
        th.Property("user_agent", th.StringType, title="User agent", description="User-Agent header to send."),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        resolve_api_url(self.config)  # fail at start-up, before any stream runs

    @override
    def discover_streams(self) -> list[ZenGRCStream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]
