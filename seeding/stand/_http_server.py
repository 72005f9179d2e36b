"""The stand's HTTP side: the gateway's FastAPI routes and JSON shapes, served by aiohttp.web.

Routes come from the endpoint table (``seeding.contract``): one handler per kind of
thing (open an account, issue a card, make an operation, get a document) bound to each type.
Responses mimic FastAPI: camelCase JSON, ``{"detail": "..."}`` errors, the 422 validation body
with ``loc`` like ``["body", "email"]`` or ``["path", "user_id"]``, and the real gateway's
plain-text 500 quirks (see the contract's error table).
"""

from __future__ import annotations

import json
import logging
import math
import operator
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

import orjson
from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from seeding.contract import ENDPOINTS, AccountType, CardType, OperationStatus, OperationType

from ..serving import OneLineLog
from ._bank import (
    AccountRow,
    Bank,
    CardRow,
    DocumentKind,
    DocumentRow,
    OperationRow,
    SummaryRow,
    UserRow,
    email_problem,
)
from ._dispatch import MAX_REQUEST_BYTES, handlers_by_rpc
from ._errors import (
    NotFoundError,
    PushbackError,
    StandError,
    StandStartError,
    answer_for,
)
from ._faults import Faults
from ._listening import STOP_GRACE_S, bind_failure
from ._shapes import Converter, Shape

__all__ = ["REQUEST_LOG", "HttpServer", "build_app"]

_BACKLOG = 2048  # hundreds of clients connecting at once must not overflow the accept queue

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[Payload]]
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


REQUEST_LOG = OneLineLog(logging.getLogger("seeding.stand.http"), "stand")


class _Unprocessable(Exception):
    """A request FastAPI would refuse with 422; carries the ``detail`` list."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors


class _GatewayBug(Exception):
    """Where the real gateway crashes with a plain-text 500, the stand does too (contract quirks)."""


# ---------------------------------------------------------------- request parsing (FastAPI-like)


_MAX_EMAIL_LENGTH = 2048  # pydantic's EmailStr checks this first, before any parsing


def _email(value: str) -> str:
    if len(value) > _MAX_EMAIL_LENGTH:
        reason: str | None = f"Length must not exceed {_MAX_EMAIL_LENGTH} characters"
    else:
        reason = email_problem(value)
    if reason:
        raise PydanticCustomError("value_error", "value is not a valid email address: {reason}", {"reason": reason})
    return value


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, frozen=True)


class _CreateUserBody(_Body):
    email: Annotated[str, AfterValidator(_email)]
    last_name: str
    first_name: str
    middle_name: str
    phone_number: str


class _OpenAccountBody(_Body):
    user_id: uuid.UUID


class _IssueCardBody(_Body):
    user_id: uuid.UUID
    account_id: uuid.UUID


class _OperationBody(_Body):
    status: OperationStatus  # UNSPECIFIED too: the gateway stores it as sent
    amount: float
    card_id: uuid.UUID
    account_id: uuid.UUID


class _PurchaseBody(_OperationBody):
    category: str


_UUID = TypeAdapter(uuid.UUID)


def _located(exc: ValidationError, *prefix: str | int) -> list[dict[str, Any]]:
    return [{**err, "loc": [*prefix, *err["loc"]]} for err in exc.errors(include_url=False)]


def _uuid_param(request: web.Request, source: Literal["path", "query"], name: str) -> str:
    """A UUID path or query parameter as canonical text, or a 422 located like FastAPI's."""
    raw = request.match_info.get(name) if source == "path" else request.query.get(name)
    if raw is None:
        raise _Unprocessable([{"type": "missing", "loc": [source, name], "msg": "Field required", "input": None}])
    try:
        return str(_UUID.validate_python(raw))
    except ValidationError as exc:
        raise _Unprocessable(_located(exc, source, name)) from None


def _v4_query(request: web.Request, name: str) -> str:
    """A query UUID the services behind the real gateway take: version 4, else their bare 500 (contract: odd inputs).

    The gateway itself accepts any UUID; the service behind it validates a version-4 UUID outside its
    request validation, so the nil UUID or a version-1 UUID crash it (500, plain text).
    """
    value = _uuid_param(request, "query", name)
    if uuid.UUID(value).version != 4:
        raise _GatewayBug(f"{name} {value} is not a version-4 UUID")
    return value


