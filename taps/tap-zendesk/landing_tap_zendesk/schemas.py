"""Stream schemas: the singer-io tap-zendesk's stream and field names, so downstream models keep working.

Field names follow the Zendesk Support API (../shared/sources/zendesk.md §3.5) as the singer-io tap
exposes them. Nested objects (``via``, ``metadata``, ``photo``, audit ``events``…) are declared as
open objects and pass through whole: the tap checks only top-level types (``landing_tap_kit.shaping``),
so a field Zendesk adds inside ``via.source`` is never dropped, and one it adds at the top level lands
in ``extra_fields``.
Custom fields stay where Zendesk puts them: ``custom_fields`` (``[{id, value}]``, any value type) on
tickets, ``user_fields`` / ``organization_fields`` (open objects keyed by field key) on users and
organizations.
"""

from __future__ import annotations

from typing import Any

from landing_tap_kit.shaping import with_extra_fields
from singer_sdk import typing as th

INT = th.IntegerType
STR = th.StringType
BOOL = th.BooleanType
NUM = th.NumberType
WHEN = th.DateTimeType

#: An object whose keys vary by account or API version: kept as one JSON object.
OPEN = th.ObjectType(additional_properties=True)
ANY = th.CustomType({})
IDS = th.ArrayType(INT)
STRS = th.ArrayType(STR)
#: Zendesk's calendar/business-hours pair (flattened by loaders to ``<name>__calendar`` etc.).
MINUTES = th.ObjectType(th.Property("calendar", INT), th.Property("business", INT))

Schema = dict[str, Any]


def schema(**fields: th.JSONTypeHelper[Any] | type[th.JSONTypeHelper[Any]]) -> Schema:
    """Build a stream schema from ``name=type`` pairs, every property nullable (Zendesk sends nulls).

    Every stream also gets ``extra_fields``: what the API sent that the schema does not declare.
    """
    return with_extra_fields(th.PropertiesList(*(th.Property(name, kind) for name, kind in fields.items())).to_dict())


TICKETS = schema(
    id=INT, url=STR, external_id=STR, type=STR, subject=STR, raw_subject=STR, description=STR,
    priority=STR, status=STR, recipient=STR, requester_id=INT, submitter_id=INT, assignee_id=INT,
    organization_id=INT, group_id=INT, collaborator_ids=IDS, follower_ids=IDS, email_cc_ids=IDS,
    forum_topic_id=INT, problem_id=INT, has_incidents=BOOL, is_public=BOOL, due_at=WHEN, tags=STRS,
    custom_fields=th.ArrayType(th.ObjectType(th.Property("id", INT), th.Property("value", ANY))),
    satisfaction_rating=th.CustomType({"type": ["null", "object", "string"]}),
    sharing_agreement_ids=IDS, followup_ids=IDS, ticket_form_id=INT, brand_id=INT,
    allow_channelback=BOOL, allow_attachments=BOOL, from_messaging_channel=BOOL, via=OPEN,
    custom_status_id=INT, encoded_id=STR, support_type=STR,
    created_at=WHEN, updated_at=WHEN, generated_timestamp=INT,
)  # fmt: skip

USERS = schema(
    id=INT, url=STR, name=STR, email=STR, created_at=WHEN, updated_at=WHEN, time_zone=STR,
    iana_time_zone=STR, phone=STR, shared_phone_number=BOOL, photo=OPEN, locale_id=INT, locale=STR,
    organization_id=INT, role=STR, verified=BOOL, external_id=STR, tags=STRS, alias=STR, active=BOOL,
    shared=BOOL, shared_agent=BOOL, last_login_at=WHEN, two_factor_auth_enabled=BOOL, signature=STR,
    details=STR, notes=STR, role_type=INT, custom_role_id=INT, moderator=BOOL, ticket_restriction=STR,
    only_private_comments=BOOL, restricted_agent=BOOL, suspended=BOOL, chat_only=BOOL,
    default_group_id=INT, report_csv=BOOL, user_fields=OPEN, permanently_deleted=BOOL,
)  # fmt: skip

ORGANIZATIONS = schema(
    id=INT, url=STR, name=STR, shared_tickets=BOOL, shared_comments=BOOL, external_id=STR,
    created_at=WHEN, updated_at=WHEN, deleted_at=WHEN, domain_names=STRS, details=STR, notes=STR,
    group_id=INT, tags=STRS, organization_fields=OPEN,
)  # fmt: skip

