"""Silence one traceback Locust ≤ 2.42 with gevent 25 prints at exit after any usage error.

With gevent 25's patched ``threading``, a logging handler collected while the interpreter shuts
down runs ``logging._removeHandlerRef``, whose lock asks gevent for the current greenlet after the
main greenlet is gone: "Exception ignored in: <function _removeHandlerRef …> RuntimeError: greenlet
is being finalized". A plain locustfile shows it too (an upstream quirk, nothing is lost); under a
locustfile that imports ``seeding.locust`` a bad ``--seeds-*`` flag must end in its one line.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["install"]


def _is_the_quirk(unraisable: Any) -> bool:
    return (
        isinstance(unraisable.exc_value, RuntimeError)
        and str(unraisable.exc_value) == "greenlet is being finalized"
        and getattr(unraisable.object, "__name__", None) == "_removeHandlerRef"
    )


_installed = False


def install() -> None:
    """Drop exactly that report; every other unraisable exception still reaches the previous hook."""
    global _installed
    if _installed:
        return
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if not _is_the_quirk(unraisable):
            previous(unraisable)

    sys.unraisablehook = hook
    _installed = True
