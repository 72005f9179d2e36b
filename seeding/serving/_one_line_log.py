"""``OneLineLog``: aiohttp's log of requests it cannot parse, one line each."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["OneLineLog"]

# What a client's bytes or its going away raise inside aiohttp: nothing in our code to look at.
_THE_CLIENTS = (HttpProcessingError, ConnectionError, TimeoutError)


class OneLineLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's log of requests it cannot parse (a 100 kB URL, a header over 8 KiB, a bad chunk): one line each.

    The client sent them; the server answers 4xx and carries on, so a traceback would only say where in
    aiohttp the parse stopped (9 to 28 lines per request). A failure inside a handler is logged by the
    handler's own logger, with its traceback, and so is any other exception that reaches aiohttp.
    ``prefix`` names the server (``stand``, ``service``).
    """

    def __init__(self, logger: logging.Logger, prefix: str) -> None:
        super().__init__(logger, {})
        self.prefix = prefix

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        if exc is not None and not isinstance(exc, _THE_CLIENTS):
            self.logger.error(f"{self.prefix}: {msg}", *args, exc_info=exc, **kwargs)  # our bug: its traceback
            return
        reason = " ".join(str(exc).split())[:300] if exc is not None else "unknown error"
        self.warning(f"{self.prefix}: {msg}: %s", *args, reason, **kwargs)
