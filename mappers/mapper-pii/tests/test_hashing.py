"""The keyed hash and its normalisation: what makes hashes joinable across sources."""

from __future__ import annotations

import hashlib
import hmac
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


@pytest.mark.parametrize("text", ["", "a..b", "a[].", "assignees[]name", "na-me", "x[0].name"])
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
