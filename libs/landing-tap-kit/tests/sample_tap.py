"""A minimal tap built only from the kit's parts, so the kit's tests exercise them through a real command line.

``python -m tests.sample_tap --config …`` (from the kit's folder). One stream, ``things``, at ``<api_url>/things``:
records under ``data``, the next page under ``next`` (a path), as a JSON REST API might send them.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

import requests
from landing_tap_kit.cli import OneLineErrorTap
from landing_tap_kit.records import FastRecordStream
from landing_tap_kit.retries import RetryingRESTStream, RetryPolicy
from landing_tap_kit.shaping import EXTRA_FIELDS_PROPERTY, RecordShaper
from landing_tap_kit.stopping import StoppableTap
from landing_tap_kit.transport import prepare_session
from landing_tap_kit.versions import VersionAfterFullRead
from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseHATEOASPaginator

if t.TYPE_CHECKING:
    from urllib.parse import ParseResult

    from singer_sdk.helpers.types import Context


class NextPathPaginator(BaseHATEOASPaginator):
    def get_next_url(self, response: requests.Response) -> str | None:
        return response.json().get("next")


class ThingsStream(FastRecordStream, VersionAfterFullRead, RetryingRESTStream["ParseResult"]):
    name = "things"
    path = "/things"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("id",)
    records_jsonpath = "$.data[*]"
    source_name = "Sample"
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("name", th.StringType),
        th.Property("size", th.NumberType),
        th.Property("active", th.BooleanType),
        th.Property("updated_at", th.DateTimeType),
        th.Property("owner", th.ObjectType(th.Property("id", th.IntegerType), th.Property("email", th.StringType))),
        EXTRA_FIELDS_PROPERTY,
    ).to_dict()

    @property
    def url_base(self) -> str:
        return str(self.config["api_url"])

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_config(self.config, base_seconds=0.05)

    @cached_property
    def requests_session(self) -> requests.Session:
        return prepare_session(super().requests_session, self.url_base)

    @property
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 30))

    def get_new_paginator(self) -> NextPathPaginator:
        return NextPathPaginator()

    def get_url_params(self, context: Context | None, next_page_token: ParseResult | None) -> dict[str, t.Any]:
        return dict(p.split("=", 1) for p in next_page_token.query.split("&")) if next_page_token else {}

    @cached_property
    def shaper(self) -> RecordShaper:
        return RecordShaper(self.name, self.schema, self.logger)

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        self.begin_version()
        yield from super().get_records(context)
        self.announce_version()

    def post_process(self, row: dict[str, t.Any], context: Context | None = None) -> dict[str, t.Any] | None:
        return self.shaper.shape(row)


class TapSample(StoppableTap, OneLineErrorTap):
    name = "tap-sample"
    known_stream_names = ("things",)
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType, required=True),
        th.Property("password", th.StringType, secret=True),
        th.Property("request_timeout", th.IntegerType),
        th.Property("max_retry_seconds", th.NumberType),
        th.Property("max_retries", th.IntegerType),
        th.Property("retry_base_seconds", th.NumberType),
        th.Property("rate_limit_default_wait", th.NumberType),
        th.Property("emit_activate_version_messages", th.BooleanType),
    ).to_dict()

    def discover_streams(self) -> list[ThingsStream]:
        return [ThingsStream(tap=self)]


if __name__ == "__main__":
    TapSample.cli()
