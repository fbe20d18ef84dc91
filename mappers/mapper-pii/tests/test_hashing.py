"""The keyed hash and its normalisation: what makes hashes joinable across sources."""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal

import pytest
from mapper_pii.hashing import FieldPath, KeyedHasher, PiiConfigError, hash_in_record, hash_in_schema

KEY = "test-key-0123456789abcdef"


def reference_hmac(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def test_hash_is_hmac_sha256_of_the_normalised_text() -> None:
    assert KeyedHasher(KEY)("Ana Lopez") == reference_hmac(KEY, "ana lopez")


@pytest.mark.parametrize("variant", ["ana.lopez@example.com", " Ana.Lopez@Example.COM ", "ANA.LOPEZ@EXAMPLE.COM\n"])
def test_one_email_written_differently_hashes_the_same(variant: str) -> None:
    hasher = KeyedHasher(KEY)
    assert hasher(variant) == hasher("ana.lopez@example.com")


@pytest.mark.parametrize("variant", ["+1 (555) 010-2000", "+1 555 010 2000", "+1.555.010.2000", "+15550102000"])
def test_one_phone_number_written_differently_hashes_the_same(variant: str) -> None:
    hasher = KeyedHasher(KEY)
    assert hasher(variant) == hasher("+15550102000")


def test_names_ignore_case_and_extra_spaces() -> None:
    hasher = KeyedHasher(KEY)
    assert hasher("  Ana   LOPEZ ") == hasher("Ana Lopez")


@pytest.mark.parametrize("variant", [85000, 85000.0, Decimal("85000.00"), Decimal("8.5E+4")])
def test_one_salary_written_differently_hashes_the_same(variant: object) -> None:
    assert KeyedHasher(KEY)(variant) == reference_hmac(KEY, "85000")


def test_another_key_gives_another_hash() -> None:
    assert KeyedHasher(KEY)("ana@example.com") != KeyedHasher(KEY + "x")("ana@example.com")


def test_null_and_empty_values_stay_as_they_are() -> None:
    hasher = KeyedHasher(KEY)
    assert hasher(None) is None
    assert hasher("") == ""


def test_a_short_key_is_refused() -> None:
    with pytest.raises(PiiConfigError, match="shorter than 16"):
        KeyedHasher("short")


@pytest.mark.parametrize("text", ["", "a..b", "a[].", "assignees[]name", "na-me", "x[0].name", "*", "a.*.b", "a.**"])
def test_malformed_paths_are_refused(text: str) -> None:
    with pytest.raises(PiiConfigError, match="invalid field path"):
        FieldPath.parse(text)


def test_nested_paths_reach_every_person_reference() -> None:
    hasher = KeyedHasher(KEY)
    record = {
        "id": 412,
        "assignees": [{"id": 77, "name": "Ana Lopez", "type": "Person"}, {"id": 78, "name": None}],
        "reviewers": [{"reviewer": {"id": 12, "name": "Sam Chen"}, "status": "Pending"}],
        "requester": {"email": "Sam.Chen@example.com"},
        "primary_contact": None,
        "tags": ["Ana", "Sam"],
    }
    for text in [
        "assignees[].name",
        "reviewers[].reviewer.name",
        "requester.email",
        "primary_contact.name",
        "tags[]",
    ]:
        hash_in_record(record, FieldPath.parse(text).segments, hasher)

    assert record["assignees"] == [
        {"id": 77, "name": hasher("Ana Lopez"), "type": "Person"},
        {"id": 78, "name": None},
    ]
    assert record["reviewers"] == [{"reviewer": {"id": 12, "name": hasher("Sam Chen")}, "status": "Pending"}]
    assert record["requester"] == {"email": hasher("sam.chen@example.com")}
    assert record["primary_contact"] is None
    assert record["tags"] == [hasher("Ana"), hasher("Sam")]


def test_an_object_where_a_scalar_was_configured_is_hashed_whole() -> None:
    hasher = KeyedHasher(KEY)
    record = {"owner": {"first": "Ana", "last": "Lopez"}}
    hash_in_record(record, FieldPath.parse("owner").segments, hasher)
    assert isinstance(record["owner"], str)
    assert "Ana" not in record["owner"]


def test_schema_leaf_becomes_a_string_keeping_nullability() -> None:
    schema = {
        "type": "object",
        "properties": {
            "SALARY": {"type": ["number", "null"]},
            "EMPLOYEE_ID": {"type": "integer"},
            "assignees": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                },
            },
        },
    }
    for text in ["SALARY", "EMPLOYEE_ID", "assignees[].name"]:
        hash_in_schema(schema, FieldPath.parse(text), "s")

    props = schema["properties"]
    assert props["SALARY"]["type"] == ["string", "null"]
    assert props["EMPLOYEE_ID"]["type"] == "string"
    assert props["assignees"]["items"]["properties"]["name"]["type"] == "string"
    assert props["assignees"]["items"]["properties"]["id"] == {"type": "integer"}