GROUPS = schema(
    id=INT, url=STR, name=STR, description=STR, default=BOOL, deleted=BOOL, is_public=BOOL,
    created_at=WHEN, updated_at=WHEN,
)  # fmt: skip

GROUP_MEMBERSHIPS = schema(id=INT, url=STR, user_id=INT, group_id=INT, default=BOOL, created_at=WHEN, updated_at=WHEN)

MACROS = schema(
    id=INT, url=STR, title=STR, raw_title=STR, active=BOOL, position=INT, description=STR,
    restriction=OPEN, actions=th.ArrayType(OPEN), created_at=WHEN, updated_at=WHEN,
)  # fmt: skip

TAGS = schema(name=STR, count=INT)

TICKET_FIELDS = schema(
    id=INT, url=STR, type=STR, title=STR, raw_title=STR, description=STR, raw_description=STR,
    position=INT, active=BOOL, required=BOOL, collapsed_for_agents=BOOL, regexp_for_validation=STR,
    title_in_portal=STR, raw_title_in_portal=STR, visible_in_portal=BOOL, editable_in_portal=BOOL,
    required_in_portal=BOOL, tag=STR, removable=BOOL, agent_description=STR,
    custom_field_options=th.ArrayType(OPEN), system_field_options=th.ArrayType(OPEN),
    sub_type_id=INT, created_at=WHEN, updated_at=WHEN,
)  # fmt: skip

TICKET_FORMS = schema(
    id=INT, url=STR, name=STR, raw_name=STR, display_name=STR, raw_display_name=STR,
    end_user_visible=BOOL, position=INT, ticket_field_ids=IDS, active=BOOL, default=BOOL,
    in_all_brands=BOOL, restricted_brand_ids=IDS, agent_conditions=th.ArrayType(OPEN),
    end_user_conditions=th.ArrayType(OPEN), created_at=WHEN, updated_at=WHEN,
)  # fmt: skip

TICKET_AUDITS = schema(
    id=INT, ticket_id=INT, created_at=WHEN, author_id=INT, metadata=OPEN, via=OPEN,
    events=th.ArrayType(OPEN),
)  # fmt: skip

TICKET_COMMENTS = schema(
    id=INT, ticket_id=INT, audit_id=INT, type=STR, body=STR, html_body=STR, plain_body=STR,
    public=BOOL, author_id=INT, attachments=th.ArrayType(OPEN), via=OPEN, metadata=OPEN,
    created_at=WHEN,
)  # fmt: skip

TICKET_METRICS = schema(
    id=INT, url=STR, ticket_id=INT, group_stations=INT, assignee_stations=INT, reopens=INT,
    replies=INT, assignee_updated_at=WHEN, requester_updated_at=WHEN, status_updated_at=WHEN,
    initially_assigned_at=WHEN, assigned_at=WHEN, solved_at=WHEN, latest_comment_added_at=WHEN,
    reply_time_in_minutes=MINUTES, first_resolution_time_in_minutes=MINUTES,
    full_resolution_time_in_minutes=MINUTES, agent_wait_time_in_minutes=MINUTES,
    requester_wait_time_in_minutes=MINUTES, on_hold_time_in_minutes=MINUTES,
    created_at=WHEN, updated_at=WHEN,
)  # fmt: skip

TICKET_METRIC_EVENTS = schema(
    id=INT, ticket_id=INT, metric=STR, instance_id=INT, type=STR, time=WHEN, sla=OPEN, status=OPEN,
    deleted=BOOL,
)  # fmt: skip

SATISFACTION_RATINGS = schema(
    id=INT, url=STR, assignee_id=INT, group_id=INT, requester_id=INT, ticket_id=INT, score=STR,
    comment=STR, reason=STR, reason_id=INT, reason_code=INT, created_at=WHEN, updated_at=WHEN,
)  # fmt: skip

SLA_POLICIES = schema(
    id=INT, url=STR, title=STR, description=STR, position=INT, filter=OPEN,
    policy_metrics=th.ArrayType(OPEN), created_at=WHEN, updated_at=WHEN,
)  # fmt: skip

TALK_PHONE_NUMBERS = schema(
    id=INT, url=STR, number=STR, display_number=STR, name=STR, nickname=STR, country_code=STR,
    toll_free=BOOL, location=STR, capabilities=OPEN, recorded=BOOL, transcription=BOOL,
    voice_enabled=BOOL, sms_enabled=BOOL, greeting_ids=IDS, default_greeting_ids=STRS,
    default_group_id=INT, group_ids=IDS, external=BOOL, line_type=STR, created_at=WHEN,
)  # fmt: skip
