"""The service's HTTP side (aiohttp.web): routes, the guard in front of them, and ``Service`` that serves them.

One middleware guards every route: the bearer token (all but ``/healthz``) and errors. Whatever a
handler or aiohttp refuses (``ApiError``, an unknown route, a wrong method, a body over
``MAX_BODY``) leaves as ``{"error": "<one line>"}`` with its 4xx status.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import functools
import hmac
import logging
import unicodedata
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from .._exceptions import DumpError
from .._settings import Settings, load_settings
from ..dumps._exhaustion import WhenEmpty
from ..dumps._strategies import strategy_spec
from ..serving import BoundedListener, ConnectionLimits, OneLineLog, StartStop, read_body
from ._dumps import Dump, Dumps
from ._errors import ApiError
from ._handouts import FSYNC_INTERVAL, STRATEGIES, Quarantined
from ._metrics import CONTENT_TYPE, Metrics
from ._openapi import openapi, query_parameters
from ._page import ASSETS, PAGES, TOKEN_REQUIRED, asset, page
from ._pool import (
    MAX_TTL,
    MAX_WAIT,
    MIN_TTL,
    POLL,
    Lease,
    PoolKey,
    Pools,
    Profile,
    iso,
    lease_id,
    parse_lease_id,
    seconds,
)
from ._runs import LIVE, Runs
from ._store import EMBEDDED, open_handouts, open_store

__all__ = ["MAX_BODY", "Service"]

log = logging.getLogger("seeding.service")
REQUEST_LOG = OneLineLog(logging.getLogger("seeding.service.http"), "service")

MAX_BODY = 1 << 20  # bytes: a plan is a few hundred; this bounds what a request can make us parse
EVENTS_INTERVAL = 0.5  # seconds between progress events of a running run
STOP = WhenEmpty()
_OPEN = frozenset({"/healthz", *PAGES, *(f"/ui/{name}" for name in ASSETS)})
_ACCESS_FORMAT = '%a "%r" %s %b %Tfs'  # who, the request line, status, bytes, seconds
_JSON = "application/json"
# A quarantine reason is shown on the page, in logs and in exports: none of these (Cc control, Cf format such as
# U+202E, which turns what follows around, Cs surrogates, Co private use, Cn unassigned); whitespace becomes spaces.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=_JSON, headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return _json({"error": " ".join(message.split())}, status, headers)


def _guard(token: str | None) -> Any:
    expected = f"Bearer {token}".encode() if token else None

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if expected is not None and request.path not in _OPEN:
            # aiohttp decodes header bytes that are not UTF-8 with surrogates: compare the bytes as sent
            given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, expected):
                what = "wrong bearer token" if given else "missing Authorization: Bearer <token>"
                return _error(401, f"{request.method} {request.path}: {what}", {"WWW-Authenticate": "Bearer"})
        length = request.content_length
        if length is not None and length > MAX_BODY:  # answered now, not after reading 10 GB that may never come
            response = _error(413, f"{request.method} {request.path[:200]}: the body is larger than {MAX_BODY} bytes")
            response.force_close()
            return response
        try:
            if request.query and request.path.startswith("/v1/"):
                _check_query(request)
            answer: web.StreamResponse = await handler(request)
            return answer
        except _RangeError as exc:
            return _error(exc.status, exc.message, {"Content-Range": f"bytes */{exc.size}"})
        except ApiError as exc:
            return _error(exc.status, exc.message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _error(
                exc.status,
                _http_error(request, exc),
                {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None,
            )

    return guard


def _check_query(request: web.Request) -> None:
    """A query parameter the route does not read (``?stratgy=random``) would be ignored, and the default served
    instead: 400 naming it. One given twice (``?ttl=5&ttl=60``) likewise: which one would count is a guess."""
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else None
    taken = query_parameters().get((request.method, path or ""))
    if taken is None:  # no such route (404 follows) or a method it does not take (405 follows)
        return
    where = f"{request.method} {request.path[:200]}"
    for name in request.query:
        shown = repr(name[:40])
        if name not in taken:
            close = difflib.get_close_matches(name, sorted(taken), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            takes = f"it takes {', '.join(sorted(taken))}" if taken else "it takes none"
            raise ApiError(400, f"{where}: unknown query parameter {shown}{hint}; {takes}")
        if len(request.query.getall(name)) > 1:
            raise ApiError(400, f"{where}: the query parameter {shown} is given more than once")


def _http_error(request: web.Request, exc: web.HTTPException) -> str:
    where = f"{request.method} {request.path[:200]}"
    if isinstance(exc, web.HTTPNotFound):
        return f"{where}: no such route (see /openapi.json)"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return f"{where}: method not allowed (allowed: {', '.join(sorted(exc.allowed_methods))})"
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return f"{where}: the body is larger than {MAX_BODY} bytes"
    return f"{where}: {exc.reason}"


async def _body(request: web.Request, limits: ConnectionLimits) -> object:
    raw = await read_body(request, limits)
    if not raw.strip():
        raise ApiError(400, f"{request.method} {request.path}: the body is empty; expected a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"{request.method} {request.path}: the body is not JSON: {exc.msg}") from None


def _check_range(request: web.Request, path: Path) -> None:
    """A ``Range`` aiohttp's file response would refuse in plain text, refused as JSON (416) first."""
    header = request.headers.get("Range")
    if header is None:
        return
    try:
        wanted = request.http_range
        size = path.stat().st_size
    except ValueError:
        wanted, size = None, 0
    except OSError as exc:
        raise ApiError(409, f"{path}: cannot read the dump: {exc.strerror}") from None
    start = wanted.start if wanted is not None else None
    if wanted is None or (start is not None and (start >= size if start >= 0 else size == 0)):
        raise _RangeError(header, size)


