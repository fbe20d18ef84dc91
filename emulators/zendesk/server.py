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
import math
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson
from aiohttp import web

from emulators.core import Collection, HttpEmulator, Mutation, SimClock
from emulators.core.server import basic_credentials, json_response
from emulators.zendesk.records import (
    ORGANIZATION_FIELDS,
    USER_FIELDS,
    Account,
    Factory,
    Record,
    epoch,
    iso,
    parse_iso,
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
        self.audit_times: dict[int, list[int]] = {}
        self._windows: dict[str, tuple[float, int]] = {}
        self._indexes: dict[str, list[tuple[int, Any]]] = {}
        self._metric_events: list[Record] | None = None
        self._lock = threading.RLock()
        self._populating = True
        self._populate()
        self._populating = False

    # -- data ----------------------------------------------------------------------------------

    def _times(self, rng: random.Random) -> tuple[datetime, datetime]:
        """Return (created, updated): spread over the history while populating, "now" afterwards."""
        if not self._populating:
            stamp = self.stamp()
            return stamp, stamp
        created = self.clock.history_point(rng.random() * 0.8)
        updated = created + timedelta(seconds=rng.randint(0, 60 * 86_400))
        return created, updated

    def stamp(self) -> datetime:
        """Return when changes made by :meth:`advance` happened.

        Just over a minute before "now", so the next export (which holds back the last minute)
        already sees them.
        """
        return self.clock.now - timedelta(seconds=EXPORT_LAG + 1)

    def _collection(self, name: str, build: Callable[..., Record], count: int, key: str = "id") -> Collection:
        def make(record_key: int, rng: random.Random) -> Record:
            return build(record_key, rng, *self._times(rng))

        collection = Collection(name, make, self._touch(name), key=key)
        collection.next_id = self.account.id_base + 1
        collection.populate(count, self.rng(f"{self.account.name}:{name}"))
        self.collections[name] = collection
        return collection

    def _populate(self) -> None:
        f, n = self.factory, self.volume
        f.group_ids = self._collection("groups", f.group, 4).keys()
        f.org_ids = self._collection("organizations", f.organization, max(3, n // 10)).keys()
        f.user_ids = self._collection("users", f.user, max(5, n // 2)).keys()
        self._collection("group_memberships", f.group_membership, 8)
        tickets = self._collection("tickets", f.ticket, n)
        rng = self.rng(f"{self.account.name}:audits")
        for ticket in tickets.records():
            self.audit_times[ticket["id"]] = f.audit_times(ticket, rng)
        self._collection("macros", f.macro, 5)
        self._collection("tags", f.tag, 12, key="name")
        fields = Collection("ticket_fields", lambda *_: {}, lambda *_: None)
        for field in f.fields:
            fields.add(f.ticket_field(field, self.clock.history_point(0.01)))
        self.collections["ticket_fields"] = fields
        self._collection("ticket_forms", f.ticket_form, 3)
        self._collection("satisfaction_ratings", f.satisfaction_rating, max(3, n // 4))
        self._collection("sla_policies", f.sla_policy, 3)
        self._collection("talk_phone_numbers", f.phone_number, 2)
        for kind, definitions in PROFILE_FIELDS.items():
            profile = Collection(kind, lambda *_: {}, lambda *_: None)
            for n, definition in enumerate(definitions, start=1):
                profile.add(f.profile_field(kind, self.account.id_base + n, definition, self.clock.history_point(0.01)))
            self.collections[kind] = profile

    def _touch(self, name: str) -> Callable[[Record, random.Random], None]:
        def touch(record: Record, rng: random.Random) -> None:
            when = self.stamp()
            if name == "tickets":
                if record["status"] != "deleted":
                    self.factory.touch_ticket(record, rng, when)
                    self.audit_times[record["id"]].append(epoch(when))
                return
            if record.get("active") is False or record.get("deleted_at"):
                return  # deleted users/organisations are not edited any more
            if name == "users":
                record["user_fields"]["seats"] = rng.randint(1, 900)
            elif name == "organizations":
                record["notes"] = f"edited {iso(when)}"
            elif name == "tags":
                record["count"] += 1
                return
            if "updated_at" in record:
                record["updated_at"] = iso(when)

        return touch

    def _soft_delete(self, name: str, collection: Collection, keys: list[Any]) -> None:
        when = self.stamp()
        for key in keys:
            record = collection.deleted.pop(key, None)
            if record is None:
                continue
            if name == "tickets":
                record["status"] = "deleted"
                record["generated_timestamp"] = epoch(when)
            elif name == "users":
                record["active"] = False
            else:
                record["deleted_at"] = iso(when)
            record["updated_at"] = iso(when)
            collection.add(record)

    def _make_ticket_children(self, keys: list[Any]) -> None:
        rng = self.rng(f"{self.account.name}:audits:{self.mutation_count}")
        for key in keys:
            ticket = self.collections["tickets"].get(key)
            if ticket is not None:
                self.audit_times[key] = self.factory.audit_times(ticket, rng)

    def advance(self, updates: int = 5, creates: int = 5, deletes: int = 2, seconds: float = 86_400) -> Mutation:
        """Move to the next day: tickets/users/organisations changed, created, soft-deleted.

        A few configuration objects are edited too. Every change is stamped :meth:`stamp`.
        """
        with self._lock:
            self.clock.advance(seconds)
            rng = self.rng(f"advance:{self.mutation_count}")
            self.mutation_count += 1
            change = Mutation()
            for name in SOFT_DELETED:
                collection = self.collections[name]
                step = collection.mutate(rng, updates, creates, deletes)
                self._soft_delete(name, collection, step.deleted)
                if name == "tickets":
                    self._make_ticket_children(step.created)
                change.merge(step, name)
            for name in EDITED:
                change.merge(self.collections[name].mutate(rng, min(updates, 2), min(creates, 1), 0), name)
            self._indexes.clear()
            self._metric_events = None
            return change

    def ticket_audits(self, ticket: Record) -> list[Record]:
        """Return a ticket's audits as ``/tickets/{id}/audits`` does."""
        return self.factory.audits(ticket, self.audit_times[ticket["id"]])

    def _live_tickets(self) -> list[Record]:
        return [t for t in self.collections["tickets"].records() if t["status"] != "deleted"]

    def metric_events(self) -> list[Record]:
        """All SLA metric events sorted as the export returns them (by time, then id)."""
        with self._lock:
            if self._metric_events is None:
                events = []
                for ticket in self.collections["tickets"].records():
                    events += self.factory.metric_events(self.ticket_audits(ticket))
                events.sort(key=lambda e: (e["time"], e["id"]))
                self._metric_events = events
            return self._metric_events

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

    def _export_index(self, name: str) -> list[tuple[int, Any]]:
        """(timestamp, id) of every exportable item, sorted: what export cursors walk."""
        with self._lock:
            index = self._indexes.get(name)
            if index is None:
                if name == "ticket_metric_events":
                    index = [(epoch(parse_iso(e["time"])), n) for n, e in enumerate(self.metric_events())]
                elif name == "tickets":
                    index = sorted((t["generated_timestamp"], t["id"]) for t in self.collections[name].records())
                else:
                    records = self.collections[name].records()
                    index = sorted((epoch(parse_iso(r["updated_at"])), r["id"]) for r in records)
                self._indexes[name] = index
            return index

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
        index = self._export_index(name)
        size = self._export_page_size(request)
        horizon = epoch(self.clock.now) - EXPORT_LAG
        if "cursor" in request.query:
            pos = bisect.bisect_right(index, tuple(_decode_cursor(request.query["cursor"])))
        else:
            pos = bisect.bisect_left(index, (self._start_time(request),))
        page = [item for item in index[pos : pos + size] if item[0] <= horizon]
        end = pos + len(page)
        end_of_stream = end >= len(index) or index[end][0] > horizon
        last = page[-1] if page else (index[pos - 1] if pos else (0, 0))
        cursor = _encode_cursor(list(last))
        collection = self.collections[name]
        parts = [collection.encoded(key) for _, key in page]
        if name == "tickets" and "metric_sets" in request.query.get("include", "").split(","):
            parts = [self._with_metric_set(part, key) for part, (_, key) in zip(parts, page, strict=True)]
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

    def _with_metric_set(self, encoded: bytes, key: int) -> bytes:
        ticket = self.collections["tickets"].get(key)
        assert ticket is not None
        return encoded[:-1] + b',"metric_set":' + orjson.dumps(self.factory.metric_set(ticket)) + b"}"

    async def _time_export(self, request: web.Request, name: str) -> web.Response:
        index = self._export_index(name)
        size = self._export_page_size(request)
        # "The Unix UTC epoch time of the oldest event you're interested in": no one-minute rule there
        start = self._start_time(request, recent_ok=name == "ticket_metric_events")
        horizon = epoch(self.clock.now) - EXPORT_LAG
        pos = bisect.bisect_left(index, (start,))
        end = min(pos + size, len(index))
        # Items sharing the last timestamp all go in this page, so ``end_time`` can move past them.
        while end < len(index) and end > pos and index[end][0] == index[end - 1][0]:
            end += 1
        page = [item for item in index[pos:end] if item[0] <= horizon]
        after = pos + len(page)
        end_of_stream = after >= len(index) or index[after][0] > horizon
        end_time = page[-1][0] if page else start
        if not end_of_stream and end_time == start:
            end_time += 1
        if name == "ticket_metric_events":
            events = self.metric_events()
            items = b",".join(orjson.dumps(events[n]) for _, n in page)
        else:
            items = b",".join(self.collections[name].encoded(key) for _, key in page)
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
        keys = collection.keys()
        if name == "satisfaction_ratings" and "start_time" in request.query:
            since = iso(datetime.fromtimestamp(self._start_time(request, recent_ok=True), UTC))
            keys = [k for k in keys if (r := collection.get(k)) is not None and r["updated_at"] >= since]
        if self._cursor_paged(request):
            # cursors carry the record key, so a record created between pages neither repeats nor hides one
            size = self._page_size(request)
            pos = 0
            if "page[after]" in request.query:
                pos = bisect.bisect_right(keys, _decode_cursor(request.query["page[after]"]))
            page = keys[pos : pos + size]
            items = [collection.encoded(k) for k in page]
            return self._cbp_response(request, key, items, page, pos + size < len(keys))
        return self._paged(request, key, len(keys), lambda n: collection.encoded(keys[n]))

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
        """``GET /api/v2/search?query=...``: matching tickets, users, organisations and groups (OBP)."""
        found = [
            {**record, "result_type": kind}
            for kind, name in SEARCHABLE.items()
            for record in self.collections[name].records()
            if _matches(request.query.get("query", ""), kind, record)
        ]
        page, per_page, start = self._offset_window(request)
        items = [orjson.dumps(r) for r in found[start : start + per_page]]
        return self._obp_response(request, "results", items, len(found), page=page, per_page=per_page)


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
