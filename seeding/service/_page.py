"""The service's human face: ``/`` (runs, dumps, start/cancel/resume) and ``/docs`` (the API, tried live).

Plain HTML, CSS and a little JavaScript, shipped as package data in ``_assets/`` and served from
memory: no build step, and nothing from the internet (the Content-Security-Policy allows this
origin only, so a page that reached out would fail in the browser, and the browser test with it).
The pages and their assets need no token: they hold no data. They ask for the token once when the
API answers 401, and keep it in the tab's ``sessionStorage``.
"""

from __future__ import annotations

import functools
from importlib import resources

from aiohttp import web

__all__ = ["ASSETS", "PAGES", "TOKEN_REQUIRED", "asset", "page"]

TOKEN_REQUIRED = web.AppKey("token_required", bool)

PAGES = {"/": "index.html", "/docs": "docs.html"}
ASSETS = ("api.js", "page.js", "docs.js", "page.css")
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


@functools.cache
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("_assets", name).read_bytes()


def _response(name: str) -> web.Response:
    suffix = name[name.rindex(".") :]
    return web.Response(body=_read(name), content_type=_TYPES[suffix], charset="utf-8", headers=_HEADERS)


async def page(request: web.Request) -> web.Response:
    """``/`` or ``/docs``, saying whether the API wants a token (so the page asks before its first call)."""
    needs = "required" if request.app[TOKEN_REQUIRED] else "none"
    body = _read(PAGES[request.path]).replace(b"{{token}}", needs.encode())
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=_HEADERS)


async def asset(request: web.Request) -> web.Response:
    """``/ui/{name}``: one of ``ASSETS``; anything else is a 404 like any unknown route."""
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return _response(name)
