"""A worker's hello, one message type for every feeder, heard by the master from its ``init`` on.

A worker greets the master as soon as its feeder joins the runner (a worker joining a running test
then gets its place). The master may be seeding at that moment, in its own ``init`` listener,
before it knows which dump it will serve: a locustfile that seeds with
``build_grpc_seeds_builder().build(plan)`` names the dump only when it calls
``save_seeds_result``. A message type registered per dump would not exist yet, and Locust would
log the greeting as an unknown message and drop it. So every feeder's hello is ``seeding:hello``
with the feeder's name in it, registered on the master at ``init`` (``listen``, from an
``events.init`` listener added when this module is imported, before any locustfile's) and routed
to the feeder of that name (``route``). A hello for a feeder the master does not have (yet) needs
no answer: test start assigns every connected worker. A malformed one is dropped with one line.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from locust import events
from locust.runners import MasterRunner, Runner

from ._messages import drop

__all__ = ["HELLO", "listen", "route"]

HELLO = "seeding:hello"

logger = logging.getLogger("seeding.locust")

Receive = Callable[[Any, Any], None]  # a Locust message listener: (environment, msg)
_routes: weakref.WeakKeyDictionary[Runner, dict[str, Receive]] = weakref.WeakKeyDictionary()


def listen(runner: Runner | None) -> None:
    """Register ``seeding:hello`` on a master (once): from now on no worker's hello is unknown."""
    if not isinstance(runner, MasterRunner) or runner in _routes:
        return
    routes = _routes[runner] = {}

    def receive(environment: Any, msg: Any) -> None:
        data, node = msg.data, str(getattr(msg, "node_id", "?"))
        name = data.get("feeder") if isinstance(data, dict) else None
        if not isinstance(name, str):
            return drop(logger, HELLO, "hello", node, 'not {"feeder": name}')
        handler = routes.get(name)
        if handler is None:  # a feeder this master serves later, or never: test start assigns every worker
            return drop(logger, HELLO, "hello", node, f"no feeder {name[:80]!r} here yet", level=logging.DEBUG)
        handler(environment, msg)

    runner.register_message(HELLO, receive)


def route(runner: Runner, name: str, receive: Receive) -> None:
    """The master's feeder ``name`` hears the hellos addressed to it."""
    listen(runner)
    if runner in _routes:
        _routes[runner][name] = receive


def _on_init(environment: Any, runner: Runner | None = None, **_: Any) -> None:
    listen(runner if runner is not None else getattr(environment, "runner", None))


events.init.add_listener(_on_init)