class _RangeError(ApiError):
    def __init__(self, header: str, size: int) -> None:
        super().__init__(416, f"Range {header[:80]!r} is not a byte range within the dump's {size} bytes")
        self.size = size


class Service(StartStop):
    """``async with Service(dumps_dir=…, plans_dir=…) as service:`` serves at ``service.url``.

    ``port=0`` picks a free port. The gateway of a run comes from its request, else from
    ``settings`` (the environment and ``.env`` by default).
    """

    def __init__(
        self,
        *,
        dumps_dir: str | Path = "dumps",
        plans_dir: str | Path = "plans",
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        settings: Settings | None = None,
        access_log: bool = False,
        store: str = EMBEDDED,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.host = host
        self.access_log = access_log
        self.limits = limits or ConnectionLimits()
        self.dumps_dir = Path(dumps_dir)
        self.plans_dir = Path(plans_dir)
        self._port = port
        self.token = token
        self.settings = settings or load_settings()
        self.dumps = Dumps(self.dumps_dir)
        pool_store = open_store(store, self.dumps_dir)
        self.pools = Pools(pool_store)
        self.handouts = open_handouts(store, pool_store)
        self._profiles: dict[tuple[str, str, str], Profile] = {}
        self._warned: set[str] = set()  # scenarios whose when_empty=warn was logged (once each)
        self.runs = Runs(self.dumps_dir, self.plans_dir, self.settings)
        self.metrics = Metrics(self.runs.by_state, self.handouts.left_all)
        self.runs.metrics = self.metrics
        self.pools.on_take = self.metrics.pool_taken
        self.pools.on_return = self.metrics.pool_ended
        self._runner: web.AppRunner | None = None
        self._listener: BoundedListener | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("service not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Read the run records, then listen; raises ``OSError`` when the port cannot be bound."""
        self.runs.load()
        access = logging.getLogger("aiohttp.access") if self.access_log else None
        access_args: dict[str, Any] = {"access_log": access, "access_log_format": _ACCESS_FORMAT}
        self._runner = web.AppRunner(
            self.app(), logger=REQUEST_LOG, shutdown_timeout=1.0, **access_args, **self.limits.handler_args()
        )
        await self._runner.setup()
        self._listener = BoundedListener(self._runner, self.limits, logger=REQUEST_LOG, handler_args=access_args)
        try:
            await self._listener.start(self.host, self._port, backlog=2048)
        except BaseException:
            await self._runner.cleanup()
            self._runner = self._listener = None
            raise
        self.port = self._listener.port
        self._flusher = asyncio.create_task(self._flush())
        log.info(
            "listening on %s: dumps in %s, plans in %s, %s",
            self.url,
            self.dumps_dir,
            self.plans_dir,
            "a bearer token required" if self.token else "no token",
        )

    async def stop(self) -> None:
        """Live runs become ``interrupted`` (resumable); hand-outs are flushed to disk."""
        live = self.runs.live_count()
        await self.runs.close()
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        self.handouts.close()
        await self.pools.close()
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("stopped%s", f": {live} live run(s) interrupted, resumable" if live else "")
        self.port = None

    async def _flush(self) -> None:
        while True:
            await asyncio.sleep(FSYNC_INTERVAL)
            self.handouts.sync()
            self.pools.sync()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_guard(self.token)], client_max_size=MAX_BODY)
        app[TOKEN_REQUIRED] = self.token is not None
        # The hand-out first: aiohttp tries resources in the order they were added.
        app.router.add_post("/v1/dumps/{scenario}/next", self.next_user)
        app.router.add_post("/v1/dumps/{scenario}/leases", self.lease)
        app.router.add_post("/v1/leases/{id}/renew", self.renew)
        app.router.add_delete("/v1/leases/{id}", self.give_back)
        app.router.add_post("/v1/leases/{id}/quarantine", self.quarantine)
        app.router.add_get("/healthz", self.healthz)
        for path in PAGES:
            app.router.add_get(path, page)
        app.router.add_get("/ui/{name}", asset)
        app.router.add_get("/v1/plans", self.list_plans)
        app.router.add_get("/metrics", self.metrics_text)
        app.router.add_get("/openapi.json", self.openapi)
        app.router.add_post("/v1/runs", self.start_run)
        app.router.add_get("/v1/runs", self.list_runs)
        app.router.add_get("/v1/runs/{id}", self.get_run)
        app.router.add_delete("/v1/runs/{id}", self.cancel_run)
        app.router.add_get("/v1/runs/{id}/events", self.run_events)
        app.router.add_post("/v1/runs/{id}/resume", self.resume_run)
        app.router.add_get("/v1/dumps", self.list_dumps)
        app.router.add_get("/v1/dumps/{scenario}", self.get_dump)
        app.router.add_get("/v1/dumps/{scenario}/file", self.dump_file)
        app.router.add_get("/v1/dumps/{scenario}/users/{index}", self.dump_user)
        app.router.add_post("/v1/dumps/{scenario}/reset", self.reset)
        app.router.add_post("/v1/dumps/{scenario}/repair", self.repair_dump)
        app.router.add_get("/v1/dumps/{scenario}/pool", self.pool)
        app.router.add_get("/v1/dumps/{scenario}/quarantine", self.list_quarantine)
        app.router.add_delete("/v1/dumps/{scenario}/quarantine/{index}", self.release)
        return app

    # --- service ---------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def metrics_text(self, request: web.Request) -> web.Response:
        states = []
        for key in self.pools.known():
            with contextlib.suppress(ApiError):  # a store that is away: its gauges are left out, once
                states.append(await self.pools.state(key, await self.handouts.handed_out(key)))
        self.metrics.pool_states = states
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def openapi(self, request: web.Request) -> web.Response:
        return _json(openapi())

    # --- runs ------------------------------------------------------------------------------

    async def list_plans(self, request: web.Request) -> web.Response:
        return _json({"plans": self.runs.plans()})

    async def start_run(self, request: web.Request) -> web.Response:
        record = await self.runs.start(await _body(request, self.limits))
        return _json({"run": record.public()}, 202, {"Location": f"/v1/runs/{record.id}"})

    async def repair_dump(self, request: web.Request) -> web.Response:
        """A repair run: the body (or the query) may give ``sample``; nothing at all checks every user."""
        raw = await read_body(request, self.limits)
        body: object = {}
        if raw.strip():
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise ApiError(400, f"POST {request.path}: the body is not JSON: {exc.msg}") from None
        if "sample" in request.query and isinstance(body, dict):
            text = request.query["sample"]
            if not text.isdigit():
                raise ApiError(422, f"sample: {text[:40]!r} is not a whole number >= 0")
            body = {**body, "sample": int(text)}
        record = await self.runs.repair(request.match_info["scenario"], body)
        return _json({"run": record.public()}, 202, {"Location": f"/v1/runs/{record.id}"})

    async def list_runs(self, request: web.Request) -> web.Response:
        return _json({"runs": [self.runs.progress(record.id) for record in self.runs.all()]})

    async def get_run(self, request: web.Request) -> web.Response:
        return _json({"run": self.runs.progress(request.match_info["id"])})

    async def cancel_run(self, request: web.Request) -> web.Response:
        record = self.runs.cancel(request.match_info["id"])
        await self.runs.wait_finished(record.id, 5.0)
        return _json({"run": record.public()})

    async def resume_run(self, request: web.Request) -> web.Response:
        record = await self.runs.resume(request.match_info["id"])
        return _json({"run": record.public()}, 202, {"Location": f"/v1/runs/{record.id}"})

    async def run_events(self, request: web.Request) -> web.StreamResponse:
        """``event: progress`` whenever the record changes (at most every ``EVENTS_INTERVAL``), then ``event: end``."""
        run_id = request.match_info["id"]
        self.runs.get(run_id)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        last = b""
        with contextlib.suppress(ConnectionResetError):
            while True:
                view = self.runs.progress(run_id)
                data = orjson.dumps(view)
                if data != last:
                    await response.write(b"event: progress\ndata: " + data + b"\n\n")
                    last = data
                if view["state"] not in LIVE:
                    await response.write(b"event: end\ndata: " + data + b"\n\n")
                    break
                await self.runs.wait_finished(run_id, EVENTS_INTERVAL)
            await response.write_eof()
        return response

    # --- dumps -----------------------------------------------------------------------------

    async def list_dumps(self, request: web.Request) -> web.Response:
        listed = []
        for scenario in self.dumps.scenarios():
            try:
                listed.append(self.dumps.get(scenario).summary())
            except ApiError as exc:
                listed.append({"scenario": scenario, "error": exc.message})
        return _json({"dumps": listed})

    async def get_dump(self, request: web.Request) -> web.Response:
        dump = self.dumps.get(request.match_info["scenario"])
        left = await self.handouts.left(dump, functools.partial(self.pools.quarantined, _key(dump)))
        return _json({"dump": {**dump.summary(), "left": left, "meta": dump.meta}})

    async def dump_file(self, request: web.Request) -> web.StreamResponse:
        dump = self.dumps.get(request.match_info["scenario"])
        etag = f'"{dump.fingerprint}"'
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers={"ETag": etag})
        _check_range(request, dump.path)
        return web.FileResponse(dump.path, headers={"ETag": etag, "Content-Type": _JSON})

    async def dump_user(self, request: web.Request) -> web.Response:
        dump = self.dumps.get(request.match_info["scenario"])
        return self._user(dump, _index(dump, request.match_info["index"]))

    async def next_user(self, request: web.Request) -> web.Response:
        """The hot path: choosing the user and recording it is one step (the embedded book never waits in it,
        Redis runs it as one script)."""
        dump = self.dumps.get(request.match_info["scenario"])
        strategy = request.query.get("strategy", "unique")
        if strategy not in STRATEGIES:
            if strategy.partition(":")[0] not in STRATEGIES:
                known = f"{', '.join(STRATEGIES)} (zipf:S sets the exponent)"
                raise ApiError(400, f"strategy {strategy[:40]!r} is not one of {known}")
            try:
                strategy = strategy_spec(strategy).name
            except ValueError as exc:
                raise ApiError(400, str(exc)) from None
        if strategy_spec(strategy).leased:
            raise ApiError(
                400, f"strategy {strategy!r} holds a user until it is given back: POST {request.path[:-4]}leases"
            )
        when = _when_empty(request.query.get("when_empty"))
        profile = request.query.get("profile")
        members = await dump.members(profile) if profile is not None else None
        quarantined = functools.partial(self.pools.quarantined, _key(dump))
        index = await self.handouts.take(dump, strategy, profile, members, quarantined)  # each user once, atomically
        if index is None and (dump.count == 0 or members == []):
            which = f"profile {profile!r} of the dump" if members is not None else "the dump"
            raise ApiError(409, f"scenario {dump.scenario!r}: {which} holds no users; there is none to hand out")
        headers = None
        if index is None and when.action != "stop":
            index, headers = await self._when_empty(when, dump, strategy, profile, members, quarantined)
        if index is None:
            blocked = await self.pools.quarantined(_key(dump))
            which = f"{len(members)} users of profile {profile!r}" if members is not None else f"{dump.count} users"
            out = f" or are quarantined ({len(blocked)} of the dump's users are)" if blocked else ""
            waited = f" (waited {when.seconds:g} s)" if when.action == "wait" else ""
            raise ApiError(
                409,
                f"scenario {dump.scenario!r}: all {which} were handed out under unique/shuffle{out}{waited}; "
                f"POST /v1/dumps/{dump.scenario}/reset starts over, ?when_empty=cycle|warn|wait:SECONDS decides",
            )
        self.metrics.handed_out(dump.scenario, strategy)
        return self._user(dump, index, headers)

    async def _when_empty(
        self,
        when: WhenEmpty,
        dump: Any,
        strategy: str,
        profile: str | None,
        members: list[int] | None,
        quarantined: Quarantined,
    ) -> tuple[int | None, dict[str, str] | None]:
        """No user left under ``strategy``: wait for one, start over, or hand out one already out (with a warning)."""
        if when.action == "wait":
            deadline = asyncio.get_running_loop().time() + when.seconds
            while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
                await asyncio.sleep(min(remaining, POLL))
                index = await self.handouts.take(dump, strategy, profile, members, quarantined)
                if index is not None:
                    return index, None
            return None, None
        if when.action == "cycle":
            log.info("scenario %r: every user was handed out; when_empty=cycle starts over", dump.scenario)
            await self.handouts.start_over(dump)
            return await self.handouts.take(dump, strategy, profile, members, quarantined), None
        index = await self.handouts.take(dump, "cycle", profile, members, quarantined)
        if index is None:
            return None, None
        message = f"scenario {dump.scenario!r}: every user was handed out; handing out users again (when_empty=warn)"
        if dump.scenario not in self._warned:
            self._warned.add(dump.scenario)
            log.warning("%s", message)
        return index, {"X-Seeding-Warning": message}

    async def reset(self, request: web.Request) -> web.Response:
        dump = self.dumps.get(request.match_info["scenario"])
        left = await self.handouts.reset(dump, functools.partial(self.pools.quarantined, _key(dump)))
        return _json({"scenario": dump.scenario, "users": dump.count, "left": left})

    def _user(self, dump: Any, index: int, headers: dict[str, str] | None = None) -> web.Response:
        try:
            raw = dump.raw(index)
        except DumpError as exc:  # a user damaged in the middle of the file
            raise ApiError(409, str(exc)) from None
        return web.Response(
            body=b'{"index":%d,"user":%b}' % (index, raw), headers={"Content-Type": _JSON, **(headers or {})}
        )

    # --- pools -----------------------------------------------------------------------------

    async def lease(self, request: web.Request) -> web.Response:
        dump = self.dumps.get(request.match_info["scenario"])
        query = request.query
        ttl = seconds(query.get("ttl"), "ttl", upper=MAX_TTL, allow_zero=False, lower=MIN_TTL)
        wait = seconds(query.get("wait"), "wait", upper=MAX_WAIT, allow_zero=True, default=0.0)
        when = _when_empty(query.get("when_empty"))
        if not when.exclusive_only:
            raise ApiError(
                400,
                f"when_empty={when}: a lease is exclusive, so it takes stop or wait:SECONDS only "
                "(cycle and warn would give one user two holders)",
            )
        wait = max(wait, when.seconds)
        name = query.get("profile")
        profile = None if name is None else await self._profile(dump, name)
        key = _key(dump)
        held = await self.pools.lease(key, ttl, wait, profile)
        try:
            raw = dump.raw(held.index)
        except DumpError as exc:  # a user damaged in the middle of the file: give it back, say why
            await self.pools.give_back(key, held.token)
            raise ApiError(409, str(exc)) from None
        ident = lease_id(dump.scenario, held.token)
        body = b'{"lease":"%s","index":%d,"expires_at":"%s","user":%b}' % (
            ident.encode(),
            held.index,
            iso(held.expires).encode(),
            raw,
        )
        return web.Response(body=body, status=201, headers={"Content-Type": _JSON, "Location": f"/v1/leases/{ident}"})

    async def _profile(self, dump: Any, name: str) -> Profile:
        """The members of profile ``name`` (404 naming the dump's profiles when it has no such one), kept per dump."""
        cache_key = (dump.scenario, dump.fingerprint, name)
        profile = self._profiles.get(cache_key)
        if profile is None:
            profile = Profile(name, frozenset(await dump.members(name)))
            if len(self._profiles) > 1000:
                self._profiles.clear()
            self._profiles[cache_key] = profile
        return profile

    def _lease_key(self, request: web.Request) -> tuple[PoolKey, str]:
        text = request.match_info["id"]
        token, scenario = parse_lease_id(text)
        try:
            dump = self.dumps.get(scenario)
        except ApiError as exc:
            raise ApiError(404, f"no lease {text[:80]!r}: {exc.message}") from None
        return _key(dump), token

    async def renew(self, request: web.Request) -> web.Response:
        key, token = self._lease_key(request)
        ttl = seconds(request.query.get("ttl"), "ttl", upper=MAX_TTL, allow_zero=False, lower=MIN_TTL)
        held = await self.pools.renew(key, token, ttl)
        return _json(_lease_view(key, held))

    async def give_back(self, request: web.Request) -> web.Response:
        key, token = self._lease_key(request)
        held, now = await self.pools.give_back(key, token)
        return _json({**_lease_view(key, held), "returned_at": iso(now), "held_s": (now - held.granted) / 1000})

    async def quarantine(self, request: web.Request) -> web.Response:
        key, token = self._lease_key(request)
        body = await _body(request, self.limits)
        fields = body if isinstance(body, dict) else {}
        reason = fields.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500 or fields.keys() != {"reason"}:
            raise ApiError(400, f'{request.method} {request.path}: expected {{"reason": "…"}}, 1 to 500 characters')
        if any(unicodedata.category(c) in _HIDDEN for c in reason if not c.isspace()):  # NUL, ESC, U+202E…
            raise ApiError(400, f"{request.method} {request.path}: the reason holds control or format characters")
        held, entry = await self.pools.quarantine(key, token, " ".join(reason.split()))
        return _json({**_lease_view(key, held), "reason": entry.reason, "quarantined_at": iso(entry.at)})

    async def list_quarantine(self, request: web.Request) -> web.Response:
        dump = self.dumps.get(request.match_info["scenario"])
        found = await self.pools.quarantined(_key(dump))
        listed = [{"index": i, "reason": e.reason, "at": iso(e.at)} for i, e in sorted(found.items())]
        return _json({"scenario": dump.scenario, "quarantined": listed})

    async def release(self, request: web.Request) -> web.Response:
        dump = self.dumps.get(request.match_info["scenario"])
        index = _index(dump, request.match_info["index"])
        entry = await self.pools.release(_key(dump), index)
        return _json({"scenario": dump.scenario, "index": index, "reason": entry.reason, "released": True})

    async def pool(self, request: web.Request) -> web.Response:
        dump = self.dumps.get(request.match_info["scenario"])
        key = _key(dump)
        return _json({"pool": await self.pools.state(key, await self.handouts.handed_out(key))})


def _when_empty(text: str | None) -> WhenEmpty:
    if text is None:
        return STOP
    try:
        return WhenEmpty.parse(text, max_wait=MAX_WAIT)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def _key(dump: Dump) -> PoolKey:
    return dump.pool_key


def _index(dump: Any, text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:  # '²'.isdigit() is true
        raise ApiError(400, f"user index {text[:40]!r} is not a whole number")
    index = int(text)
    if index >= dump.count:
        raise ApiError(404, f"scenario {dump.scenario!r}: no user #{index} (the dump holds {dump.count})")
    return index


def _lease_view(key: PoolKey, held: Lease) -> dict[str, Any]:
    return {"lease": lease_id(key.scenario, held.token), "index": held.index, "expires_at": iso(held.expires)}
