"""Record shaping: nothing the source sends is lost, no value corrupts its column, one warning per fact."""

from __future__ import annotations

import logging

import pytest
from landing_tap_kit.shaping import EXTRA_FIELDS, RecordShaper
from singer_sdk import typing as th

SCHEMA = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("code", th.StringType),
    th.Property("size", th.NumberType),
    th.Property("active", th.BooleanType),
    th.Property("tags", th.ArrayType(th.StringType)),
    th.Property("updated_at", th.DateTimeType),
    th.Property("due", th.DateType),
    th.Property("anything", th.CustomType({"type": ["string", "integer", "null"]})),
).to_dict()


@pytest.fixture
def shaper(caplog) -> RecordShaper:
    caplog.set_level(logging.WARNING)
    return RecordShaper("things", SCHEMA, logging.getLogger("test-shaping"))


@pytest.mark.parametrize(
    ("field", "sent", "landed"),
    [
        ("id", "42", 42),
        ("id", 42.0, 42),
        ("size", "2.5", 2.5),
        ("active", "true", True),
        ("active", "No", False),
        ("active", 1, True),
        ("code", 1234, "1234"),
        ("code", True, "true"),
        ("updated_at", "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00+00:00"),
        ("updated_at", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00+00:00"),
        ("updated_at", "2024-05-01T12:00:00", "2024-05-01T12:00:00+00:00"),
    ],
)
def test_a_drifted_value_is_converted_when_nothing_is_lost(shaper, field, sent, landed):
    record = shaper.shape({"id": 1, field: sent})
    assert record[field] == landed
    assert type(record[field]) is type(landed)
    assert EXTRA_FIELDS not in record


@pytest.mark.parametrize(
    ("field", "sent"),
    [("id", "4x"), ("id", 4.5), ("active", "maybe"), ("tags", "a,b"), ("updated_at", "yesterday"), ("due", "31/12")],
)
def test_a_value_that_cannot_be_converted_lands_null_and_is_kept_as_sent(shaper, caplog, field, sent):
    record = shaper.shape({"id": 1, field: sent} if field != "id" else {field: sent})
    assert record[field] is None
    assert record[EXTRA_FIELDS] == {field: sent}
    assert f"stream things: field {field} sent as" in caplog.text


def test_unknown_fields_move_to_extra_fields_with_one_warning_per_stream(shaper, caplog):
    first = shaper.shape({"id": 1, "legacy": "x", "owner_id": 5})
    second = shaper.shape({"id": 2, "legacy": "y"})
    assert first == {"id": 1, EXTRA_FIELDS: {"legacy": "x", "owner_id": 5}}
    assert second == {"id": 2, EXTRA_FIELDS: {"legacy": "y"}}
    assert caplog.text.count("fields not in the schema kept in extra_fields") == 1


def test_a_shape_seen_clean_still_gets_its_date_times_in_utc(shaper):
    assert shaper.shape({"id": 1, "updated_at": "2024-05-01T00:00:00+00:00"}) == {
        "id": 1,
        "updated_at": "2024-05-01T00:00:00+00:00",
    }
    again = shaper.shape({"id": 2, "updated_at": "2024-05-01T03:00:00+03:00"})
    assert again["updated_at"] == "2024-05-01T00:00:00+00:00"


def test_unions_and_nulls_pass_untouched(shaper):
    record = {"id": 1, "anything": 5, "code": None, "tags": None}
    assert shaper.shape(dict(record)) == record


def test_extra_fields_can_be_present_in_every_record(caplog):
    shaper = RecordShaper("things", SCHEMA, logging.getLogger("t"), always_emit_extra_fields=True)
    assert shaper.shape({"id": 1}) == {"id": 1, EXTRA_FIELDS: None}


def test_passthrough_fields_are_neither_schema_nor_extra():
    shaper = RecordShaper("things", SCHEMA, logging.getLogger("t"), passthrough=("users",))
    assert shaper.shape({"id": 1, "users": [{"id": 2}]}) == {"id": 1, "users": [{"id": 2}]}
