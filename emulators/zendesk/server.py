"""The Zendesk Support REST API v2 as an emulator: the endpoints Zendesk extractors read, faithfully paged.

Reference: ``../shared/sources/zendesk.md`` §3 (Zendesk's own docs) — the vendor, never a tap's code.
Where the notes are silent, Zendesk's developer docs decide; where those are silent too, the
behaviour public clients rely on against real accounts decides, and the docstring says so.

- auth: Basic ``{email}/token:{api_token}`` or ``Bearer {access_token}``; anything else → 401
  ``{"error": "Couldn't authenticate you"}``;
- cursor-based incremental exports ``/incremental/{tickets,users}/cursor.json``: ``start_time`` (unix s,
  at least one minute old, else 400) then ``cursor``; ``per_page`` ≤ 1000; ``after_cursor``,
  ``after_url``, ``end_of_stream``; ``include=metric_sets`` side-loads each ticket's ``metric_set``;
  soft-deleted tickets come back with ``status: "deleted"``, deleted users with ``active: false``;
- time-based exports ``/incremental/{organizations,ticket_metric_events}.json``: ``start_time`` →
  ``count``, ``end_time``, ``next_page`` (always present), ``end_of_stream``; boundary items repeat.
  The docs ask for a ``start_time`` one minute old on every export except ticket metric events
  ("the oldest event you're interested in"), so only that one accepts "now";
- ``start_time`` is read as a decimal integer up to its first non-digit: ``1577836800.0`` (what
  singer-io tap-zendesk sends on every run, from ``datetime.timestamp()``) means ``1577836800``, and an
  ISO-8601 text such as ``2026-11-30T11:10:00Z`` (what it sends through Zenpy when discovery probes
  ``incremental/organizations``) means ``2026``. Inferred, not documented: the docs say "integer" and
  "at least one minute in the past", yet that discovery probe sends the current time as ISO text and
  works against real accounts — only a read that stops at the first non-digit fits both. No leading
  digit at all → 400;
- list endpoints page two ways, as Zendesk's pagination guide describes: with ``page[size]`` (≤ 100)
  cursor pagination (CBP: ``page[after]``, ``meta.has_more``, ``meta.after_cursor``, ``links.next``);
  without it offset pagination (OBP: ``page``, ``per_page`` ≤ 100, default 100, ``next_page``,
  ``previous_page``, ``count``; beyond the first 10,000 records → 400). ``ticket_forms`` and
  ``slas/policies`` are not paginated;
- ``/user_fields`` and ``/organization_fields``: the custom field definitions whose keys the users'
  ``user_fields`` and organisations' ``organization_fields`` carry;
- ``/search``: ``query`` with ``type:``, ``created``/``updated`` ``>``/``<``/``>=``/``<=``/``:``
  dates, ``property:value`` and free words; OBP; ``results`` each with ``result_type``;
- ``/tickets/{id}/audits`` (CBP or OBP) → 404 for deleted tickets;
- items changed within the last minute (emulator clock) are held back from exports;
- every link the API returns (``after_url``, ``next_page``, ``links.next``, records' ``url``) starts
  with the account's public base URL, as real Zendesk answers with ``https://{subdomain}.zendesk.com``
  whatever proxy sits in front of it.

Options (``--option key=value`` or fixture keyword arguments):

``account``            ``main`` (default) or any other name: a different host name, id range (above
                       2^32 for ``community``), data and credentials, so two servers hold two accounts.
``email``/``api_token``/``access_token``   override the account's credentials.
``public_url``         base of every link, e.g. ``https://bench.zendesk.com`` behind a TLS front
                       (default: the request's own scheme and host, so a test can follow links).
``now``                pin the clock at this ISO-8601 moment, e.g. ``2024-12-31T00:00:00Z``, for tests
                       that need it; default: the machine's real time, so clients that compute
                       ``start_time`` from their own clock agree with the server on "too recent".
                       Generated data never depends on it (the history is anchored in 2024).
``gated``              stream endpoints that answer 403 as on a plan without the feature, e.g.
                       ``["sla_policies", "talk_phone_numbers", "satisfaction_ratings"]``.
``rate_limit``         requests per ``rate_window`` seconds for the whole account (default: off).
``export_rate_limit``  requests per ``rate_window`` for ``/incremental/`` endpoints (Zendesk: 10/min;
                       default: off so tests stay fast).
``rate_window``        window length in seconds (default 60, Zendesk's per-minute limits).
``export_page_max``    cap on export page length below ``per_page`` (default 1000).
"""

from __future__ import annotations

import base64
import bisect
import heapq
import math
import random
import re
import threading
import time
from array import array
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson
from aiohttp import web

