"""ZenGRC API v2 emulator. Reference: the vendor notes `../shared/sources/zengrc.md <../shared/sources/zengrc.md>`_.

Confirmed behaviour reproduced [conf]: ``GET /api/v2/<collection>`` lists with records under ``data``
and the next page as a server-relative ``links.next.href`` (JSON null on the last page), HTTP Basic
with an API key id/secret, object shapes of §2.6-2.8 (person refs, ``mapped``, ``custom_attributes``
keyed by tenant attribute id, ``links.self``). Our choices where the notes say [inf]: ``?page=N``
(1-based) with ``page_size`` honoured up to 500 (default 50), id-ascending order, 401/404 bodies
``{"message": ...}``, timestamps with varying UTC offsets. No server-side filter exists (§2.5), so
none is emulated: a tap must page everything. An API key without rights to a collection (a module
the tenant's plan lacks, §2.9) answers 403 ``{"message": "Forbidden"}``: option ``forbidden``.
This module follows the notes only; it imports and copies nothing from any tap.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice
from typing import Any, ClassVar

import orjson
from aiohttp import web

from emulators.core import HttpEmulator, SeededCollection
from emulators.core.clock import EPOCH
from emulators.core.collection import Record, SeededMake, Touch, mix, text_seed
from emulators.core.server import basic_credentials, json_response

DEFAULT_PAGE_SIZE = 50
DEFAULT_KEY_ID = "emulator-key-id"
DEFAULT_KEY_SECRET = "emulator-key-secret"  # noqa: S105 - a fixed local test credential
MAX_PAGE_SIZE = 500
#: Seeded record bodies per collection (see ``ZenGRCEmulator._build``).
VARIANTS = 1024
OFFSETS = [
    UTC,
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=2)),
    timezone(timedelta(hours=5, minutes=30)),
]

#: collection path → object ``type`` (§2.3).
TYPES: dict[str, str] = {
    "assessments": "Assessment",
    "audits": "Audit",
    "controls": "Control",
    "issues": "Issue",
    "objectives": "Objective",
    "programs": "Program",
    "requests": "Request",
    "risks": "Risk",
    "vendors": "Vendor",
    "people": "Person",
    "systems": "System",
}
#: ``mapped`` keys per collection (§2.7); values reference these collections or tenant-only kinds.
MAPPED: dict[str, tuple[str, ...]] = {
    "assessments": ("audits",),
    "audits": ("markets", "standards"),
    "controls": ("objectives",),
    "issues": ("audits", "controls", "programs", "standards"),
    "programs": ("assessments", "issues", "org_groups", "requests", "risks", "standards", "systems"),
    "requests": ("controls", "issues", "programs"),
    "vendors": ("data_assets", "facilities", "products", "systems", "tasks"),
    "systems": ("controls", "vendors"),
}
STATUSES: dict[str, tuple[str, ...]] = {
    "audits": ("Planned", "In Progress", "Completed"),
    "issues": ("Open", "In Progress", "Closed"),
    "requests": ("Open", "In Progress", "Completed"),
    "assessments": ("Open", "Completed"),
}
DEFAULT_STATUSES = ("Draft", "Active", "Deprecated")
#: Tenant custom attributes: (attribute id, title, value kind) per collection (§2.6: ids are per tenant).
CUSTOM_ATTRIBUTES: dict[str, tuple[tuple[int, str, str], ...]] = {
    "assessments": ((139, "Sample Size", "str"), (141, "Test Owner", "str")),
    "controls": ((116, "Control Level", "str"), (117, "Key Control", "bool"), (118, "Frequency", "str")),
    "issues": ((142, "Likelihood", "int"), (143, "Impact", "int"), (144, "Remediation Date", "date")),
    "requests": ((59, "GitLab Assignee", "str"), (70, "External Audit", "bool")),
    "risks": ((201, "Inherent Score", "float"),),
    "vendors": ((230, "Data Classification", "str"), (231, "Contract Value", "float")),
}
WORDS = [
    "access",
    "review",
    "quarterly",
    "evidence",
    "vendor",
    "encryption",
    "backup",
    "policy",
    "change",
    "management",
    "incident",
    "logging",
    "monitoring",
    "privileged",
    "accounts",
    "onboarding",
    "offboarding",
    "firewall",
    "patching",
    "SOX",
    "ITGC",
    "retention",
    "disaster",
    "recovery",
    "segregation",
    "duties",
    "approval",
    "baseline",
    "configuration",
]
FIRST = ("Ana", "Sam", "Priya", "Jonas", "Mei", "Omar", "Lucia", "Kwame", "Elena", "Tomás", "Yuki", "Zoë")
LAST = (
    "Lopez",
    "Chen",
    "Iyer",
    "Berg",
    "Wong",
    "Haddad",
    "Rossi",
    "Mensah",
    "Petrova",
    "García",
    "Sato",
    "Müller",
)


def _stamp(moment: datetime, rng: random.Random) -> str:
    """ISO-8601 with a varying offset: the same instant as the tap must land it, in UTC."""
    return moment.astimezone(rng.choice(OFFSETS)).isoformat()


class ZenGRCEmulator(HttpEmulator):
    """Serves every ZenGRC collection of the notes from seeded data.

    Records are generated from the seed when a page asks for them (constant memory at any volume);
    ground truth: :meth:`truth` (records, small volumes) and :meth:`summary` (any volume).

    Options: ``username``/``password`` (the API key id/secret it accepts), ``only`` (comma-separated
    collections to populate with ``volume`` records; others stay empty — benchmarks use it),
    ``extra_fields`` (fields added to every object, like a tenant's undocumented ones),
    ``forbidden`` (comma-separated collections the API key may not read: 403, §2.9).
    """

    name: ClassVar[str] = "zengrc"

    def __init__(self, seed: int = 1, volume: int = 100, faults: Any = None, **options: Any) -> None:
        super().__init__(seed, volume, faults, **options)
        self.username = str(options.get("username", DEFAULT_KEY_ID))
        self.password = str(options.get("password", DEFAULT_KEY_SECRET))
        forbidden = options.get("forbidden")
        self.forbidden = set(str(forbidden).split(",")) if forbidden else set()
        only = options.get("only")
        populated = set(str(only).split(",")) if only else set(TYPES)
        self._name_seed = text_seed(f"{self.name}:{seed}:people:names")
        self._variants: dict[tuple[str, int], Record] = {}
        self._variant_json: dict[tuple[str, int], bytes] = {}
        self._slot_seeds = {path: text_seed(f"{self.name}:{seed}:{path}:slot") for path in TYPES}
        # Person refs draw an id among the seeded people and derive its name from the id: no lookup.
        self.people_count = max(volume, 1) if "people" in populated else 0
        for path in TYPES:
            count = self.people_count if path == "people" else (volume if path in populated else 0)
            self.collections[path] = SeededCollection(
                path,
                self._maker(path),
                self._toucher(path),
                seed=f"{self.name}:{seed}:{path}",
                count=count,
                history=(0.0, 0.9),
                fast_encode=self._encoder(path),
            )

    # -- data ------------------------------------------------------------------------------------

    def person_name(self, person_id: int) -> tuple[str, str]:
        """(first, last) name of person ``person_id``: derived from the id, so refs need no lookup."""
        drawn = mix(self._name_seed, person_id)
        return FIRST[drawn % len(FIRST)], LAST[(drawn >> 16) % len(LAST)]

    def _person_ref(self, rng: random.Random) -> dict[str, Any] | None:
        if not self.people_count:
            return None
        person_id = rng.randint(1, self.people_count)
        first, last = self.person_name(person_id)
        return {"id": person_id, "name": f"{first} {last}", "type": "Person"}

    def _people(self, rng: random.Random, most: int = 3) -> list[dict[str, Any]]:
        refs = (self._person_ref(rng) for _ in range(rng.randint(0, most)))
        return [r for r in refs if r is not None]

    @staticmethod
    def _ref(kind: str, rng: random.Random) -> dict[str, Any]:
        ref_id = rng.randint(1, 5_000)
        return {
            "id": ref_id,
            "title": f"{kind.rstrip('s').replace('_', ' ').title()} {ref_id}",
            "type": TYPES.get(kind, kind.rstrip("s").title().replace("_", "")),
        }

    def _maker(self, path: str) -> SeededMake:
        def make(record_id: int, born: datetime | None) -> Record:
            own, variant = self._own(path, record_id, born)
            return {**own, **self._variant(path, variant), **(self.options.get("extra_fields") or {})}

        return make

    def _encoder(self, path: str) -> Callable[[int, datetime | None], bytes]:
        """The JSON of an unedited record straight from bytes: the same object as ``make``'s, no dict built."""
        extra = self.options.get("extra_fields") or {}
        extra_json = b"," + orjson.dumps(extra)[1:-1] if extra else b""

        def encode(record_id: int, born: datetime | None) -> bytes:
            own, variant = self._own(path, record_id, born)
            body = self._variant_json.get((path, variant))
            if body is None:
                body = self._variant_json[(path, variant)] = orjson.dumps(self._variant(path, variant))[1:-1]
            return b"{" + orjson.dumps(own)[1:-1] + b"," + body + extra_json + b"}"

        return encode

    def _own(self, path: str, record_id: int, born: datetime | None) -> tuple[Record, int]:
        """What is the record's own (id, code, name, times, links) and which seeded body it wears.

        Why bodies: drawing every field per record costs ~0.3 ms, which made the emulator slower than the
        taps it feeds; one of :data:`VARIANTS` bodies per collection is drawn once instead.
        """
        drawn = mix(self._slot_seeds[path], record_id)
        if born is not None:
            created = updated = born
        else:
            collection = self.collections[path]
            assert isinstance(collection, SeededCollection)
            updated = min(collection.history_moment(record_id), self.clock.now)
            created = max(updated - timedelta(seconds=(drawn >> 16) % (30 * 86_400)), EPOCH)
        kind = TYPES[path]
        own: Record = {"id": record_id, "type": kind}
        if path == "people":
            first, last = self.person_name(record_id)
            own["name"] = f"{first} {last}"
            own["email"] = f"{first.lower()}.{last.lower()}{record_id}@example.com"
        else:
            own["code"] = f"{kind.upper()}-{record_id}"
        own["created_at"] = created.astimezone(OFFSETS[(drawn >> 8) % len(OFFSETS)]).isoformat()
        own["updated_at"] = updated.astimezone(OFFSETS[(drawn >> 12) % len(OFFSETS)]).isoformat()
        own["links"] = {"self": {"href": f"/api/v2/{path}/{record_id}"}}
        return own, drawn % VARIANTS

    def _toucher(self, path: str) -> Touch:
        def touch(record: Record, rng: random.Random, when: datetime) -> None:
            record["updated_at"] = _stamp(when, rng)
            if path == "people":
                record["role"] = rng.choice(("Reader", "Editor", "Administrator"))
                return
            record["status"] = rng.choice(STATUSES.get(path, DEFAULT_STATUSES))
            record["title"] = f"{record['title'].split(' (rev')[0]} (rev {rng.randint(2, 99)})"

        return touch

    def _variant(self, path: str, variant: int) -> Record:
        """The seeded fields records share (everything but id, code, name, times and links), drawn once."""
        cached = self._variants.get((path, variant))
        if cached is not None:
            return cached
        rng = random.Random(f"{self.name}:{self.seed}:{path}:variant:{variant}")
        if path == "people":
            body: Record = {
                "company": rng.choice(("Acme", "Acme EU", None)),
                "role": rng.choice(("No Access", "Creator", "Reader", "Editor", "Administrator")),
            }
            self._variants[(path, variant)] = body
            return body
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).capitalize()
        body = {
            "title": title,
            "description": rng.choice((None, f"{title}. Evidence lives in the GRC folder.")),
            "notes": rng.choice((None, "", "Reviewed by internal audit.")),
            "status": rng.choice(STATUSES.get(path, DEFAULT_STATUSES)),
            "tags": rng.sample(("SOX", "Q3", "ISO27001", "SOC2", "GDPR"), rng.randint(0, 2)),
        }
        start = EPOCH.date() + timedelta(days=rng.randint(0, 330))
        body.update(self._specific(path, rng, start))
        body["mapped"] = {key: [self._ref(key, rng) for _ in range(rng.randint(0, 2))] for key in MAPPED.get(path, ())}
        attributes = CUSTOM_ATTRIBUTES.get(path, ())
        body["custom_attributes"] = {
            str(attr_id): {
                "id": attr_id,
                "title": attr_title,
                "value": self._attribute_value(value_kind, rng, start),
            }
            for attr_id, attr_title, value_kind in attributes
            if rng.random() < 0.8
        }
        self._variants[(path, variant)] = body
        return body

    @staticmethod
    def _attribute_value(kind: str, rng: random.Random, start: Any) -> Any:
        if kind == "bool":
            return rng.random() < 0.5
        if kind == "int":
            return rng.randint(1, 5)
        if kind == "float":
            return round(rng.uniform(0, 100_000), 2)
        if kind == "date":
            return (start + timedelta(days=rng.randint(1, 90))).isoformat()
        return rng.choice(("Entity", "Process", "alopez", "Monthly", "25"))

    def _specific(self, path: str, rng: random.Random, start: Any) -> Record:
        end = (start + timedelta(days=rng.randint(30, 120))).isoformat()
        begin = start.isoformat()
        if path == "assessments":
            return {
                "conclusion": rng.choice(("Effective", "Ineffective", None)),
                "start_date": begin,
                "end_date": end,
                "control": self._ref("controls", rng),
                "assessors": self._people(rng),
            }
        if path == "audits":
            return {
                "start_date": begin,
                "end_date": end,
                "report_period_start_date": begin,
                "report_period_end_date": end,
                "audit_managers": self._people(rng, 2),
                "program": self._ref("programs", rng),
                "sync_external_attachments": rng.random() < 0.3,
                "sync_external_comments": rng.random() < 0.3,
            }
        if path == "issues":
            return {"stop_date": rng.choice((None, end))}
        if path == "objectives":
            return {"os_state": rng.choice(("Reviewed", "Unreviewed"))}
        if path == "programs":
            return {
                "url": rng.choice((None, "https://wiki.example.com/grc")),
                "reference_url": None,
                "effective_date": begin,
                "stop_date": None,
                "managers": self._people(rng, 2),
                "editors": self._people(rng, 2),
                "readers": self._people(rng, 2),
                "primary_contact": self._person_ref(rng),
                "secondary_contact": rng.choice((None, self._person_ref(rng))),
            }
        if path == "requests":
            return {
                "test": rng.choice((None, "Inspect the UAR export")),
                "start_date": begin,
                "end_date": end,
                "stop_date": None,
                "due_date": end,
                "notify_assignee": rng.choice((True, False, None)),
                "audit": self._ref("audits", rng),
                "assignees": self._people(rng, 2),
                "requesters": self._people(rng, 1),
                "verifiers": self._people(rng, 1),
                "reviewers": [
                    {"reviewer": ref, "status": rng.choice(("Pending", "Approved"))} for ref in self._people(rng, 2)
                ],
            }
        if path == "risks":
            return {
                "risk_vector_score_values": [
                    {"risk_vector": {"id": v, "title": t}, "value": rng.randint(1, 5)}
                    for v, t in ((1, "Likelihood"), (2, "Impact"))
                ]
            }
        if path == "vendors":
            return {
                "url": "https://vendor.example",
                "reference_url": None,
                "risk_rating": rng.choice(("Low", "Medium", "High")),
                "start_date": begin,
                "end_date": rng.choice((None, end)),
                "secondary_contact": rng.choice((None, self._person_ref(rng))),
            }
        return {}

    # -- HTTP ------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """``/api/v2/<collection>`` lists and ``/api/v2/<collection>/<id>`` details."""
        return [
            web.get("/api/v2/{collection}", self._list),
            web.get("/api/v2/{collection}/{record_id}", self._detail),
        ]

    def _authorized(self, request: web.Request) -> bool:
        return basic_credentials(request) == (self.username, self.password)

    @staticmethod
    def _unauthorized() -> web.Response:
        return json_response({"message": "Unauthorized"}, 401, {"WWW-Authenticate": 'Basic realm="ZenGRC"'})

    async def _list(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        path = request.match_info["collection"]
        if path in self.forbidden:
            return json_response({"message": "Forbidden"}, 403)
        collection = self.collections.get(path)
        if collection is None:
            return json_response({"message": "Not Found"}, 404)
        try:
            page = int(request.query.get("page", "1"))
            size = min(int(request.query.get("page_size", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
        except ValueError:
            return json_response({"message": "page and page_size must be integers"}, 400)
        if page < 1 or size < 1:
            return json_response({"message": "page and page_size must be positive"}, 400)
        with collection.lock:
            keys = islice(collection.keys_from((page - 1) * size), size)
            rows = b",".join(collection.encoded(k) for k in keys)
            more = page * size < len(collection)
        next_link = orjson.dumps({"href": f"/api/v2/{path}?page={page + 1}&page_size={size}"}) if more else b"null"
        body = b'{"data":[' + rows + b'],"links":{"next":' + next_link + b"}}"
        return web.Response(body=body, content_type="application/json")

    async def _detail(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        collection = self.collections.get(request.match_info["collection"])
        record_id = request.match_info["record_id"]
        record = collection.get(int(record_id)) if collection is not None and record_id.isdigit() else None
        if record is None:
            return json_response({"message": "Not Found"}, 404)
        return json_response(record)


def utc(value: str) -> datetime:
    """Parse an emulator timestamp into an aware UTC datetime (tests compare warehouse values with it)."""
    return datetime.fromisoformat(value).astimezone(UTC)
