"""``mapper-pii``: a Singer inline mapper that hashes personal fields with a secret key.

Meltano jobs no longer use it: every extractor with personal fields hashes through the
``pii-hashed-tap`` launcher (``launcher.py``), so no invocation can skip hashing. The mapper stays
for pipelines outside this project's Meltano definitions (``tap | mapper-pii | target``) and
shares the message hashing (:class:`MessageHasher`) with the launcher.

Why a mapper of our own rather than SDK stream maps: the SDK's map expressions offer md5 and
sha256 but no keyed hash, and a missing salt only shows up at the first record. This mapper
checks its key before reading a single message and refuses to start without it, and it is the
one process between tap and loader, so no record can reach the loader around it
(docs/privacy.md).
"""

from __future__ import annotations

import sys
import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader, MsgSpecWriter
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.mapper_base import InlineMapper
from singer_sdk.singerlib.encoding.simple import Message

from mapper_pii.hashing import MessageHasher, PiiConfigError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.plugin_base import _ConfigInput


@dataclass(slots=True)
class _Verbatim(Message):
    """A message written back exactly as it was read (after in-place hashing of its record).

    Re-building RecordMessage objects would re-parse ``time_extracted`` and drop keys the SDK
    does not model; a mapper that only hashes should change nothing else.
    """

    payload: dict[str, t.Any]

    @override
    def to_dict(self) -> dict[str, t.Any]:
        return self.payload


class PiiMapper(InlineMapper):
    """Replace configured personal fields with HMAC-SHA256 hashes; pass everything else through."""

    name = "mapper-pii"
    message_reader_class = MsgSpecReader
    message_writer_class = MsgSpecWriter
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "hash_key",
            th.StringType,
            secret=True,
            title="Hash key",
            description=(
                "Secret HMAC-SHA256 key (at least 16 characters). The same key must be used for "
                "every source so that one person hashes the same everywhere; in meltano.yml it "
                "comes from the PII_HASH_KEY environment variable."
            ),
        ),
        th.Property(
            "hash_fields",
            th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
            title="Fields to hash per stream",
            description=(
                'Stream name -> field paths to hash, e.g. {"people": ["email", "name"], '
                '"requests": ["assignees[].name", "reviewers[].reviewer.name"]}; '
                '"extra_fields.*" hashes every value of an object and keeps its keys.'
            ),
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._hashing = MessageHasher(self.config.get("hash_key"), self.config.get("hash_fields"))
        if not self._hashing.paths:
            self.logger.warning("mapper-pii has no hash_fields configured: records pass through unchanged")

    @override
    def map_schema_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[Message]:
        self._hashing.hash_message(message_dict)
        yield _Verbatim(message_dict)

    @override
    def map_record_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[Message]:
        self._hashing.hash_message(message_dict)
        yield _Verbatim(message_dict)

    @override
    def map_state_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[Message]:
        yield _Verbatim(message_dict)

    @override
    def map_activate_version_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[Message]:
        yield _Verbatim(message_dict)

    @override
    def map_batch_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[Message]:
        """A stream without personal fields passes; a hashed stream's files would carry raw values, so it fails."""
        self._hashing.hash_message(message_dict)
        yield _Verbatim(message_dict)

    @override
    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        file_input: t.IO[str] | None = None,
    ) -> None:
        """Run the mapper; a configuration problem ends in one line on stderr and exit code 1."""
        try:
            super().invoke(about=about, about_format=about_format, config=config, file_input=file_input)
        except PiiConfigError as exc:
            sys.stderr.write(f"mapper-pii: {exc}\n")
            sys.stderr.flush()
            sys.exit(1)