async def _body(request: web.Request, model: type[M]) -> M:
    """The JSON body validated against ``model``, or a 422 like FastAPI's."""
    raw = await request.read()
    if not raw:
        raise _Unprocessable([{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        data = _json_as_fastapi_reads_it(raw)
        if data is not _NOT_JSON:
            return _validated(model, data)
        raise _Unprocessable(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", exc.pos],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        ) from None
    return _validated(model, data)


def _validated(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _Unprocessable(_located(exc, "body")) from None


_NOT_JSON = object()


def _json_as_fastapi_reads_it(raw: bytes) -> Any:
    """What the standard ``json`` module (FastAPI's parser) makes of a body orjson refused.

    It also takes ``NaN``, ``Infinity`` and ``1e999`` (the gateway then fails on the amount, a
    500, not a 422). Anything orjson could not answer with (a lone surrogate) stays refused.
    """
    try:
        data = json.loads(raw)
        orjson.dumps(data)
    except (ValueError, RecursionError, orjson.JSONEncodeError):
        return _NOT_JSON
    return data


# ---------------------------------------------------------------- response shapes (camelCase)


def _number(value: float) -> float:
    """A float for JSON; NaN / inf (stored over gRPC) fail as FastAPI's strict JSON does: a 500."""
    if not math.isfinite(value):
        raise _GatewayBug(f"out of range float value {value!r} is not JSON compliant")
    return value


def _json_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _json_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _converter(hint: Any) -> Converter | None:
    """What turns a row's value of type ``hint`` into its JSON value (None: as it is)."""
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return operator.attrgetter("value")
    if hint is datetime:  # before date: a datetime is a date
        return _json_datetime
    if hint is date:
        return date.isoformat  # YYYY-MM-DD
    if hint is float:
        return _number
    if hint is bytes:
        return _json_text
    return None


def _camel_case(name: str, field: FieldInfo) -> str:
    return field.alias or name


_SHAPES: dict[type, Shape[Payload]] = {}  # nested rows first: their shape is in here when the outer one asks
for _row in (UserRow, CardRow, AccountRow, OperationRow, SummaryRow, DocumentRow):
    _SHAPES[_row] = Shape(_row, key=_camel_case, converter=_converter, build=lambda payload: payload, nested=_SHAPES)


def _payload(row: Any) -> Payload:
    """A bank row as the gateway's JSON: the contract model's fields under their camelCase aliases."""
    return _SHAPES[type(row)](row)


# ---------------------------------------------------------------- handlers, one per kind of call


class _Handlers:
    """Each method parses one kind of request, asks the bank, and shapes the answer."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank

    async def get_user(self, request: web.Request) -> Payload:
        return {"user": _payload(self.bank.get_user(_uuid_param(request, "path", "user_id")))}

    async def create_user(self, request: web.Request) -> Payload:
        body = await _body(request, _CreateUserBody)
        return {"user": _payload(self.bank.create_user(**body.model_dump()))}

    async def get_accounts(self, request: web.Request) -> Payload:
        accounts = self.bank.get_accounts(_v4_query(request, "userId"))
        return {"accounts": [_payload(a) for a in accounts]}

    async def open_account(self, account_type: AccountType, request: web.Request) -> Payload:
        body = await _body(request, _OpenAccountBody)
        try:
            account = self.bank.open_account(str(body.user_id), account_type)
        except NotFoundError as exc:  # the real gateway answers an unknown user with a bare 500
            raise _GatewayBug from exc
        return {"account": _payload(account)}

    async def issue_card(self, card_type: CardType, request: web.Request) -> Payload:
        body = await _body(request, _IssueCardBody)
        return {"card": _payload(self.bank.issue_card(str(body.user_id), str(body.account_id), card_type))}

    async def make_operation(self, operation_type: OperationType, request: web.Request) -> Payload:
        is_purchase = operation_type is OperationType.PURCHASE
        body = await _body(request, _PurchaseBody if is_purchase else _OperationBody)
        operation = self.bank.make_operation(
            operation_type,
            status=body.status,
            amount=body.amount,
            card_id=str(body.card_id),
            account_id=str(body.account_id),
            category=body.category if isinstance(body, _PurchaseBody) else "",
            finite_only=True,
        )
        return {"operation": _payload(operation)}

    async def get_operation(self, request: web.Request) -> Payload:
        return {"operation": _payload(self.bank.get_operation(_uuid_param(request, "path", "operation_id")))}

    async def get_operations(self, request: web.Request) -> Payload:
        operations = self.bank.get_operations(_v4_query(request, "accountId"))
        return {"operations": [_payload(o) for o in operations]}

    async def get_operations_summary(self, request: web.Request) -> Payload:
        summary = self.bank.get_operations_summary(_v4_query(request, "accountId"))
        return {"summary": _payload(summary)}

    async def get_receipt(self, request: web.Request) -> Payload:
        receipt = await self.bank.wait_for_receipt(_uuid_param(request, "path", "operation_id"))
        return {"receipt": _payload(receipt)}

    async def get_document(self, kind: DocumentKind, request: web.Request) -> Payload:
        account_id = _uuid_param(request, "path", "account_id")
        try:
            document = self.bank.get_document(kind, account_id)
        except NotFoundError as exc:  # the real gateway answers an unknown account with a bare 500
            raise _GatewayBug from exc
        return {kind.value: _payload(document)}


# ---------------------------------------------------------------- errors and the application


def _json(status: int, payload: Any) -> web.Response:
    # default=str: pydantic's error ctx may hold exception objects, as FastAPI's encoder tolerates
    return web.Response(status=status, body=orjson.dumps(payload, default=str), content_type="application/json")


def _internal_server_error() -> web.Response:
    return web.Response(status=500, text="Internal Server Error")


def _error_response(exc: StandError) -> web.Response:
    answer = answer_for(exc)
    if answer.http_body == "plain":
        return web.Response(status=answer.http_status, text="Internal Server Error")
    if answer.http_body == "validation":  # parsing above refuses most of these first: a safety net
        loc = list(getattr(exc, "loc", ("body",)))
        detail = [{"type": "value_error", "loc": loc, "msg": str(exc), "input": None}]
        return _json(answer.http_status, {"detail": detail})
    response = _json(answer.http_status, {"detail": str(exc)})
    if isinstance(exc, PushbackError):  # seconds, as a decimal: the stand's pushbacks are shorter than one
        response.headers["Retry-After"] = f"{exc.pushback_ms / 1000:g}"
    return response


def _serve(rpc: str, handler: Handler, faults: Faults) -> WebHandler:
    """``handler`` behind the fault injector, with the stand's errors turned into responses."""

    async def serve(request: web.Request) -> web.StreamResponse:
        try:
            return _json(200, await faults.run(rpc, handler, request))
        except _Unprocessable as exc:
            return _json(422, {"detail": exc.errors})
        except _GatewayBug:
            return _internal_server_error()
        except StandError as exc:
            return _error_response(exc)
        except web.HTTPException:  # aiohttp's own answers (413 for a body over the limit)
            raise
        except Exception:  # never a crash: answer like FastAPI's unhandled-exception 500
            log.exception("stand: %s failed", rpc)
            return _internal_server_error()

    return serve


@web.middleware
async def _fastapi_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """aiohttp's own errors as FastAPI's: unknown routes ``{"detail": "Not Found"}``, and so on.

    A body over ``MAX_REQUEST_BYTES`` is a 413 with the same shape, never a 500.
    """
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status >= 400:
            detail = exc.reason if exc.status in (404, 405) else exc.text
            return _json(exc.status, {"detail": detail})
        raise


def build_app(bank: Bank, faults: Faults) -> web.Application:
    """The aiohttp application serving every HTTP route of the endpoint table."""
    handlers = handlers_by_rpc(_Handlers(bank))
    app = web.Application(middlewares=[_fastapi_errors], client_max_size=MAX_REQUEST_BYTES)
    # Literal paths first, so /operations/operations-summary is not taken for an operation id.
    for rpc, endpoint in sorted(ENDPOINTS.items(), key=lambda item: "{" in item[1].http_path):
        app.router.add_route(endpoint.http_method, endpoint.http_path, _serve(rpc, handlers[rpc], faults))
    return app


class HttpServer:
    """The stand's HTTP side on one port: ``start`` binds and serves, ``stop`` lets requests finish."""

    def __init__(self, bank: Bank, faults: Faults) -> None:
        self._runner = web.AppRunner(
            build_app(bank, faults), access_log=None, logger=REQUEST_LOG, shutdown_timeout=STOP_GRACE_S
        )

    async def start(self, host: str, port: int) -> int:
        """Serve on ``host:port`` (0: a free one); the port bound, or ``StandStartError``."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=_BACKLOG)
        try:
            await site.start()
        except OSError as exc:
            raise StandStartError(bind_failure("HTTP", host, port, exc)) from None
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        await self._runner.cleanup()
