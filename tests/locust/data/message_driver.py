"""A Locust master and two workers in one process, over Locust's real messaging, fed forged messages.

Run as ``python message_driver.py SCENARIO_JSON``; prints one JSON report on its last line. The
scenario names the dump (``dump``; ``worker_b_dump`` for worker b's copy, maybe missing), the
virtual ``users`` the master starts, and ``steps``:

    ["claim", w]                       worker w's feeder claims a seeded user (the public ``claim()``)
    ["release", w, i]                  it releases its i-th claim (the public ``release()``)
    ["send", w, kind, data]            worker w's runner sends ``seeding:<dump>:<kind>`` with ``data``
                                       (``seeding:hello`` for kind hello: one type for every feeder)
    ["master_send", w, kind, data]     the master's runner sends it to worker w
    ["intruder", kind, data]           a node that never joined sends it to the master (raw RPC client)
    ["quit", w]                        worker w leaves (its claims are not released first)
    ["patience", w, seconds]           worker w's feeder waits that long for seeds and grants
    ["missing", w]                     the master marks worker w missing, as Locust does when its heartbeats
                                       stop (state, user dispatcher), and the feeder's watcher runs at once
    ["back", w]                        wait (up to 10 s) for w's next real heartbeat to heal it on the master

In ``data``, ``{"$bytes": "text"}`` stands for the bytes of ``text`` (JSON has no bytes).

The report: ``claims`` ([worker, position, index] or [worker, "exhausted"]), every log record of
warning level or above (plus info lines of ``seeding.locust``), ``tracebacks`` (records carrying
one), the files under ``root`` and each worker's assignment generation at the end.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import gevent
from locust import User, constant, task
from locust.env import Environment
from locust.event import Events
from locust.rpc import Message, rpc
from locust.runners import STATE_MISSING

from seeding import SeedingError, SeedsExhaustedError
from seeding.locust import SeedsFeeder


class Idle(User):
    wait_time = constant(600)

    @task
    def nothing(self) -> None:
        pass


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.rows: list[list[str]] = []
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info or "Traceback" in message:
            self.tracebacks += 1
        if record.levelno >= logging.WARNING or (record.name == "seeding.locust" and record.levelno >= logging.INFO):
            self.rows.append([record.levelname, record.name, message])


def decoded(data: Any) -> Any:
    if isinstance(data, dict):
        if set(data) == {"$bytes"}:
            return data["$bytes"].encode()
        return {key: decoded(value) for key, value in data.items()}
    if isinstance(data, list):
        return [decoded(value) for value in data]
    return data


def ready(feeder: SeedsFeeder) -> int | None:
    """How many seeded users the feeder serves now; None while it waits for them."""
    try:
        return len(feeder.seeds.users)
    except SeedingError:
        return None


def wait_for(condition: Any, what: str, timeout: float = 10.0) -> None:
    with gevent.Timeout(timeout, TimeoutError(what)):
        while not condition():
            gevent.sleep(0.02)


def main(scenario: dict[str, Any]) -> dict[str, Any]:
    records = Records()
    logging.getLogger().addHandler(records)
    logging.getLogger().setLevel(logging.DEBUG)
    dump = Path(scenario["dump"])
    kind_prefix = f"seeding:{dump.name}:"

    def message_type(kind: str) -> str:
        return "seeding:hello" if kind == "hello" else kind_prefix + kind  # every feeder's hello is one type

    master_env = Environment(user_classes=[Idle], events=Events())
    master_feeder = SeedsFeeder(dump, events=master_env.events, strategy=scenario.get("strategy", "unique"), seed=1)
    master = master_env.create_master_runner("127.0.0.1", 0)
    master_env.events.init.fire(environment=master_env, runner=master, web_ui=None)

    feeders: dict[str, SeedsFeeder] = {}
    runners: dict[str, Any] = {}
    for name, path in (("a", dump), ("b", Path(scenario.get("worker_b_dump") or dump))):
        env = Environment(user_classes=[Idle], events=Events())
        feeders[name] = SeedsFeeder(path, events=env.events, ready_timeout=5)
        runners[name] = env.create_worker_runner("127.0.0.1", master.server.port)
        env.events.init.fire(environment=env, runner=runners[name], web_ui=None)
    wait_for(lambda: master.worker_count == 2, "workers connected")
    master.start(scenario.get("users", 2), spawn_rate=100)
    for feeder in feeders.values():
        assert len(feeder.seeds.users) > 0  # waits until this worker has its seeds

    claims: dict[str, list[Any]] = {"a": [], "b": []}
    report_claims: list[list[Any]] = []
    intruder = None
    for step in scenario["steps"]:
        action, rest = step[0], decoded(step[1:])
        if action == "claim":
            try:
                claim = feeders[rest[0]].claim()
            except SeedsExhaustedError:
                report_claims.append([rest[0], "exhausted"])
                continue
            except SeedingError:
                report_claims.append([rest[0], "no answer"])
                continue
            claims[rest[0]].append(claim)
            report_claims.append([rest[0], claim._position, claim.index])
        elif action == "release":
            feeders[rest[0]].release(claims[rest[0]][rest[1]])
        elif action == "send":
            runners[rest[0]].send_message(message_type(rest[1]), rest[2])
        elif action == "master_send":
            master.send_message(kind_prefix + rest[1], rest[2], client_id=runners[rest[0]].client_id)
        elif action == "intruder":
            intruder = intruder or rpc.Client("127.0.0.1", master.server.port, "intruder-node")
            intruder.send(Message(message_type(rest[0]), rest[1], "intruder-node"))
        elif action == "patience":
            feeders[rest[0]].ready_timeout = rest[1]
        elif action == "missing":
            node = master.clients[runners[rest[0]].client_id]
            node.state = STATE_MISSING  # what Locust's heartbeat checker does (runners.py, heartbeat_worker)
            node.user_classes_count = {}
            master._users_dispatcher.remove_worker(node)
            master_feeder._reclaim_from_departed()  # what the feeder's watcher does within a heartbeat
        elif action == "back":
            node_id = runners[rest[0]].client_id
            wait_for(lambda node_id=node_id: master.clients[node_id].state != STATE_MISSING, "a heartbeat")
        elif action == "quit":
            runner = runners[rest[0]]
            runner.send_message("quit")  # what a worker says when it shuts down
            runner.greenlet.kill(block=True)  # and it is gone, releases unsent
        else:
            raise ValueError(f"unknown step {step!r}")
        gevent.sleep(0.15)  # let the message cross and be handled

    root = Path(scenario["root"])
    for feeder in feeders.values():
        feeder.ready_timeout = 0.1  # the seeds are there by now, or will never come
    report = {
        "claims": report_claims,
        "logs": records.rows,
        "tracebacks": records.tracebacks,
        "files": sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()),
        "ready": {name: ready(feeder) for name, feeder in feeders.items()},
        "nodes": {name: runner.client_id for name, runner in runners.items()},
    }
    master.quit()
    return report


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
