"""Zendesk Support objects as the API returns them (shapes: ../shared/sources/zendesk.md §3.5).

Every factory is pure: it takes an id, a ``random.Random`` and the moment the object was last
changed, so one (seed, account, volume) always yields the same account. Children of a ticket
(audits, comments, metric set, metric events) are derived from the ticket itself on demand instead
of being stored: a 100k-ticket benchmark account would otherwise hold millions of small dicts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("urgent", "high", "normal", "low", None)
TICKET_TYPES = ("problem", "incident", "question", "task", None)
CHANNELS = ("email", "web", "api", "chat", "voice")
METRICS = ("reply_time", "agent_work_time", "requester_wait_time", "pausable_update_time")
WORDS = [
    "printer",
    "laptop",
    "invoice",
    "refund",
    "login",
    "password",
    "export",
    "billing",
    "shipping",
    "license",
    "upgrade",
    "outage",
    "report",
    "dashboard",
    "api",
    "token",
    "webhook",
    "mobile",
    "sso",
    "calendar",
]


#: The key seeded bodies are built for (see :meth:`Factory.personal`); never a real record's.
VARIANT_KEY = 0
#: API path of each kind's links where it differs from the kind.
LINKS = {"talk_phone_numbers": "channels/voice/phone_numbers"}


def iso(moment: datetime) -> str:
    """Zendesk's datetime format: UTC, second precision, ``Z`` suffix (isoformat: strftime is 3x slower)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def epoch(moment: datetime) -> int:
    """Unix seconds, as ``generated_timestamp`` and ``end_time`` carry them."""
    return int(moment.timestamp())


def parse_iso(text: str) -> datetime:
    """Inverse of :func:`iso`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Account:
    """What makes one Zendesk account differ from another: host name, id range, credentials."""

    name: str
    subdomain: str
    id_base: int
    email: str
    api_token: str
    access_token: str

    @classmethod
    def named(cls, name: str, **overrides: Any) -> Account:
        """Build the account called ``name``; ``community`` gets ids above 2^32 like large real accounts."""
        base = 9_000_000_000 if name == "community" else 0
        sub = "acme" if name == "main" else f"acme-{name}"
        defaults = {
            "email": f"admin@{name}.example.com",
            "api_token": f"{name}-api-token",
            "access_token": f"{name}-oauth-token",
        }
        defaults.update({k: v for k, v in overrides.items() if v is not None})
        return cls(name=name, subdomain=sub, id_base=base, **defaults)


@dataclass(frozen=True)
class CustomField:
    """A custom ticket field and how to draw a value for it."""

    id: int
    type: str
    title: str
    options: tuple[str, ...] = ()

    def value(self, rng: random.Random) -> Any:
        """Draw a value of this field's type, sometimes empty as in real accounts."""
        if rng.random() < 0.15:
            return None
        if self.type == "checkbox":
            return rng.random() < 0.5
        if self.type == "integer":
            return rng.randint(0, 500)
        if self.type == "decimal":
            return round(rng.uniform(0, 1000), 2)
        if self.type == "tagger":
            return rng.choice(self.options)
        if self.type == "multiselect":
            return rng.sample(self.options, rng.randint(1, 2))
        if self.type == "date":
            return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return " ".join(rng.sample(WORDS, 3))


@dataclass(frozen=True)
class ProfileField:
    """A custom user or organisation field.

    Its definition is served by ``/user_fields`` or ``/organization_fields``; its value sits in each
    record's ``user_fields``/``organization_fields`` object under ``key``.
    """

    key: str
    type: str
    title: str
    options: tuple[str, ...] = ()


#: The account's custom user fields (``GET /api/v2/user_fields``), in position order.
USER_FIELDS = (
    ProfileField("plan", "dropdown", "Plan", ("free", "premium", "ultimate")),
    ProfileField("seats", "integer", "Seats"),
)
#: The account's custom organisation fields (``GET /api/v2/organization_fields``), in position order.
ORGANIZATION_FIELDS = (
    ProfileField("region", "dropdown", "Region", ("amer", "emea", "apac")),
    ProfileField("arr", "integer", "Annual recurring revenue"),
)