from emulators.core import HttpEmulator, Mutation, SeededCollection, SimClock, StoredCollection
from emulators.core.clock import EPOCH
from emulators.core.collection import mix, text_seed
from emulators.core.server import basic_credentials, json_response
from emulators.zendesk.records import (
    ORGANIZATION_FIELDS,
    USER_FIELDS,
    VARIANT_KEY,
    Account,
    Factory,
    Record,
    epoch,
    iso,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_EXPORT_PAGE = 1000
MAX_LIST_PAGE = 100
#: Offset pagination stops after the first 10,000 records (100 pages of 100) since 2024 (notes §3.3).
MAX_OFFSET_RECORDS = 10_000
#: What ``start_time`` means: its leading (optionally signed) decimal digits, see the module docstring.
LEADING_INTEGER = re.compile(r"\s*([+-]?[0-9]+)")
#: Search terms: ``key:value``, ``key>value``, ``key>=value``, ``key<value``, ``key<=value``.
SEARCH_TERM = re.compile(r"^(-?)([a-z_]+)(:|>=|<=|>|<)(.+)$")
#: Zendesk holds back items changed within the last minute and rejects a start_time that recent.
EXPORT_LAG = 60
#: Seeded bodies per volume-sized collection (records differ in id, names, links and times on top).
VARIANTS = 4096
FORBIDDEN = {
    "error": {
        "title": "Forbidden",
        "message": "Access to this resource is restricted. Please contact the account administrator for assistance.",
    }
}
#: Collections whose deletions stay visible (Zendesk soft-deletes them and exports the tombstone).
SOFT_DELETED = ("tickets", "users", "organizations")
#: Configuration objects: edited now and then between runs, never deleted (keeps truth == warehouse).
EDITED = ("groups", "group_memberships", "macros", "tags", "ticket_forms", "satisfaction_ratings")
#: Custom field definitions of users and organisations: the account's schema rather than its data, so
#: :meth:`ZendeskEmulator.truth` names them only when asked for by name.
PROFILE_FIELDS = {"user_fields": USER_FIELDS, "organization_fields": ORGANIZATION_FIELDS}
#: What ``/search`` finds for each ``type:`` (Zendesk also searches groups; this account's are few).
SEARCHABLE = {"ticket": "tickets", "user": "users", "organization": "organizations", "group": "groups"}


#: Packing of one history audit in the metric-event index: (time since this origin, ticket offset, n).
EVENT_ORIGIN = 1_600_000_000
_TICKET_BITS = 34
_N_BITS = 2


def _pack_event(at: int, ticket_offset: int, n: int) -> int:
    return ((at - EVENT_ORIGIN) << (_TICKET_BITS + _N_BITS)) | (ticket_offset << _N_BITS) | n


def _unpack_event(packed: int) -> tuple[int, int, int]:
    at = (packed >> (_TICKET_BITS + _N_BITS)) + EVENT_ORIGIN
    return at, (packed >> _N_BITS) & ((1 << _TICKET_BITS) - 1), packed & ((1 << _N_BITS) - 1)


def _encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _decode_cursor(text: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, orjson.JSONDecodeError):
        raise web.HTTPBadRequest(
            text=orjson.dumps({"error": "InvalidPaginationParameter", "description": "invalid cursor"}).decode(),
            content_type="application/json",
        ) from None


def _bad_request(description: str, error: str = "InvalidValue") -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        # text=, not body=: aiohttp deprecates bodies on exceptions (a warning that fails strict test runs)
        text=orjson.dumps({"error": error, "description": description}).decode(),
        content_type="application/json",
    )


def _clock(now: str | datetime | None) -> SimClock:
    """The real-time clock by default; pinned at ``now`` (ISO-8601 text or a datetime) when given."""
    if now is None:
        return SimClock.following_wall_clock()
    if isinstance(now, datetime):
        return SimClock(now)
    try:
        return SimClock(datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC))
    except ValueError:
        msg = f"zendesk emulator option now={now!r} is not an ISO-8601 moment such as 2024-12-31T00:00:00Z"
        raise ValueError(msg) from None


def read_start_time(raw: str) -> int | None:
    """``start_time`` as Zendesk reads it: the leading decimal digits (see the module docstring)."""
    match = LEADING_INTEGER.match(raw)
    return int(match.group(1)) if match else None


def _query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise _bad_request(f"{name} must be an integer, got {raw!r}", "InvalidPaginationParameter") from None