def test_a_field_missing_from_the_schema_is_a_configuration_error() -> None:
    schema = {"type": "object", "properties": {"email": {"type": "string"}}}
    with pytest.raises(PiiConfigError, match="stream 'people' has no field 'emial'"):
        hash_in_schema(schema, FieldPath.parse("emial"), "people")


def test_below_a_free_form_object_the_schema_is_left_alone() -> None:
    schema = {"type": "object", "properties": {"requester": {"type": ["object", "null"]}}}
    hash_in_schema(schema, FieldPath.parse("requester.email"), "tickets")
    assert schema["properties"]["requester"] == {"type": ["object", "null"]}


EXTRA_SCHEMA = {"type": ["object", "null"], "additionalProperties": True}


def test_every_value_of_extra_fields_is_hashed_and_every_key_kept() -> None:
    hasher = KeyedHasher(KEY)
    record = {
        "id": 7,
        "email": None,
        "extra_fields": {
            "mobile_phone": "+1 (555) 010-2000",
            "email": {"primary": "Ana.Lopez@example.com"},
            "aliases": ["Ana", "Annie"],
            "nickname": None,
            "badge_number": 4711,
        },
    }
    hash_in_record(record, FieldPath.parse("extra_fields.*").segments, hasher)

    extra = record["extra_fields"]
    assert list(extra) == ["mobile_phone", "email", "aliases", "nickname", "badge_number"]
    assert extra["mobile_phone"] == reference_hmac(KEY, "+15550102000")
    # A nested value (a drifted field's original object, a list) is hashed whole, like any leaf.
    assert extra["email"] == reference_hmac(KEY, '{"primary":"Ana.Lopez@example.com"}')
    assert extra["aliases"] == reference_hmac(KEY, '["Ana","Annie"]')
    assert extra["nickname"] is None
    assert extra["badge_number"] == reference_hmac(KEY, "4711")
    assert record["id"] == 7


@pytest.mark.parametrize("extra", [None, {}])
def test_null_or_empty_extra_fields_stay_as_they_are(extra: object) -> None:
    record = {"id": 7, "extra_fields": extra}
    hash_in_record(record, FieldPath.parse("extra_fields.*").segments, KeyedHasher(KEY))
    assert record == {"id": 7, "extra_fields": extra}


def test_a_record_without_extra_fields_is_left_alone() -> None:
    record = {"id": 7}
    hash_in_record(record, FieldPath.parse("extra_fields.*").segments, KeyedHasher(KEY))
    assert record == {"id": 7}


def test_a_non_object_where_every_value_was_configured_is_hashed_whole() -> None:
    hasher = KeyedHasher(KEY)
    record = {"extra_fields": ["Ana Lopez"]}
    hash_in_record(record, FieldPath.parse("extra_fields.*").segments, hasher)
    assert record["extra_fields"] == reference_hmac(KEY, '["Ana Lopez"]')


def test_every_value_below_lists_and_nested_objects() -> None:
    hasher = KeyedHasher(KEY)
    record = {
        "reviewers": [{"reviewer": {"id": 12, "extra_fields": {"phone": "555 0100"}}}],
        "profiles": [{"phone": "555 0101"}, None],
    }
    hash_in_record(record, FieldPath.parse("reviewers[].reviewer.extra_fields.*").segments, hasher)
    hash_in_record(record, FieldPath.parse("profiles[].*").segments, hasher)
    assert record["reviewers"] == [{"reviewer": {"id": 12, "extra_fields": {"phone": hasher("5550100")}}}]
    assert record["profiles"] == [{"phone": hasher("5550101")}, None]


def test_schema_of_every_value_becomes_an_object_of_strings_keeping_nullability() -> None:
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "extra_fields": dict(EXTRA_SCHEMA),
            "custom": {"type": "object", "properties": {"badge": {"type": "integer"}}},
        },
    }
    hash_in_schema(schema, FieldPath.parse("extra_fields.*"), "people")
    hash_in_schema(schema, FieldPath.parse("custom.*"), "people")

    props = schema["properties"]
    assert props["id"] == {"type": "integer"}
    assert props["extra_fields"]["type"] == ["object", "null"]
    assert props["extra_fields"]["additionalProperties"]["type"] == ["string", "null"]
    assert "properties" not in props["extra_fields"]
    assert props["custom"]["type"] == "object"
    assert props["custom"]["additionalProperties"]["type"] == ["string", "null"]
    assert "properties" not in props["custom"]


def test_every_value_of_a_missing_or_non_object_field_is_a_configuration_error() -> None:
    schema = {"type": "object", "properties": {"email": {"type": ["string", "null"]}}}
    with pytest.raises(PiiConfigError, match="stream 'people' has no field 'extra_fields'"):
        hash_in_schema(schema, FieldPath.parse("extra_fields.*"), "people")
    with pytest.raises(PiiConfigError, match=re.escape("'email' is not an object in hash path 'email.*'")):
        hash_in_schema(schema, FieldPath.parse("email.*"), "people")
