"""tap-zengrc: the Tap class, its settings, and one-line errors on the command line."""

from __future__ import annotations

import io
import json
import sys
import typing as t
from pathlib import Path

import click
import requests
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.singerlib import Catalog

from landing_tap_zengrc.client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RETRY_BASE_SECONDS,
    VENDOR_URL,
    describe_error,
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


class TapZenGRC(Tap):
    """Extracts every ZenGRC collection.

    Settings are drop-in for GitLab's tap-zengrc (`base_url`, `username`, `password`).
    """

    name = "tap-zengrc"
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

    # -- command line ----------------------------------------------------------------------------

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with --state and --catalog read by :meth:`invoke` to name the file on errors."""
        command = super().get_singer_command()
        for param in command.params:
            if param.name in {"state", "catalog"}:
                param.type = click.STRING
        return command

    @classmethod
    @override
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        for path in value:
            if path != "ENV":
                _read_json_file("--config", path, must_be="object")
        return super().cb_config(ctx, param, value)

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        state: str | None = None,
        catalog: str | None = None,
    ) -> None:
        """Run the tap; any failure ends in one error line naming the cause, and exit status 1."""
        state_file = catalog_file = None
        if not about:
            if state is not None:
                state_file = io.StringIO(json.dumps(_checked_state(state)))
            if catalog is not None:
                catalog_file = io.StringIO(json.dumps(_checked_catalog(catalog)))
        try:
            super().invoke(
                about=about, about_format=about_format, config=config, state=state_file, catalog=catalog_file
            )
        except ConfigValidationError as exc:
            for error in exc.errors or [str(exc)]:
                _fail(f"config: {error}")
        except (FatalAPIError, RetriableAPIError, requests.RequestException, RuntimeError) as exc:
            cls.logger.debug("traceback", exc_info=True)
            _fail(describe_error(exc))


def _fail(message: str) -> t.NoReturn:
    TapZenGRC.logger.error("tap-zengrc: error: %s", message)
    sys.exit(1)


def _read_json_file(option: str, path: str, *, must_be: str) -> t.Any:
    """The file's JSON, or one error line naming the option, the file and what is wrong with it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(f"{option} {path} does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{option} {path} cannot be read: {exc}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{option} {path} is not valid JSON: {exc}")
    if must_be == "object" and not isinstance(data, dict):
        _fail(f"{option} {path} must hold a JSON object, not {_json_kind(data)}")
    return data


def _json_kind(value: t.Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def _checked_state(path: str) -> dict[str, t.Any]:
    """A Singer state: an object whose ``bookmarks``, if any, map stream names to objects."""
    state: dict[str, t.Any] = _read_json_file("--state", path, must_be="object")
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        _fail(f"--state {path}: `bookmarks` must be an object of streams, not {_json_kind(bookmarks)}")
    for stream, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            _fail(f"--state {path}: the bookmark of stream {stream!r} must be an object, not {_json_kind(bookmark)}")
    return state


def _checked_catalog(path: str) -> dict[str, t.Any]:
    """A Singer catalog that selects only streams this tap has (a warning when it selects none)."""
    catalog: dict[str, t.Any] = _read_json_file("--catalog", path, must_be="object")
    streams = catalog.get("streams")
    if not isinstance(streams, list):
        _fail(f"--catalog {path} must hold a `streams` list, not {_json_kind(streams)}")
    for index, entry in enumerate(streams):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            _fail(f"--catalog {path}: streams[{index}] has no `tap_stream_id` string")
    try:
        parsed = Catalog.from_dict(catalog)
        selected = [entry.tap_stream_id for entry in parsed.streams if entry.metadata.resolve_selection()[()]]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        _fail(f"--catalog {path} is not a Singer catalog: {type(exc).__name__}: {exc}")
    known = {str(vars(stream_type)["name"]) for stream_type in STREAM_TYPES}
    unknown = sorted(set(selected) - known)
    if unknown:
        _fail(
            f"--catalog {path} selects stream(s) tap-zengrc does not have: {', '.join(unknown)} "
            f"(it has: {', '.join(sorted(known))})"
        )
    if not selected:
        TapZenGRC.logger.warning(
            "tap-zengrc: --catalog %s selects no stream: nothing will be extracted (check `select`)", path
        )
    return catalog