def custom_fields(account: Account) -> list[CustomField]:
    """List the account's custom ticket fields: one of each type Zendesk offers."""
    base = account.id_base + 360_000_000
    return [
        CustomField(base + 1, "text", "Product area"),
        CustomField(base + 2, "checkbox", "Escalated"),
        CustomField(base + 3, "integer", "Seats"),
        CustomField(base + 4, "decimal", "Contract value"),
        CustomField(base + 5, "tagger", "Tier", ("tier_free", "tier_premium", "tier_ultimate")),
        CustomField(base + 6, "multiselect", "Components", ("ci", "registry", "pages", "runner")),
        CustomField(base + 7, "date", "Renewal date"),
    ]


class Factory:
    """Builds the objects of one account; ``world`` gives the ids other objects point at."""

    def __init__(self, account: Account, url: str = "") -> None:
        self.account = account
        self.fields = custom_fields(account)
        # ranges for the seeded people (rng.choice on a range is O(1): no id list at 10M records)
        self.user_ids: Sequence[int] = ()
        self.org_ids: Sequence[int] = ()
        self.group_ids: Sequence[int] = ()
        self.url = url or f"https://{account.subdomain}.zendesk.com"

    def _link(self, kind: str, key: Any) -> str:
        return f"{self.url}/api/v2/{kind}/{key}.json"

    def _pick(self, rng: random.Random, ids: Sequence[int]) -> int | None:
        return rng.choice(ids) if ids else None

    # -- tickets and their children -----------------------------------------------------------

    def ticket(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build a ticket; ``fields`` repeats ``custom_fields`` as the real API does."""
        subject = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} issue #{key}"
        values = [{"id": f.id, "value": f.value(rng)} for f in self.fields]
        requester = self._pick(rng, self.user_ids)
        channel = rng.choice(CHANNELS)
        rating = rng.choice(("offered", "unoffered", "good", "bad"))
        return {
            "url": self._link("tickets", key),
            "id": key,
            "external_id": None if rng.random() < 0.7 else f"ext-{key}",
            "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(created),
            "updated_at": iso(updated),
            "generated_timestamp": epoch(updated),
            "type": rng.choice(TICKET_TYPES),
            "subject": subject,
            "raw_subject": subject,
            "description": " ".join(rng.choices(WORDS, k=12)),
            "priority": rng.choice(PRIORITIES),
            "status": rng.choice(STATUSES),
            "recipient": f"support@{self.account.subdomain}.example.com",
            "requester_id": requester,
            "submitter_id": requester,
            "assignee_id": self._pick(rng, self.user_ids),
            "organization_id": self._pick(rng, self.org_ids),
            "group_id": self._pick(rng, self.group_ids),
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": rng.sample(WORDS, 2),
            "custom_fields": values,
            "fields": values,
            "satisfaction_rating": {"score": rating},
            "sharing_agreement_ids": [],
            "custom_status_id": self.account.id_base + 1 + STATUSES.index("open"),
            "encoded_id": f"{self.account.name.upper()[:3]}-{key}",
            "followup_ids": [],
            "ticket_form_id": self.account.id_base + 1,
            "brand_id": self.account.id_base + 1,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": channel == "chat",
            "support_type": "agent",
        }

    def personal(self, kind: str, body: Record, key: int, created: datetime, updated: datetime) -> Record:
        """Record ``key`` of ``kind`` from a shared seeded ``body`` (built for key ``VARIANT_KEY``).

        Only what names the record (id, links, numbered names, times) is its own: the rest is one of a
        few thousand bodies, so a record costs a dict merge instead of ~50 random draws.
        """
        return {**body, **self.own_fields(kind, body, key, created, updated)}

    def own_fields(self, kind: str, body: Record, key: int, created: datetime, updated: datetime) -> Record:
        """The fields of record ``key`` that are not its shared body's (see :meth:`personal`)."""
        own: Record = {
            "url": self._link(LINKS.get(kind, kind), key),
            "id": key,
            "created_at": iso(created),
            "updated_at": iso(updated),
        }
        if kind == "tickets":
            subject = f"{body['subject'].rsplit('#', 1)[0]}#{key}"
            own |= {
                "external_id": None if body["external_id"] is None else f"ext-{key}",
                "generated_timestamp": epoch(updated),
                "subject": subject,
                "raw_subject": subject,
                "encoded_id": f"{self.account.name.upper()[:3]}-{key}",
            }
        elif kind == "users":
            first = body["name"].split(" ")[0]
            dial = random.Random(f"{self.account.name}:phone:{key}")
            phone = f"+1{dial.randint(200, 999)}555{dial.randint(0, 9999):04d}" if dial.random() < 0.5 else None
            own |= {
                "name": f"{first} {key}",
                "email": f"{first.lower()}.{key}@{self.account.name}.example.org",
                "phone": phone,
                "shared_phone_number": False if phone else None,
                "last_login_at": iso(updated),
            }
        elif kind == "organizations":
            own |= {"name": f"{body['name'].rsplit(' ', 1)[0]} {key}", "domain_names": [f"corp{key}.example.net"]}
        return own

    def touch_ticket(self, ticket: Record, rng: random.Random, when: datetime) -> None:
        """Work the ticket as an agent would: new status/priority, one custom field edited."""
        if ticket["status"] == "deleted":
            return
        ticket["status"] = rng.choice(STATUSES)
        ticket["priority"] = rng.choice(PRIORITIES)
        field = rng.choice(self.fields)
        value = field.value(rng)
        # new entries, not edits in place: untouched records share the old ones
        ticket["custom_fields"] = [{**e, "value": value} if e["id"] == field.id else e for e in ticket["custom_fields"]]
        ticket["fields"] = ticket["custom_fields"]
        ticket["updated_at"] = iso(when)
        ticket["generated_timestamp"] = epoch(when)

    @staticmethod
    def audit_times(created: int, updated: int, count: int) -> list[int]:
        """When a new ticket's ``count`` (1-3) audits happened (unix s), first at creation, last at ``updated``.

        Each later edit of the ticket appends one (the emulator adds those).
        """
        return [created + (updated - created) * n // max(count - 1, 1) for n in range(count)]

    @staticmethod
    def metric_event(ticket_id: int, n: int, at: int) -> Record:
        """The SLA metric event of a ticket's audit ``n`` (activate on create, then fulfil/pause alternately)."""
        return {
            "id": ticket_id * 100 + n,
            "ticket_id": ticket_id,
            "metric": METRICS[n % len(METRICS)],
            "instance_id": 1 + n // len(METRICS),
            "type": "activate" if n == 0 else ("fulfill" if n % 2 else "pause"),
            "time": iso(datetime.fromtimestamp(at, UTC)),
            # present on apply_sla / update_status events respectively, null otherwise
            "sla": {"target": 60, "business_hours": False} if n == 0 else None,
            "status": {"calendar": 30 * n, "business": 0} if n else None,
            "deleted": False,
        }

    def audits(self, ticket: Record, times: list[int]) -> list[Record]:
        """Build the ticket's audits, oldest first: a Create audit, then one Change audit per revision."""
        out = []
        for n, at in enumerate(times):
            rng = random.Random(f"{self.account.name}:audit:{ticket['id']}:{n}")
            audit_id = ticket["id"] * 100 + n
            author = ticket["requester_id"] if n == 0 else ticket["assignee_id"]
            events: list[Record] = [
                {
                    "id": audit_id * 10,
                    "type": "Comment",
                    "author_id": author,
                    "body": " ".join(rng.choices(WORDS, k=8)),
                    "html_body": "<p>" + " ".join(rng.choices(WORDS, k=8)) + "</p>",
                    "plain_body": " ".join(rng.choices(WORDS, k=8)),
                    "public": n == 0 or rng.random() < 0.6,
                    "attachments": [],
                    "audit_id": audit_id,
                },
                {
                    "id": audit_id * 10 + 1,
                    "type": "Create" if n == 0 else "Change",
                    "field_name": "status",
                    "value": rng.choice(STATUSES),
                    "previous_value": None if n == 0 else rng.choice(STATUSES),
                },
            ]
            if n and rng.random() < 0.4:
                events.pop(0)  # not every change carries a comment
            out.append(
                {
                    "id": audit_id,
                    "ticket_id": ticket["id"],
                    "created_at": iso(datetime.fromtimestamp(at, UTC)),
                    "author_id": author,
                    "metadata": {"system": {"client": "emulator", "ip_address": "127.0.0.1"}, "custom": {}},
                    "via": {
                        "channel": ticket["via"]["channel"],
                        "source": {"from": {}, "to": {}, "rel": None},
                    },
                    "events": events,
                }
            )
        return out

    def metric_set(self, ticket: Record) -> Record | None:
        """Build the ``metric_sets`` side-load of a ticket; deleted tickets have none."""
        if ticket["status"] == "deleted":
            return None
        rng = random.Random(f"{self.account.name}:metrics:{ticket['id']}:{ticket['updated_at']}")
        minutes = {"calendar": rng.randint(1, 3000), "business": rng.randint(1, 1500)}
        return {
            "url": self._link("ticket_metrics", ticket["id"] + 7),
            "id": ticket["id"] + 7,
            "ticket_id": ticket["id"],
            "created_at": ticket["created_at"],
            "updated_at": ticket["updated_at"],
            "group_stations": rng.randint(1, 3),
            "assignee_stations": rng.randint(1, 3),
            "reopens": rng.randint(0, 2),
            "replies": rng.randint(0, 9),
            "assignee_updated_at": ticket["updated_at"],
            "requester_updated_at": ticket["created_at"],
            "status_updated_at": ticket["updated_at"],
            "initially_assigned_at": ticket["created_at"],
            "assigned_at": ticket["created_at"],
            "solved_at": ticket["updated_at"] if ticket["status"] in {"solved", "closed"} else None,
            "latest_comment_added_at": ticket["updated_at"],
            "reply_time_in_minutes": minutes,
            "first_resolution_time_in_minutes": {"calendar": rng.randint(1, 9000), "business": None},
            "full_resolution_time_in_minutes": {"calendar": rng.randint(1, 9000), "business": None},
            "agent_wait_time_in_minutes": {"calendar": rng.randint(0, 500), "business": 0},
            "requester_wait_time_in_minutes": {"calendar": rng.randint(0, 500), "business": 0},
            "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
        }

    @classmethod
    def metric_events(cls, audits: list[Record]) -> list[Record]:
        """One SLA metric event per audit."""
        return [
            cls.metric_event(audit["ticket_id"], n, epoch(parse_iso(audit["created_at"])))
            for n, audit in enumerate(audits)
        ]

    # -- people and organisations -------------------------------------------------------------

    def user(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build an end user or agent with two custom user fields."""
        first = rng.choice(("Ada", "Linus", "Grace", "Ken", "Barbara", "Dennis", "Margaret"))
        role = rng.choices(("end-user", "agent", "admin"), weights=(8, 3, 1))[0]
        # about half the people left a phone number (E.164, as Zendesk stores it); drawn from its own
        # stream so the rest of the account stays what the same seed always gave
        dial = random.Random(f"{self.account.name}:phone:{key}")
        phone = f"+1{dial.randint(200, 999)}555{dial.randint(0, 9999):04d}" if dial.random() < 0.5 else None
        return {
            "id": key,
            "url": self._link("users", key),
            "name": f"{first} {key}",
            "email": f"{first.lower()}.{key}@{self.account.name}.example.org",
            "created_at": iso(created),
            "updated_at": iso(updated),
            "time_zone": "UTC",
            "iana_time_zone": "Etc/UTC",
            "phone": phone,
            "shared_phone_number": False if phone else None,
            "photo": None,
            "locale_id": 1,
            "locale": "en-US",
            "organization_id": self._pick(rng, self.org_ids),
            "role": role,
            "verified": rng.random() < 0.9,
            "external_id": None,
            "tags": [],
            "alias": None,
            "active": True,
            "shared": False,
            "shared_agent": False,
            "last_login_at": iso(updated),
            "two_factor_auth_enabled": None,
            "signature": None,
            "details": "",
            "notes": "",
            "role_type": None,
            "custom_role_id": None,
            "moderator": False,
            "ticket_restriction": "requested" if role == "end-user" else None,
            "only_private_comments": False,
            "restricted_agent": role == "end-user",
            "suspended": False,
            "chat_only": False,
            "default_group_id": self._pick(rng, self.group_ids) if role != "end-user" else None,
            "report_csv": role == "admin",
            "user_fields": {
                "plan": rng.choice(USER_FIELDS[0].options),
                "seats": rng.randint(1, 900),
            },
            "permanently_deleted": False,
        }

    def organization(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build an organisation with two custom organisation fields."""
        name = f"{rng.choice(WORDS).title()} Corp {key}"
        return {
            "url": self._link("organizations", key),
            "id": key,
            "name": name,
            "shared_tickets": False,
            "shared_comments": False,
            "external_id": None,
            "created_at": iso(created),
            "updated_at": iso(updated),
            "deleted_at": None,
            "domain_names": [f"corp{key}.example.net"],
            "details": "",
            "notes": "",
            "group_id": self._pick(rng, self.group_ids),
            "tags": rng.sample(WORDS, 1),
            "organization_fields": {
                "region": rng.choice(ORGANIZATION_FIELDS[0].options),
                "arr": rng.randint(0, 10**6),
            },
        }

    # -- configuration objects (list endpoints) -----------------------------------------------

    def group(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build a support group."""
        return {
            "url": self._link("groups", key),
            "id": key,
            "is_public": True,
            "name": f"Group {rng.choice(WORDS)} {key}",
            "description": "",
            "default": key == self.account.id_base + 1,
            "deleted": False,
            "created_at": iso(created),
            "updated_at": iso(updated),
        }

    def group_membership(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build an agent's membership of a group."""
        return {
            "url": self._link("group_memberships", key),
            "id": key,
            "user_id": self._pick(rng, self.user_ids),
            "group_id": self._pick(rng, self.group_ids),
            "default": rng.random() < 0.3,
            "created_at": iso(created),
            "updated_at": iso(updated),
        }

    def macro(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build a macro (canned agent action)."""
        title = f"Reply: {rng.choice(WORDS)}"
        return {
            "url": self._link("macros", key),
            "id": key,
            "title": title,
            "raw_title": title,
            "active": True,
            "position": key - self.account.id_base,
            "description": None,
            "restriction": None if rng.random() < 0.5 else {"type": "Group", "id": self._pick(rng, self.group_ids)},
            "actions": [
                {"field": "status", "value": "solved"},
                {"field": "comment_value", "value": "Thanks!"},
            ],
            "created_at": iso(created),
            "updated_at": iso(updated),
        }

    def tag(self, key: int, rng: random.Random, _created: datetime, _updated: datetime) -> Record:
        """Build a tag and how many tickets carry it (key: ``name``)."""
        return {"name": f"{rng.choice(WORDS)}_{key - self.account.id_base}", "count": rng.randint(1, 5000)}

    def ticket_field(self, field: CustomField, created: datetime) -> Record:
        """Build a custom field definition; ids match the values in tickets' ``custom_fields``."""
        options = [
            {
                "id": field.id * 10 + n,
                "name": o.replace("_", " ").title(),
                "raw_name": o,
                "value": o,
                "default": False,
            }
            for n, o in enumerate(field.options)
        ]
        return {
            "url": self._link("ticket_fields", field.id),
            "id": field.id,
            "type": field.type,
            "title": field.title,
            "raw_title": field.title,
            "description": "",
            "raw_description": "",
            "position": field.id % 100,
            "active": True,
            "required": False,
            "collapsed_for_agents": False,
            "regexp_for_validation": None,
            "title_in_portal": field.title,
            "raw_title_in_portal": field.title,
            "visible_in_portal": False,
            "editable_in_portal": False,
            "required_in_portal": False,
            "tag": None,
            "created_at": iso(created),
            "updated_at": iso(created),
            "removable": True,
            "agent_description": None,
            "sub_type_id": 0,
            "system_field_options": [],
            "custom_field_options": options,
        }

    def profile_field(self, kind: str, key: int, field: ProfileField, created: datetime) -> Record:
        """Build a user or organisation field definition (``kind``: ``user_fields``/``organization_fields``)."""
        options = [
            {"id": key * 10 + n, "name": o.title(), "raw_name": o.title(), "value": o}
            for n, o in enumerate(field.options, start=1)
        ]
        return {
            "url": self._link(kind, key),
            "id": key,
            "type": field.type,
            "key": field.key,
            "title": field.title,
            "raw_title": field.title,
            "description": "",
            "raw_description": "",
            "position": key - self.account.id_base - 1,
            "active": True,
            "system": False,
            "regexp_for_validation": None,
            "tag": None,
            "created_at": iso(created),
            "updated_at": iso(created),
            **({"custom_field_options": options} if field.type == "dropdown" else {}),
        }

    def ticket_form(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build a ticket form listing the custom fields."""
        name = f"Form {key - self.account.id_base}"
        return {
            "url": self._link("ticket_forms", key),
            "id": key,
            "name": name,
            "raw_name": name,
            "display_name": name,
            "raw_display_name": name,
            "end_user_visible": True,
            "position": key - self.account.id_base,
            "ticket_field_ids": [f.id for f in self.fields],
            "active": True,
            "default": key == self.account.id_base + 1,
            "in_all_brands": True,
            "restricted_brand_ids": [],
            "agent_conditions": [],
            "end_user_conditions": [],
            "created_at": iso(created),
            "updated_at": iso(updated),
        }

    def satisfaction_rating(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build a CSAT rating of a ticket."""
        return {
            "url": self._link("satisfaction_ratings", key),
            "id": key,
            "assignee_id": self._pick(rng, self.user_ids),
            "group_id": self._pick(rng, self.group_ids),
            "requester_id": self._pick(rng, self.user_ids),
            "ticket_id": self.account.id_base + rng.randint(1, 50),
            "score": rng.choice(("good", "bad", "offered")),
            "comment": rng.choice(("", "great help", "too slow")),
            "reason": None,
            "reason_id": None,
            "reason_code": rng.choice((0, 5, 7, 1000)),
            "created_at": iso(created),
            "updated_at": iso(updated),
        }

    def sla_policy(self, key: int, rng: random.Random, created: datetime, updated: datetime) -> Record:
        """Build an SLA policy (Professional plan and up)."""
        return {
            "url": self._link("slas/policies", key),
            "id": key,
            "title": f"SLA {rng.choice(('gold', 'silver', 'bronze'))} {key - self.account.id_base}",
            "description": "",
            "position": key - self.account.id_base,
            "filter": {"all": [{"field": "type", "operator": "is", "value": "incident"}], "any": []},
            "policy_metrics": [
                {"priority": p, "metric": "first_reply_time", "target": t, "business_hours": False}
                for p, t in (("urgent", 30), ("high", 60), ("normal", 240))
            ],
            "created_at": iso(created),
            "updated_at": iso(updated),
        }

    def phone_number(self, key: int, rng: random.Random, created: datetime, _updated: datetime) -> Record:
        """Build a Talk phone number (Talk add-on)."""
        number = f"+1415555{key % 10000:04d}"
        return {
            "id": key,
            "url": self._link("channels/voice/phone_numbers", key),
            "number": number,
            "display_number": number,
            "name": f"Line {key - self.account.id_base}",
            "nickname": None,
            "country_code": "US",
            "toll_free": False,
            "location": "CA",
            "capabilities": {"sms": True, "mms": False, "voice": True},
            "recorded": rng.random() < 0.5,
            "transcription": False,
            "voice_enabled": True,
            "sms_enabled": False,
            "greeting_ids": [],
            "default_greeting_ids": ["voicemail_en"],
            "default_group_id": self._pick(rng, self.group_ids),
            "group_ids": list(self.group_ids[:2]),
            "external": False,
            "line_type": "phone",
            "created_at": iso(created),
        }
