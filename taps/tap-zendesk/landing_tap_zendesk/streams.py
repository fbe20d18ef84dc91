"""The 16 streams of the singer-io tap-zendesk, same names, keys and fields, on the right endpoint each.

Sync modes (why): tickets, users, organizations and ticket_metric_events come from Zendesk's
incremental exports — server-side filtered, sorted, resumable mid-stream. The configuration lists
(groups, macros, ticket_fields, tags, …) have no server-side change filter, so they are paged whole each
run anyway: they are full table and end with ACTIVATE_VERSION, so what was deleted in Zendesk is retired
in the warehouse. satisfaction_ratings is the one list Zendesk filters by ``start_time``: incremental.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from landing_tap_kit.shaping import EXTRA_FIELDS
from typing_extensions import override

from landing_tap_zendesk import schemas
from landing_tap_zendesk.client import (
    CursorExportStream,
    CursorListStream,
    RecordGoneError,
    SideloadedStream,
    TimeExportStream,
    ZendeskStream,
)

if TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context, Record

# -- incremental exports ---------------------------------------------------------------------------


class TicketsStream(CursorExportStream):
    """Tickets, including soft-deleted ones (``status: "deleted"``); archived tickets too (§6).

    Bookmark: ``generated_timestamp``, the field the export filters on (system updates move it,
    ``updated_at`` stays). ``include=metric_sets`` is added only when ticket_metrics is selected: it
    side-loads each ticket's metrics into the same page, saving one request per ticket.
    """

    name = "tickets"
    path = "/incremental/tickets/cursor.json"
    records_key = "tickets"
    replication_key = "generated_timestamp"
    schema = schemas.TICKETS
    side_loads = frozenset({"metric_set"})

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        if any(child.name == "ticket_metrics" and child.selected for child in self.child_streams):
            params["include"] = "metric_sets"
        return params

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row.pop("fields", None)  # a duplicate of custom_fields (singer-io drops it too)
        return super().post_process(row, context)

    @override
    def generate_child_contexts(self, record: Record, context: Context | None) -> Iterable[Context | None]:
        """Skip children of deleted tickets: no audits or metrics are left to fetch (singer-io PR #149)."""
        metric_set = record.pop("metric_set", None)
        if self.children_wanted and record.get("status") != "deleted":
            yield {"ticket_id": record["id"], "metric_sets": [metric_set] if metric_set else []}

    @cached_property
    def children_wanted(self) -> bool:
        """Whether any child stream runs; if not, the SDK need not visit children per ticket."""
        return any(child.selected or child.has_selected_descendents for child in self.child_streams)


class UsersStream(CursorExportStream):
    """Users; deleted users stay in the export with ``active: false``. ``user_fields`` holds custom fields."""

    name = "users"
    path = "/incremental/users/cursor.json"
    records_key = "users"
    replication_key = "updated_at"
    schema = schemas.USERS


class OrganizationsStream(TimeExportStream):
    """Organizations; deleted ones carry ``deleted_at``. ``organization_fields`` holds custom fields."""

    name = "organizations"
    path = "/incremental/organizations.json"
    records_key = "organizations"
    replication_key = "updated_at"
    schema = schemas.ORGANIZATIONS


class TicketMetricEventsStream(TimeExportStream):
    """SLA/metric events of all tickets, by event ``time``."""

    name = "ticket_metric_events"
    path = "/incremental/ticket_metric_events.json"
    records_key = "ticket_metric_events"
    replication_key = "time"
    schema = schemas.TICKET_METRIC_EVENTS


# -- children of tickets -------------------------------------------------------------------------


class TicketAuditsStream(CursorListStream):
    """Audits of each changed ticket (one paged request per ticket: Zendesk has no audit export).

    Follows the tickets bookmark: only tickets in this run's export are visited, all their audits
    re-read and upserted. A ticket deleted since the export answers 404 and is skipped.
    """

    name = "ticket_audits"
    path = "/tickets/{ticket_id}/audits.json"
    records_key = "audits"
    parent_stream_type = TicketsStream
    state_partitioning_keys: ClassVar[tuple[str, ...]] = ()
    schema = schemas.TICKET_AUDITS
    #: Only changed tickets are visited: a version announced here would retire every other audit.
    read_whole_each_run = False
    #: Audits exist on every plan; a 404 means the ticket is gone (``validate_response``).
    plan_gated = False

    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == 404:
            raise RecordGoneError(f"ticket gone: {response.url}")
        super().validate_response(response)

    @override
    def generate_child_contexts(self, record: Record, context: Context | None) -> Iterable[Context | None]:
        """Comments are the audit's Comment events with the audit's time, channel and metadata.

        They take ``via``/``metadata`` as the API sent them (a drifted value set aside in the audit's
        ``extra_fields`` included), so the comment stream judges them itself.
        """
        sent = {**record, **(record.get(EXTRA_FIELDS) or {})}
        comments = [
            {
                **event,
                "ticket_id": record["ticket_id"],
                "created_at": sent.get("created_at"),
                "via": sent.get("via"),
                "metadata": sent.get("metadata"),
            }
            for event in record.get("events") or ()
            if event.get("type") == "Comment"
        ]
        if comments:
            yield {"ticket_id": record["ticket_id"], "comments": comments}


class TicketMetricsStream(SideloadedStream):
    """Ticket metrics from the ``metric_sets`` side-load of the tickets export: no extra requests."""

    name = "ticket_metrics"
    context_key = "metric_sets"
    parent_stream_type = TicketsStream
    schema = schemas.TICKET_METRICS


class TicketCommentsStream(SideloadedStream):
    """Comments taken from the audits already fetched (singer-io does the same): no extra requests."""

    name = "ticket_comments"
    context_key = "comments"
    parent_stream_type = TicketAuditsStream
    schema = schemas.TICKET_COMMENTS


# -- configuration lists (cursor pagination) -----------------------------------------------------


class GroupsStream(CursorListStream):
    """Agent groups."""

    name = "groups"
    path = "/groups.json"
    records_key = "groups"
    schema = schemas.GROUPS


class GroupMembershipsStream(CursorListStream):
    """Which agent is in which group."""

    name = "group_memberships"
    path = "/group_memberships.json"
    records_key = "group_memberships"
    schema = schemas.GROUP_MEMBERSHIPS


class MacrosStream(CursorListStream):
    """Macros (canned agent actions)."""

    name = "macros"
    path = "/macros.json"
    records_key = "macros"
    schema = schemas.MACROS


class TicketFieldsStream(CursorListStream):
    """Ticket field definitions: the names behind the ids in tickets' ``custom_fields``."""

    name = "ticket_fields"
    path = "/ticket_fields.json"
    records_key = "ticket_fields"
    schema = schemas.TICKET_FIELDS


class TagsStream(CursorListStream):
    """Tags and their ticket counts; no change timestamp, so full table (key: ``name``, as singer-io)."""

    name = "tags"
    path = "/tags.json"
    records_key = "tags"
    primary_keys = ("name",)
    schema = schemas.TAGS


class TicketFormsStream(CursorListStream):
    """Ticket forms (Enterprise/Professional feature: skipped with a warning on 403/404)."""

    name = "ticket_forms"
    path = "/ticket_forms.json"
    records_key = "ticket_forms"
    schema = schemas.TICKET_FORMS


class SatisfactionRatingsStream(CursorListStream):
    """CSAT ratings; the one list Zendesk filters by ``start_time`` server-side (plan-gated)."""

    name = "satisfaction_ratings"
    path = "/satisfaction_ratings.json"
    records_key = "satisfaction_ratings"
    replication_key = "updated_at"
    schema = schemas.SATISFACTION_RATINGS

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        since = self.get_starting_timestamp(context)
        if next_page_token is None and since is not None:
            params["start_time"] = int(since.timestamp())
        return params


class SlaPoliciesStream(CursorListStream):
    """SLA policies: one unpaginated list, full table (Professional plan and up)."""

    name = "sla_policies"
    path = "/slas/policies.json"
    records_key = "sla_policies"
    schema = schemas.SLA_POLICIES


class TalkPhoneNumbersStream(CursorListStream):
    """Zendesk Talk numbers, full table (Talk add-on)."""

    name = "talk_phone_numbers"
    path = "/channels/voice/phone_numbers.json"
    records_key = "phone_numbers"
    schema = schemas.TALK_PHONE_NUMBERS


STREAMS: tuple[type[ZendeskStream] | type[SideloadedStream], ...] = (
    TicketsStream,
    TicketAuditsStream,
    TicketCommentsStream,
    TicketMetricsStream,
    TicketMetricEventsStream,
    UsersStream,
    OrganizationsStream,
    GroupsStream,
    GroupMembershipsStream,
    MacrosStream,
    TagsStream,
    TicketFieldsStream,
    TicketFormsStream,
    SatisfactionRatingsStream,
    SlaPoliciesStream,
    TalkPhoneNumbersStream,
)
#: Every stream name, known without building the streams (checking a catalog needs no config).
STREAM_NAMES: tuple[str, ...] = tuple(str(vars(stream)["name"]) for stream in STREAMS)
