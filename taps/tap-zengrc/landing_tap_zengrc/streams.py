"""One stream per ZenGRC collection (``shared/sources/zengrc.md`` §2.3, fields per §2.6-2.7).

Every object shares the common fields below; each stream adds its own. Nested references stay JSON
objects; ``custom_attributes`` is kept whole because its keys are tenant attribute ids (§2.6). Every
schema ends with ``extra_fields``: what a tenant sends beyond these declarations (``landing_tap_kit.shaping``).
"""

from __future__ import annotations

import typing as t

from landing_tap_kit.shaping import EXTRA_FIELDS_PROPERTY
from singer_sdk import typing as th

from landing_tap_zengrc.client import ZenGRCStream

PERSON = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("type", th.StringType),
    additional_properties=True,
)
OBJECT_REF = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("title", th.StringType),
    th.Property("type", th.StringType),
    additional_properties=True,
)
PEOPLE = th.ArrayType(PERSON)
#: ``{"<collection>": [ref, ...]}``: keys are collection names and vary by object kind.
MAPPED = th.ObjectType(additional_properties=th.ArrayType(OBJECT_REF))
#: ``{"<attribute id>": {"id", "title", "value"}}``: ids differ per tenant, values are any JSON type.
CUSTOM_ATTRIBUTES = th.ObjectType(additional_properties=True)
LINKS = th.ObjectType(th.Property("self", th.ObjectType(th.Property("href", th.StringType))))


def _schema(*extra: th.Property[t.Any]) -> dict[str, t.Any]:
    common = (
        th.Property("id", th.IntegerType, required=True),
        th.Property("type", th.StringType),
        th.Property("title", th.StringType),
        th.Property("code", th.StringType),
        th.Property("description", th.StringType),
        th.Property("notes", th.StringType),
        th.Property("status", th.StringType),
        th.Property("tags", th.ArrayType(th.StringType)),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
        th.Property("mapped", MAPPED),
        th.Property("custom_attributes", CUSTOM_ATTRIBUTES),
        th.Property("links", LINKS),
    )
    return th.PropertiesList(*common, *extra, EXTRA_FIELDS_PROPERTY).to_dict()


def _dates(*names: str) -> list[th.Property[t.Any]]:
    return [th.Property(name, th.DateType) for name in names]


class AssessmentsStream(ZenGRCStream):
    """Control assessments (design/operating effectiveness)."""

    name = "assessments"
    path = "/assessments"
    schema = _schema(
        th.Property("conclusion", th.StringType),
        *_dates("start_date", "end_date"),
        th.Property("control", OBJECT_REF),
        th.Property("assessors", PEOPLE),
    )


class AuditsStream(ZenGRCStream):
    """Audits and their reporting periods."""

    name = "audits"
    path = "/audits"
    schema = _schema(
        *_dates("start_date", "end_date", "report_period_start_date", "report_period_end_date"),
        th.Property("audit_managers", PEOPLE),
        th.Property("program", OBJECT_REF),
        th.Property("sync_external_attachments", th.BooleanType),
        th.Property("sync_external_comments", th.BooleanType),
    )


class ControlsStream(ZenGRCStream):
    """Controls."""

    name = "controls"
    path = "/controls"
    schema = _schema()


class IssuesStream(ZenGRCStream):
    """Issues (findings)."""

    name = "issues"
    path = "/issues"
    schema = _schema(*_dates("stop_date"))


class ObjectivesStream(ZenGRCStream):
    """Control objectives."""

    name = "objectives"
    path = "/objectives"
    schema = _schema(th.Property("os_state", th.StringType))


class ProgramsStream(ZenGRCStream):
    """Compliance programs with their owners."""

    name = "programs"
    path = "/programs"
    schema = _schema(
        th.Property("url", th.StringType),
        th.Property("reference_url", th.StringType),
        *_dates("effective_date", "stop_date"),
        th.Property("managers", PEOPLE),
        th.Property("editors", PEOPLE),
        th.Property("readers", PEOPLE),
        th.Property("primary_contact", PERSON),
        th.Property("secondary_contact", PERSON),
    )


class RequestsStream(ZenGRCStream):
    """Evidence requests. ``due_date`` and ``stop_date`` both exist in the wild (§4.5), so both are kept."""

    name = "requests"
    path = "/requests"
    schema = _schema(
        th.Property("test", th.StringType),
        *_dates("start_date", "end_date", "stop_date", "due_date"),
        th.Property("notify_assignee", th.BooleanType),
        th.Property("audit", OBJECT_REF),
        th.Property("assignees", PEOPLE),
        th.Property("requesters", PEOPLE),
        th.Property("verifiers", PEOPLE),
        th.Property(
            "reviewers",
            th.ArrayType(th.ObjectType(th.Property("reviewer", PERSON), th.Property("status", th.StringType))),
        ),
    )


class RisksStream(ZenGRCStream):
    """Risks. The inner shape of ``risk_vector_score_values`` is not documented (§2.7), so it stays free JSON."""

    name = "risks"
    path = "/risks"
    schema = _schema(th.Property("risk_vector_score_values", th.ArrayType(th.ObjectType(additional_properties=True))))


class VendorsStream(ZenGRCStream):
    """Third-party vendors."""

    name = "vendors"
    path = "/vendors"
    schema = _schema(
        th.Property("url", th.StringType),
        th.Property("reference_url", th.StringType),
        th.Property("risk_rating", th.StringType),
        *_dates("start_date", "end_date"),
        th.Property("secondary_contact", PERSON),
    )


class SystemsStream(ZenGRCStream):
    """Systems in scope (endpoint confirmed by SnowAlert's pack, §1.2; fields as controls [inf])."""

    name = "systems"
    path = "/systems"
    schema = _schema()


class PeopleStream(ZenGRCStream):
    """People (users) — personal data: name and email. Shape inferred from the Reciprocity wiki (§2.7)."""

    name = "people"
    path = "/people"
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("type", th.StringType),
        th.Property("name", th.StringType),
        th.Property("email", th.StringType),
        th.Property("company", th.StringType),
        th.Property("role", th.StringType),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
        th.Property("links", LINKS),
        EXTRA_FIELDS_PROPERTY,
    ).to_dict()


STREAM_TYPES: tuple[type[ZenGRCStream], ...] = (
    AssessmentsStream,
    AuditsStream,
    ControlsStream,
    IssuesStream,
    ObjectivesStream,
    ProgramsStream,
    RequestsStream,
    RisksStream,
    VendorsStream,
    SystemsStream,
    PeopleStream,
)
