"""The HTTP side shared by every REST/XML emulator: fault middleware, request log, admin API, runner.

aiohttp was chosen because one process serves a few thousand pages a second on one core (the
benchmarks need the emulator far faster than any tap) and it gives the low-level control that
dropped connections and truncated bodies need.

Admin API (never faulted, never logged), for tests and the demo when the emulator runs in another
process: ``GET /_emulator/health``, ``GET /_emulator/truth[?collection=]`` (every record: small volumes),
``GET /_emulator/summary[?collection=]`` (ground truth at any volume, see below),
``POST /_emulator/advance`` ``{"updates", "creates", "deletes", "seconds"}``,
``GET|PUT /_emulator/faults``, ``GET|DELETE /_emulator/requests``.

``/_emulator/summary`` answers, per collection, without building a record list (records are generated
from the seed on demand, so memory stays flat at 10M records)::

    {"issues": {"count": 1000000, "min_key": 1, "max_key": 1000003,
                "key_checksum": "<sha256 hex>", "max_updated": "2025-01-02T00:00:00+00:00"}}

``key_checksum`` is the SHA-256 of the live keys in ascending order, each followed by a newline (decimal
text for integer keys): a benchmark recomputes it from ``SELECT id FROM t ORDER BY id`` on what landed.
``max_updated`` is the newest change time (UTC ISO-8601) of the collection's change field, when it has one.
Collections a source treats as soft-deleted count their tombstones, as the API still lists them.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import random
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import orjson
from aiohttp import web

from emulators.core.clock import SimClock
from emulators.core.collection import Collection, Mutation, Record
from emulators.core.faults import FaultPlan, FaultRule

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ADMIN_PREFIX = "/_emulator/"
INVALID_UTF8 = b"\xff\xfe\xfa"


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON response encoded with orjson (the stdlib encoder would dominate benchmark profiles)."""
    return web.Response(body=orjson.dumps(payload), status=status, headers=headers, content_type="application/json")


def basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """The (user, password) of an HTTP Basic header, or None when absent or malformed."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, sep, password = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class HttpEmulator(abc.ABC):
    """Base of every HTTP emulator: seeded data in named collections, a clock, faults and a log.

    Subclasses fill :attr:`collections` in ``__init__`` and return their vendor routes from
    :meth:`routes`. Everything random derives from ``seed`` so that tests can rebuild the same truth.
    """

    name: ClassVar[str]

    def __init__(self, seed: int = 1, volume: int = 100, faults: Any = None, **options: Any) -> None:
        self.seed = seed
        self.volume = volume
        self.options = options
        self.clock = SimClock()
        self.faults = FaultPlan.from_config(faults)
        self.requests: deque[dict[str, Any]] = deque(maxlen=200_000)
        self.collections: dict[str, Collection] = {}
        #: The field holding each record's change time (``summary``'s ``max_updated``); default ``updated_at``.
        self.updated_fields: dict[str, str | None] = {}
        self.mutation_count = 0

    def rng(self, purpose: str) -> random.Random:
        """A random stream that depends only on the seed and what it is for."""
        return random.Random(f"{self.name}:{self.seed}:{purpose}")

    @abc.abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The vendor API's routes."""

    def truth(self, collection: str | None = None) -> dict[str, list[Record]]:
        """What the source holds now, per collection: what a full extraction must land (small volumes)."""
        names = [collection] if collection else list(self.collections)
        return {n: self.collections[n].records() for n in names}

    def summary(self, collection: str | None = None) -> dict[str, dict[str, Any]]:
        """Ground truth at any volume: count, key range, sorted-key checksum, newest change, per collection."""
        names = [collection] if collection else list(self.collections)
        return {n: self.collections[n].summary(self.updated_fields.get(n, "updated_at")) for n in names}

    def advance(self, updates: int = 5, creates: int = 5, deletes: int = 2, seconds: float = 86_400) -> Mutation:
        """Move the clock and change each collection: the "next day" for incremental tests."""
        self.clock.advance(seconds)
        rng = self.rng(f"advance:{self.mutation_count}")
        self.mutation_count += 1
        change = Mutation()
        for name, collection in self.collections.items():
            change.merge(collection.mutate(rng, updates, creates, deletes, when=self.clock.now), name)
        return change

    # -- HTTP plumbing -------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application: admin API, fault/log middleware, vendor routes."""
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.add_routes(self._admin_routes())
        app.add_routes(self.routes())
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        body = await request.read() if request.can_read_body else b""
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string,
                # str(): aiohttp's header names are istr, which orjson refuses as keys in /_emulator/requests
                "headers": {str(k): v for k, v in request.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
        )
        rule = self.faults.pick(request.method, request.path, request.query_string)
        if rule is None:
            return await handler(request)
        return await self._apply_fault(rule, request, handler)

    async def _apply_fault(self, rule: FaultRule, request: web.Request, handler: Handler) -> web.StreamResponse:
        if rule.kind == "status":
            headers = {} if rule.retry_after is None else {"Retry-After": f"{rule.retry_after:g}"}
            payload = {"error": rule.body or f"injected fault: HTTP {rule.status}"}
            return json_response(payload, status=rule.status, headers=headers)
        if rule.kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=599)  # never sent: the connection is already gone
        if rule.kind == "slow":
            await asyncio.sleep(rule.delay)
            return await handler(request)
        response = await handler(request)
        if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
            return response
        full = response.body
        if rule.kind == "invalid_utf8":
            marker = b'"' + rule.text_field.encode() + b'":"'
            at = full.find(marker)
            if at >= 0:
                cut = at + len(marker)
                response.body = full[:cut] + INVALID_UTF8 + full[cut:]
            return response
        keep = full[: int(len(full) * rule.keep)]
        if rule.truncate_mode == "body":
            response.body = keep
            return response
        # "connection": promise the whole body, send part of it, hang up.
        partial = web.StreamResponse(status=response.status, headers=response.headers)
        partial.content_length = len(full)
        await partial.prepare(request)
        await partial.write(keep)
        if request.transport is not None:
            request.transport.abort()
        return partial

    def _admin_routes(self) -> list[web.RouteDef]:
        async def health(_: web.Request) -> web.Response:
            return json_response(
                {
                    "name": self.name,
                    "seed": self.seed,
                    "volume": self.volume,
                    "now": self.clock.now.isoformat(),
                }
            )

        async def truth(request: web.Request) -> web.Response:
            return json_response(self.truth(request.query.get("collection")))

        async def summary(request: web.Request) -> web.Response:
            name = request.query.get("collection")
            if name is not None and name not in self.collections:
                return json_response({"error": f"unknown collection {name!r}"}, status=404)
            # a full scan of 10M keys takes seconds: off the event loop, so the server keeps answering
            return json_response(await asyncio.to_thread(self.summary, name))

        async def advance(request: web.Request) -> web.Response:
            params = await request.json() if request.can_read_body else {}
            return json_response(self.advance(**params).as_dict())

        async def get_faults(_: web.Request) -> web.Response:
            return json_response(self.faults.as_list())

        async def put_faults(request: web.Request) -> web.Response:
            self.faults.replace(FaultPlan.from_config(await request.json()).rules)
            return json_response(self.faults.as_list())

        async def get_requests(_: web.Request) -> web.Response:
            return json_response(list(self.requests))

        async def clear_requests(_: web.Request) -> web.Response:
            self.requests.clear()
            return json_response({"cleared": True})

        p = ADMIN_PREFIX
        return [
            web.get(p + "health", health),
            web.get(p + "truth", truth),
            web.get(p + "summary", summary),
            web.post(p + "advance", advance),
            web.get(p + "faults", get_faults),
            web.put(p + "faults", put_faults),
            web.get(p + "requests", get_requests),
            web.delete(p + "requests", clear_requests),
        ]


class EmulatorServer:
    """Runs an emulator's app on its own event-loop thread: the pytest fixture and in-process use."""

    def __init__(self, emulator: HttpEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"emulator-{emulator.name}", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Origin of the running server, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        """Bind (port 0 = a free port) and serve in the background."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.emulator.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # the port the OS picked when asked for 0

    def stop(self) -> None:
        """Shut the server down and join its thread."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
