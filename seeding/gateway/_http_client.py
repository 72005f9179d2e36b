"""The gateway over HTTP/JSON: the ``httpx`` API on ``httpx_aiohttp``'s aiohttp transport.

Why not httpx's own transport: its connection pool scans every connection per request, so a
plain ``httpx.AsyncClient`` falls from ~1.3k calls/s at 10 in flight to ~20 at 300 (see
``bench/http_transports.py``); aiohttp's pool keeps its rate at hundreds in flight. We pass
``AiohttpTransport`` through ``httpx.AsyncClient(transport=...)``, the public httpx hook, rather
than subclassing ``HttpxAiohttpClient``, which overrides private ``AsyncClient`` methods.

The builder's calls go straight to the transport (``handle_async_request``, httpx's public transport
API), and the transport reads each answer whole: the gateway answers a few hundred bytes of JSON, and
the client's send loop (auth flow, redirects, cookies, hooks: none configured here) and the
streamed body (an async iterator, a decoder and an exception-mapping block per chunk) cost more CPU
per call than aiohttp itself. Measured by ``bench/client_cpu.py``: 455 → 355 µs per call.

Requests are built from the contract's field names by one rule: a route with a ``{placeholder}``
takes the request's one field in its path; other GET fields go in the query, POST fields in the
JSON body; both camelCase.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Mapping
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from .._exceptions import (
    GatewayError,
    GatewayUnreachableError,
    TransientGatewayError,
    error_for_http_status,
    pushback_seconds,
)
from ..contract import ENDPOINTS, AccountType, CardType, Endpoint
from ._address import Transport
from ._contract_client import AccountRef, CardRef, ContractClient
from ._timeouts import DEFAULT_TIMEOUT

__all__ = ["DEFAULT_MAX_CONNECTIONS", "HttpGatewayClient"]

DEFAULT_MAX_CONNECTIONS = 100  # aiohttp's own default; calls beyond it wait for a free connection

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_JSON_HEADERS = httpx.Headers({"content-type": "application/json", "accept": "application/json"})
_NO_TIMEOUTS = {"timeout": httpx.Timeout(None).as_dict()}  # ``_call`` bounds the whole call instead
_camel = functools.cache(to_camel)
# GetAccounts of an unknown user answers 200 [] and touches nothing: a cheap "are you there?".
_PROBE = ENDPOINTS["GetAccounts"]
_PROBE_PARAMS = {"userId": "00000000-0000-4000-8000-000000000000"}  # version 4 (the nil UUID: 500), never issued


class HttpGatewayClient(ContractClient):
    """The gateway at ``base_url`` over HTTP; every call must finish within ``timeout`` seconds, answer read."""

    transport: Transport = "http"

    def __init__(
        self,
        base_url: str = "http://localhost:8003",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"HTTP gateway address must start with http:// or https://, got {base_url!r}")
        self.target = base_url.rstrip("/")
        self.timeout = timeout
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        # The transport opens its aiohttp session on first use, inside the running event loop. No
        # timeouts of its own: ``_call`` bounds each call as a whole (connection, request, answer),
        # so a server that trickles its answer cannot hold a call past ``timeout`` either.
        self._transport = _WholeAnswers(limits=limits)
        self._http = httpx.AsyncClient(
            base_url=self.target,
            transport=self._transport,
            timeout=httpx.Timeout(None),
            headers=_JSON_HEADERS,
            cookies=_NoCookies(),
        )
        self._urls: dict[str, httpx.URL] = {}  # each route without a path parameter, parsed once

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check_reachable(self, timeout: float = 3.0, *, answer_within: float | None = None) -> None:
        limit = httpx.Timeout(answer_within or timeout, connect=timeout)
        try:
            await self._http.request(_PROBE.http_method, _PROBE.http_path, params=_PROBE_PARAMS, timeout=limit)
        except (httpx.TransportError, aiohttp.ClientError) as exc:  # any answer at all will do
            slow = isinstance(exc.__cause__ or exc, aiohttp.SocketTimeoutError)
            if slow and answer_within is None:
                return  # connected, but the answer is slow: the gateway is up (as the gRPC check sees it)
            detail = (
                f"connected, but no answer within {answer_within:g} s"
                if slow
                else f"cannot connect to the gateway's HTTP port: {exc}"
            )
            raise GatewayUnreachableError(
                method=_PROBE.http_route, target=self.target, status=_failure_name(exc), detail=detail
            ) from exc

    def _method_name(self, endpoint: Endpoint) -> str:
        return endpoint.http_route

    def _url(self, endpoint: Endpoint, fields: Mapping[str, Any]) -> tuple[httpx.URL, Mapping[str, Any]]:
        """The absolute URL of the call and the fields left for the query or body."""
        url = self._urls.get(endpoint.rpc)
        if url is not None:
            return url, fields
        path, rest = _fill_path(endpoint.http_path, fields)
        url = httpx.URL(self.target + path)
        if path == endpoint.http_path:
            self._urls[endpoint.rpc] = url
        return url, rest

    async def _call(self, endpoint: Endpoint, fields: Mapping[str, Any]) -> Any:
        url, rest = self._url(endpoint, fields)
        params = body = None
        camel = {_camel(k): v for k, v in rest.items()}
        if endpoint.http_method == "GET":
            params = camel
        else:
            body = orjson.dumps(camel)
        # Built whole and sent: the client's merging of base URL, headers and cookies is per-call work
        # that gives the same request every time.
        request = httpx.Request(
            endpoint.http_method, url, params=params, content=body, headers=_JSON_HEADERS, extensions=_NO_TIMEOUTS
        )
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._transport.handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise self._transport_error(endpoint, exc) from exc
        except TimeoutError:
            raise TransientGatewayError(
                method=endpoint.http_route,
                target=self.target,
                status="ReadTimeout",  # as httpx names an answer that did not come in time
                detail=f"no answer within {self.timeout:g} s",
            ) from None
        if not response.is_success:
            raise error_for_http_status(
                response.status_code,
                method=endpoint.http_route,
                target=self.target,
                detail=_detail(response),
                pushback=pushback_seconds(response.headers.get("retry-after")),
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise self._bad_response(endpoint.rpc, exc) from exc

    def _transport_error(self, endpoint: Endpoint, exc: Exception) -> GatewayError:
        """No HTTP answer: unreachable if the connection was refused, else transient (timeout, reset)."""
        kwargs = {
            "method": endpoint.http_route,
            "target": self.target,
            "status": _failure_name(exc),
            "detail": str(exc) or repr(exc),
        }
        # httpx_aiohttp maps every aiohttp connection error to httpx.ConnectTimeout, a refused
        # connection included; the aiohttp original it chains tells them apart.
        cause = exc.__cause__ or exc
        if isinstance(exc, httpx.ConnectError) or isinstance(cause, aiohttp.ClientConnectorError):
            return GatewayUnreachableError(**kwargs)
        return TransientGatewayError(**kwargs)

    def _decode(self, response: Any, key: str, model: type[BaseModel]) -> Any:
        return response[key]

    def _read_id(self, response: Any, key: str) -> str:
        return _text(response[key]["id"])

    def _read_account(self, response: Any, key: str) -> AccountRef:
        account = response[key]
        cards = tuple(CardRef(_text(card["id"]), CardType(card["type"])) for card in account["cards"])
        return AccountRef(_text(account["id"]), AccountType(account["type"]), cards)


def _text(value: Any) -> str:
    """An id as the lean path takes it: a JSON string, nothing else (the model path checks the same)."""
    if type(value) is not str:
        raise TypeError(f"expected a string id, got {type(value).__name__} {value!r}")
    return value


class _WholeAnswers(AiohttpTransport):
    """``AiohttpTransport`` answering with the body already read, as ``httpx.Response(content=...)``.

    Same session, limits, timeouts and exception mapping as the parent; no proxy (none is configured).
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self.client
        if not isinstance(session, aiohttp.ClientSession):
            session = self.client = self.get_client()
        timeout = request.extensions.get("timeout", {})
        with map_aiohttp_exceptions():
            async with session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"), sock_read=timeout.get("read"), connect=timeout.get("pool")
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            ) as answer:
                body = await answer.read()
        extensions = {"http_version": b"HTTP/1.1"}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode()
        return httpx.Response(
            answer.status, headers=answer.raw_headers, content=body, request=request, extensions=extensions
        )


class _NoCookies(CookieJar):
    """The gateway keeps no session: nothing to remember from its answers (httpx would, per call)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def _fill_path(template: str, fields: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Put the field into the route's placeholder; every such route takes exactly one field."""
    names = _placeholders(template)
    if not names:
        return template, dict(fields)
    if len(names) != 1 or len(fields) != 1:
        raise AssertionError(f"route {template} has {names}, request has {list(fields)}")
    (value,) = fields.values()
    return template.replace(f"{{{names[0]}}}", quote(str(value), safe="")), {}


@functools.cache
def _placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


def _detail(response: httpx.Response) -> str:
    """The server's message: FastAPI's ``detail`` (text, or the validation list as JSON), else the body."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text.strip() or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else orjson.dumps(detail).decode()
    return response.text.strip()


def _failure_name(exc: Exception) -> str:
    """``ClientConnectorError`` rather than httpx_aiohttp's catch-all ``ConnectTimeout``."""
    return type(exc.__cause__ or exc).__name__