class ZendeskEmulator(HttpEmulator):
    """One Zendesk Support account (see the module docstring for endpoints and options)."""

    name: ClassVar[str] = "zendesk"

    def __init__(
        self,
        seed: int = 1,
        volume: int = 100,
        faults: Any = None,
        *,
        account: str = "main",
        email: str | None = None,
        api_token: str | None = None,
        access_token: str | None = None,
        gated: Iterable[str] = (),
        rate_limit: int | None = None,
        export_rate_limit: int | None = None,
        rate_window: float = 60.0,
        export_page_max: int = MAX_EXPORT_PAGE,
        public_url: str | None = None,
        now: str | datetime | None = None,
        **options: Any,
    ) -> None:
        super().__init__(seed=seed, volume=volume, faults=faults, **options)
        self.clock = _clock(now)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.account = Account.named(account, email=email, api_token=api_token, access_token=access_token)
        self.factory = Factory(self.account, url=self.public_url or "")
        self.gated = set(gated)
        self.rate_limit = rate_limit
        self.export_rate_limit = export_rate_limit
        self.rate_window = float(rate_window)
        self.export_page_max = int(export_page_max)
        self._windows: dict[str, tuple[float, int]] = {}
        self._event_index: array[int] | None = None
        self._event_overlay: list[tuple[int, int, int, int]] | None = None
        self._lock = threading.RLock()
        self._seeds = {part: text_seed(f"{self.name}:{seed}:{self.account.name}:{part}") for part in ("age", "audits")}
        self._populate()

    # -- data ----------------------------------------------------------------------------------

    def stamp(self) -> datetime:
        """Return when changes made by :meth:`advance` happened.

        Just over a minute before "now", so the next export (which holds back the last minute)
        already sees them.
        """
        return self.clock.now - timedelta(seconds=EXPORT_LAG + 1)

    def _age(self, key: int) -> int:
        """Seconds between a history record's creation and its last change (up to 60 days), from its id."""
        return mix(self._seeds["age"], key) % (60 * 86_400)

    def _seeded(self, name: str, build: Callable[..., Record], count: int) -> SeededCollection:
        """A volume-sized collection, generated on demand; tickets/users/organisations keep tombstones."""
        variant_seed = text_seed(f"{self.name}:{self.seed}:{self.account.name}:{name}:variant")
        bodies: dict[int, tuple[Record, bytes]] = {}

        def parts(key: int, born: datetime | None) -> tuple[Record, Record, bytes]:
            variant = mix(variant_seed, key) % VARIANTS
            cached = bodies.get(variant)
            if cached is None:
                body = build(VARIANT_KEY, random.Random(f"{variant_seed}:{variant}"), EPOCH, EPOCH)
                own = self.factory.own_fields(name, body, VARIANT_KEY, EPOCH, EPOCH)
                shared = orjson.dumps({k: v for k, v in body.items() if k not in own})[1:-1]
                cached = bodies[variant] = (body, shared)
            body, shared = cached
            if born is not None:
                created = updated = born
            else:
                updated = collection.history_moment(key)
                created = updated - timedelta(seconds=self._age(key))
            return body, self.factory.own_fields(name, body, key, created, updated), shared

        def make(key: int, born: datetime | None) -> Record:
            body, own, _ = parts(key, born)
            return {**body, **own}

        def encode(key: int, born: datetime | None) -> bytes:
            _, own, shared = parts(key, born)
            return b"{" + orjson.dumps(own)[1:-1] + b"," + shared + b"}"

        collection = SeededCollection(
            name,
            make,
            self._touch(name),
            seed=f"{self.name}:{self.seed}:{self.account.name}:{name}",
            count=count,
            first=self.account.id_base + 1,
            tombstone=self._tombstone(name) if name in SOFT_DELETED else None,
            history=(0.05, 0.8),
            fast_encode=encode,
        )
        self.collections[name] = collection
        return collection

    def _stored(self, name: str, build: Callable[..., Record], count: int, key: str = "id") -> StoredCollection:
        """A small configuration collection, held in memory (its keys need not be consecutive)."""

        def make(record_key: int, rng: random.Random, born: datetime | None) -> Record:
            if born is not None:
                return build(record_key, rng, born, born)
            created = self.clock.history_point(rng.random() * 0.8)
            return build(record_key, rng, created, created + timedelta(seconds=rng.randint(0, 60 * 86_400)))

        collection = StoredCollection(name, make, self._touch(name), key=key)
        collection.next_id = self.account.id_base + 1
        collection.populate(count, self.rng(f"{self.account.name}:{name}"))
        self.collections[name] = collection
        return collection

    def _populate(self) -> None:
        f, n, base = self.factory, self.volume, self.account.id_base + 1
        f.group_ids = self._stored("groups", f.group, 4).keys()
        f.org_ids = range(base, base + max(3, n // 10))
        f.user_ids = range(base, base + max(5, n // 2))
        self._seeded("organizations", f.organization, len(f.org_ids))
        self._seeded("users", f.user, len(f.user_ids))
        self._stored("group_memberships", f.group_membership, 8)
        self._seeded("tickets", f.ticket, n)
        self._stored("macros", f.macro, 5)
        self._stored("tags", f.tag, 12, key="name")
        fields = StoredCollection("ticket_fields")
        for field in f.fields:
            fields.add(f.ticket_field(field, self.clock.history_point(0.01)))
        self.collections["ticket_fields"] = fields
        self._stored("ticket_forms", f.ticket_form, 3)
        self._seeded("satisfaction_ratings", f.satisfaction_rating, max(3, n // 4))
        self._stored("sla_policies", f.sla_policy, 3)
        self._stored("talk_phone_numbers", f.phone_number, 2)
        for kind, definitions in PROFILE_FIELDS.items():
            profile = StoredCollection(kind)
            for number, definition in enumerate(definitions, start=1):
                moment = self.clock.history_point(0.01)
                profile.add(f.profile_field(kind, self.account.id_base + number, definition, moment))
            self.collections[kind] = profile
        self.updated_fields["tags"] = None

    @property
    def tickets(self) -> SeededCollection:
        """The account's tickets."""
        tickets = self.collections["tickets"]
        assert isinstance(tickets, SeededCollection)
        return tickets

    def _touch(self, name: str) -> Callable[[Record, random.Random, datetime], None]:
        def touch(record: Record, rng: random.Random, when: datetime) -> None:
            if name == "tickets":
                self.factory.touch_ticket(record, rng, when)
                return
            if name == "users":
                record["user_fields"] = {**record["user_fields"], "seats": rng.randint(1, 900)}
            elif name == "organizations":
                record["notes"] = f"edited {iso(when)}"
            elif name == "tags":
                record["count"] += 1
                return
            if "updated_at" in record:
                record["updated_at"] = iso(when)

        return touch

    @staticmethod
    def _tombstone(name: str) -> Callable[[Record, datetime], None]:
        """What Zendesk keeps of a deleted ticket/user/organisation: the export still lists it."""

        def tombstone(record: Record, when: datetime) -> None:
            if name == "tickets":
                record["status"] = "deleted"
                record["generated_timestamp"] = epoch(when)
            elif name == "users":
                record["active"] = False
            else:
                record["deleted_at"] = iso(when)
            record["updated_at"] = iso(when)

        return tombstone

    def advance(self, updates: int = 5, creates: int = 5, deletes: int = 2, seconds: float = 86_400) -> Mutation:
        """Move to the next day: tickets/users/organisations changed, created, soft-deleted.

        A few configuration objects are edited too. Every change is stamped :meth:`stamp`.
        """
        with self._lock:
            self.clock.advance(seconds)
            rng = self.rng(f"advance:{self.mutation_count}")
            self.mutation_count += 1
            change = Mutation()
            when = self.stamp()
            for name in SOFT_DELETED:
                change.merge(self.collections[name].mutate(rng, updates, creates, deletes, when), name)
            for name in EDITED:
                change.merge(self.collections[name].mutate(rng, min(updates, 2), min(creates, 1), 0, when), name)
            self._event_overlay = None
            return change

    def _history_audit_times(self, key: int) -> list[int]:
        """A ticket's audits before any edit: derived from its id, so no list of them is held."""
        born = self.tickets.born(key)
        if born is not None:
            created = updated = epoch(born)
        else:
            updated = epoch(self.tickets.history_moment(key))
            created = updated - self._age(key)
        return self.factory.audit_times(created, updated, 1 + mix(self._seeds["audits"], key) % 3)

    def audit_times(self, key: int) -> list[int]:
        """When each audit of ticket ``key`` happened: its history ones, then one per edit."""
        return self._history_audit_times(key) + [epoch(t) for t in self.tickets.touches(key)]

    def ticket_audits(self, ticket: Record) -> list[Record]:
        """Return a ticket's audits as ``/tickets/{id}/audits`` does."""
        return self.factory.audits(ticket, self.audit_times(ticket["id"]))

    def _live_tickets(self) -> Iterator[Record]:
        return (t for t in self.tickets.iter_records() if t["status"] != "deleted")

    def _event_base(self) -> array[int]:
        """Every history audit's (time, ticket, n), packed in one sorted int array: built once, ~8 B per audit.

        Edits only append audits (:meth:`_events_after_history`), so this never changes after it is built.
        """
        with self._lock:
            if self._event_index is None:
                tickets = self.tickets
                buckets: dict[int, array[int]] = {}
                for rank in range(tickets.initial):
                    key = tickets.history_slot(rank)
                    for n, at in enumerate(self._history_audit_times(key)):
                        packed = _pack_event(at, key - tickets.first, n)
                        buckets.setdefault(at // 86_400, array("q")).append(packed)
                index = array("q")
                for day in sorted(buckets):
                    index.extend(sorted(buckets.pop(day)))
                self._event_index = index
            return self._event_index

    def _events_after_history(self) -> list[tuple[int, int, int, int]]:
        """(time, event id, ticket, n) of audits added by edits and of created tickets, sorted."""
        with self._lock:
            if self._event_overlay is None:
                tickets, overlay = self.tickets, []
                for key in tickets.changed_since_history():
                    history = [] if tickets.born(key) is None else self._history_audit_times(key)
                    extra = [epoch(t) for t in tickets.touches(key)]
                    first_n = 0 if history else len(self._history_audit_times(key))
                    for n, at in enumerate(history + extra, start=first_n):
                        overlay.append((at, key * 100 + n, key, n))
                self._event_overlay = sorted(overlay)
            return self._event_overlay

    def metric_event_order(self, start: int) -> Iterator[tuple[int, int, int, int]]:
        """(time, event id, ticket, n) of every SLA metric event from ``start`` (unix s), sorted by time then id."""
        base, first = self._event_base(), self.tickets.first
        overlay = self._events_after_history()

        def history() -> Iterator[tuple[int, int, int, int]]:
            for packed in base[bisect.bisect_left(base, _pack_event(start, 0, 0)) :]:
                at, offset, n = _unpack_event(packed)
                yield at, (first + offset) * 100 + n, first + offset, n

        return heapq.merge(history(), iter(overlay[bisect.bisect_left(overlay, (start,)) :]))

    def metric_events(self) -> list[Record]:
        """All SLA metric events sorted as the export returns them (by time, then id): small volumes."""
        return [self.factory.metric_event(t, n, at) for at, _, t, n in self.metric_event_order(-(2**40))]

    def truth(self, collection: str | None = None) -> dict[str, list[Record]]:
        """Return stored collections plus the derived ones.

        Deleted tickets/users/organisations are included (with their tombstone status) because
        the export API returns them.
        """
        derived: dict[str, Callable[[], list[Record]]] = {
            "ticket_audits": lambda: [a for t in self._live_tickets() for a in self.ticket_audits(t)],
            "ticket_comments": self._comments,
            "ticket_metrics": lambda: [m for t in self._live_tickets() if (m := self.factory.metric_set(t))],
            "ticket_metric_events": self.metric_events,
        }
        if collection in derived:
            return {collection: derived[collection]()}
        result = super().truth(collection)
        if collection is None:
            result.update({name: build() for name, build in derived.items()})
            for name in PROFILE_FIELDS:
                del result[name]
        return result

    def _comments(self) -> list[Record]:
        """Comments as singer-io derives them: Comment events of audits, plus audit context."""
        out = []
        for ticket in self._live_tickets():
            for audit in self.ticket_audits(ticket):
                for event in audit["events"]:
                    if event["type"] == "Comment":
                        extra = {k: audit[k] for k in ("created_at", "via", "metadata")}
                        out.append({**event, **extra, "ticket_id": ticket["id"]})
        return out

    # -- HTTP ------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """Vendor routes; each also answers with a ``.json`` suffix, as Zendesk does."""

        def route(path: str, handler: Handler, endpoint: str) -> web.RouteDef:
            return web.get("/api/v2/" + path + r"{ext:(\.json)?}", self._guard(handler, endpoint))

        def listed(name: str, key: str | None = None) -> Handler:
            return lambda request: self._list_page(request, name, key or name)

        def whole(name: str) -> Handler:
            return lambda request: self._unpaged(request, name)

        return [
            route("incremental/tickets/cursor", lambda r: self._cursor_export(r, "tickets"), "tickets"),
            route("incremental/users/cursor", lambda r: self._cursor_export(r, "users"), "users"),
            route("incremental/organizations", lambda r: self._time_export(r, "organizations"), "organizations"),
            route(
                "incremental/ticket_metric_events",
                lambda r: self._time_export(r, "ticket_metric_events"),
                "ticket_metric_events",
            ),
            route("tickets/{ticket_id:[0-9]+}/audits", self._audits, "ticket_audits"),
            route("groups", listed("groups"), "groups"),
            route("group_memberships", listed("group_memberships"), "group_memberships"),
            route("macros", listed("macros"), "macros"),
            route("tags", listed("tags"), "tags"),
            route("ticket_fields", listed("ticket_fields"), "ticket_fields"),
            route("satisfaction_ratings", listed("satisfaction_ratings"), "satisfaction_ratings"),
            route(
                "channels/voice/phone_numbers",
                listed("talk_phone_numbers", "phone_numbers"),
                "talk_phone_numbers",
            ),
            route("ticket_forms", whole("ticket_forms"), "ticket_forms"),
            route("slas/policies", whole("sla_policies"), "sla_policies"),
            route("user_fields", listed("user_fields"), "user_fields"),
            route("organization_fields", listed("organization_fields"), "organization_fields"),
            route("search", self._search, "search"),
        ]

    def _guard(self, handler: Handler, endpoint: str) -> Handler:
        """Auth, then per-minute limits, then plan gating — the order Zendesk applies them."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self._authenticated(request):
                return json_response({"error": "Couldn't authenticate you"}, status=401)
            limited = self._rate_limited(request.path)
            if limited is not None:
                return limited
            if endpoint in self.gated:
                return json_response(FORBIDDEN, status=403)
            response = await handler(request)
            response.headers["X-Rate-Limit"] = str(self.rate_limit or 700)
            return response

        return guarded

    def _authenticated(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[7:] == self.account.access_token
        credentials = basic_credentials(request)
        return credentials == (f"{self.account.email}/token", self.account.api_token)

    def _rate_limited(self, path: str) -> web.Response | None:
        checks = [("account", self.rate_limit)]
        if "/incremental/" in path:
            checks.append(("export", self.export_rate_limit))
        now = time.monotonic()
        with self._lock:
            for bucket, limit in checks:
                if limit is None:
                    continue
                started, used = self._windows.get(bucket, (now, 0))
                if now - started >= self.rate_window:
                    started, used = now, 0
                if used >= limit:
                    wait = max(1, math.ceil(started + self.rate_window - now))
                    body = {"error": "APIRateLimitExceeded", "description": f"Rate limited: retry in {wait}s"}
                    return json_response(body, status=429, headers={"Retry-After": str(wait)})
                self._windows[bucket] = (started, used + 1)
        return None

    def _origin(self, request: web.Request) -> str:
        """Where links point: the public base URL when set (Zendesk's own host), else this server."""
        return self.public_url or f"{request.scheme}://{request.host}"

    def _seeded_collection(self, name: str) -> SeededCollection:
        collection = self.collections[name]
        assert isinstance(collection, SeededCollection)
        return collection

    def _export_page_size(self, request: web.Request) -> int:
        try:
            per_page = int(request.query.get("per_page", MAX_EXPORT_PAGE))
        except ValueError:
            raise _bad_request("per_page must be an integer") from None
        return max(1, min(per_page, MAX_EXPORT_PAGE, self.export_page_max))

    def _start_time(self, request: web.Request, *, recent_ok: bool = False) -> int:
        raw = request.query.get("start_time")
        if raw is None:
            raise _bad_request("start_time is required")
        start = read_start_time(raw)
        if start is None:
            raise _bad_request(f"start_time must be a unix timestamp, got {raw!r}")
        if not recent_ok and start > epoch(self.clock.now) - EXPORT_LAG:
            raise _bad_request("Too recent start_time. Use a start_time older than 1 minute")
        return start

    async def _cursor_export(self, request: web.Request, name: str) -> web.Response:
        size = self._export_page_size(request)
        horizon = epoch(self.clock.now) - EXPORT_LAG
        if "cursor" in request.query:
            resume = _decode_cursor(request.query["cursor"])
            if not (isinstance(resume, list) and len(resume) == 2 and all(isinstance(v, int) for v in resume)):
                raise _bad_request("invalid cursor", "InvalidPaginationParameter")
            start = (resume[0], resume[1] + 1)
        else:
            start = (self._start_time(request), 0)
            resume = [start[0] - 1, 2**62]  # just before the first item: an empty page re-polls from here
        page: list[tuple[int, int]] = []
        following = None
        for item in self._seeded_collection(name).change_order(start):
            if item[0] > horizon or len(page) == size:
                following = item
                break
            page.append(item)
        end_of_stream = following is None or following[0] > horizon
        cursor = _encode_cursor(list(page[-1]) if page else resume)
        collection = self.collections[name]
        if name == "tickets" and "metric_sets" in request.query.get("include", "").split(","):
            parts = [self._with_metric_set(key) for _, key in page]
        else:
            parts = [collection.encoded(key) for _, key in page]
        query = f"cursor={cursor}" + "".join(
            f"&{k}={v}" for k, v in request.query.items() if k in {"include", "per_page"}
        )
        tail = {
            "after_url": f"{self._origin(request)}{request.path}?{query}",
            "after_cursor": cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": end_of_stream,
        }
        body = b'{"' + name.encode() + b'":[' + b",".join(parts) + b"]," + orjson.dumps(tail)[1:]
        return web.Response(body=body, content_type="application/json")

    def _with_metric_set(self, key: int) -> bytes:
        ticket = self.tickets.get(key)
        assert ticket is not None
        return orjson.dumps({**ticket, "metric_set": self.factory.metric_set(ticket)})

    async def _time_export(self, request: web.Request, name: str) -> web.Response:
        size = self._export_page_size(request)
        # "The Unix UTC epoch time of the oldest event you're interested in": no one-minute rule there
        start = self._start_time(request, recent_ok=name == "ticket_metric_events")
        horizon = epoch(self.clock.now) - EXPORT_LAG
        events = name == "ticket_metric_events"
        order: Iterator[tuple[int, ...]] = (
            self.metric_event_order(start) if events else self._seeded_collection(name).change_order((start, 0))
        )
        taken: list[tuple[int, ...]] = []
        following = None
        for item in order:
            # Items sharing the last timestamp all go in this page, so ``end_time`` can move past them.
            if len(taken) >= size and item[0] != taken[-1][0]:
                following = item
                break
            taken.append(item)
        page = [item for item in taken if item[0] <= horizon]
        if len(page) < len(taken):
            following = taken[len(page)]
        end_of_stream = following is None or following[0] > horizon
        end_time = page[-1][0] if page else start
        if not end_of_stream and end_time == start:
            end_time += 1
        if events:
            items = b",".join(orjson.dumps(self.factory.metric_event(item[2], item[3], item[0])) for item in page)
        else:
            items = b",".join(self.collections[name].encoded(item[1]) for item in page)
        tail = {
            "count": len(page),
            "end_time": end_time,
            "next_page": f"{self._origin(request)}{request.path}?start_time={end_time}",
            "end_of_stream": end_of_stream,
        }
        body = b'{"' + name.encode() + b'":[' + items + b"]," + orjson.dumps(tail)[1:]
        return web.Response(body=body, content_type="application/json")

    def _page_size(self, request: web.Request) -> int:
        size = _query_int(request, "page[size]", MAX_LIST_PAGE)
        if not 1 <= size <= MAX_LIST_PAGE:
            raise _bad_request(f"page[size] must be between 1 and {MAX_LIST_PAGE}", "InvalidPaginationParameter")
        return size

    def _kept_query(self, request: web.Request, *drop: str) -> str:
        """The request's own filters (e.g. satisfaction_ratings' ``start_time``), repeated in next links."""
        kept = [(k, v) for k, v in request.query.items() if k not in drop and not k.startswith("page[")]
        return "".join(f"&{urlencode({k: v})}" for k, v in kept)

    def _cbp_response(
        self, request: web.Request, key: str, items: list[bytes], cursors: list[Any], has_more: bool
    ) -> web.Response:
        after = _encode_cursor(cursors[-1]) if cursors else None
        next_url = None
        if has_more:
            query = f"page[after]={after}&page[size]={self._page_size(request)}{self._kept_query(request)}"
            next_url = f"{self._origin(request)}{request.path}?{query}"
        tail = {
            "meta": {
                "has_more": has_more,
                "after_cursor": after,
                "before_cursor": _encode_cursor(cursors[0]) if cursors else None,
            },
            "links": {"next": next_url, "prev": None},
        }
        body = b'{"' + key.encode() + b'":[' + b",".join(items) + b"]," + orjson.dumps(tail)[1:]
        return web.Response(body=body, content_type="application/json")

    def _offset_window(self, request: web.Request) -> tuple[int, int, int]:
        """(page, per_page, first position) of an offset-paginated request."""
        page = _query_int(request, "page", 1)
        per_page = max(1, min(_query_int(request, "per_page", MAX_LIST_PAGE), MAX_LIST_PAGE))
        if page < 1:
            raise _bad_request(f"page must be 1 or more, got {page}", "InvalidPaginationParameter")
        start = (page - 1) * per_page
        if start >= MAX_OFFSET_RECORDS:
            raise _bad_request(
                f"Offset pagination is limited to the first {MAX_OFFSET_RECORDS} records; use cursor pagination",
                "InvalidPaginationParameter",
            )
        return page, per_page, start

    def _obp_response(
        self, request: web.Request, key: str, items: list[bytes], total: int, *, page: int, per_page: int
    ) -> web.Response:
        def link(number: int) -> str:
            query = f"page={number}&per_page={per_page}{self._kept_query(request, 'page', 'per_page')}"
            return f"{self._origin(request)}{request.path}?{query}"

        tail = {
            "next_page": link(page + 1) if page * per_page < total else None,
            "previous_page": link(page - 1) if page > 1 else None,
            "count": total,
        }
        body = b'{"' + key.encode() + b'":[' + b",".join(items) + b"]," + orjson.dumps(tail)[1:]
        return web.Response(body=body, content_type="application/json")

    @staticmethod
    def _cursor_paged(request: web.Request) -> bool:
        """Zendesk switches a list to cursor pagination when the request says ``page[size]`` (or a cursor)."""
        return any(k.startswith("page[") for k in request.query)

    def _paged(self, request: web.Request, key: str, count: int, encode: Callable[[int], bytes]) -> web.Response:
        """One page of ``count`` positionally addressed items, by cursor or by offset as asked."""
        if self._cursor_paged(request):
            size = self._page_size(request)
            pos = 0
            if "page[after]" in request.query:
                pos = int(_decode_cursor(request.query["page[after]"])) + 1
            window = list(range(pos, min(pos + size, count)))
            return self._cbp_response(request, key, [encode(n) for n in window], window, pos + size < count)
        page, per_page, start = self._offset_window(request)
        items = [encode(n) for n in range(start, min(start + per_page, count))]
        return self._obp_response(request, key, items, count, page=page, per_page=per_page)

    async def _list_page(self, request: web.Request, name: str, key: str) -> web.Response:
        collection = self.collections[name]
        wanted: Callable[[Any], bool] | None = None
        if name == "satisfaction_ratings" and "start_time" in request.query:
            since = datetime.fromtimestamp(self._start_time(request, recent_ok=True), UTC)
            if isinstance(collection, SeededCollection):
                seeded = collection
                wanted = lambda k: seeded.last_change(k) >= since  # noqa: E731 - no record is built to filter
            else:
                wanted = lambda k: (r := collection.get(k)) is not None and r["updated_at"] >= iso(since)  # noqa: E731

        def keys(rank: int) -> Iterator[Any]:
            found = collection.keys_from(rank)
            return found if wanted is None else filter(wanted, found)

        if self._cursor_paged(request):
            # cursors carry the record key, so a record created between pages neither repeats nor hides one
            size = self._page_size(request)
            pos = 0
            if "page[after]" in request.query:
                pos = collection.rank_after(_decode_cursor(request.query["page[after]"]))
            window = list(islice(keys(pos), size + 1))
            page = window[:size]
            items = [collection.encoded(k) for k in page]
            return self._cbp_response(request, key, items, page, len(window) > size)
        number, per_page, start = self._offset_window(request)
        # a filtered count scans every key (no record is generated for it); unfiltered it is known
        total = len(collection) if wanted is None else sum(1 for _ in keys(0))
        first = start if wanted is None else 0
        chosen = islice(keys(first), start - first, start - first + per_page)
        items = [collection.encoded(k) for k in chosen]
        return self._obp_response(request, key, items, total, page=number, per_page=per_page)

    async def _unpaged(self, request: web.Request, name: str) -> web.Response:
        records = self.collections[name].records()
        payload = {name: records, "next_page": None, "previous_page": None, "count": len(records)}
        return json_response(payload)

    async def _audits(self, request: web.Request) -> web.Response:
        ticket = self.collections["tickets"].get(int(request.match_info["ticket_id"]))
        if ticket is None or ticket["status"] == "deleted":
            return json_response({"error": "RecordNotFound", "description": "Not found"}, status=404)
        audits = self.ticket_audits(ticket)
        return self._paged(request, "audits", len(audits), lambda n: orjson.dumps(audits[n]))

    async def _search(self, request: web.Request) -> web.Response:
        """``GET /api/v2/search?query=...``: matching tickets, users, organisations and groups (OBP).

        Records are generated and tested one at a time: the total ``count`` costs a scan, never memory.
        """
        query = request.query.get("query", "")
        page, per_page, start = self._offset_window(request)
        total, items = 0, []
        for kind, name in SEARCHABLE.items():
            for record in self.collections[name].iter_records():
                if _matches(query, kind, record):
                    if start <= total < start + per_page:
                        items.append(orjson.dumps({**record, "result_type": kind}))
                    total += 1
        return self._obp_response(request, "results", items, total, page=page, per_page=per_page)


def _search_moment(text: str) -> str | None:
    """A search date (``2024-05-01``) or datetime (``2024-05-01T10:00:00Z``) as comparable ISO text."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def _matches(query: str, kind: str, record: Record) -> bool:
    """Whether ``record`` (of search ``type`` ``kind``) satisfies every term of ``query``.

    Terms follow Zendesk's search reference: ``type:user``, ``created>2024-01-01`` (also ``<``,
    ``>=``, ``<=``, ``:``), ``property:value`` (a list property matches any element), free words
    (found anywhere in the record), a leading ``-`` negates.
    """
    for term in query.split():
        match = SEARCH_TERM.match(term)
        if match is None:
            negated, word = term.startswith("-"), term.lstrip("-").lower()
            hit = word in orjson.dumps(record).decode().lower()
        else:
            sign, key, operator, value = match.groups()
            negated = sign == "-"
            hit = _term_hits(kind, record, key, operator, value.strip('"'))
        if hit == negated:
            return False
    return True


def _term_hits(kind: str, record: Record, key: str, operator: str, value: str) -> bool:
    if key == "type":
        return value.lower() == kind
    if key in {"created", "updated"}:
        stamp, bound = str(record.get(f"{key}_at") or ""), _search_moment(value)
        if not stamp or bound is None:
            return False
        if operator == ":":
            return stamp[:10] == bound[:10]
        return {">": stamp > bound, ">=": stamp >= bound, "<": stamp < bound, "<=": stamp <= bound}[operator]
    field = record.get(key)
    values: list[Any] = field if isinstance(field, list) else [field]
    return operator == ":" and value.lower() in {str(v).lower() for v in values}
