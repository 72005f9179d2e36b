"""One process, a local Locust runner, one ``SeedsFeeder(strategy="lease")``: runs steps, reports what each did.

Run as ``python lease_driver.py SCENARIO_JSON``; prints one JSON report on its last line (for a
JSON list of scenarios, run one after another in this process, a list of reports). A scenario
names the ``dump``, the feeder's keyword arguments (``feeder``) and ``steps``:

    ["claim", u]              virtual user u takes a seeded user (``claim_for``)
    ["release", u]            ``seeding.locust.release(user u)``
    ["quarantine", u, why]    ``seeding.locust.quarantine(user u, why)``
    ["release_in", u, s]      user u releases its seeded user s seconds from now (in another greenlet)

The report: ``made`` (the feeder's construction error, one line, or null), ``steps`` (per step
``["ok", index or null, seconds]`` or ``["error", type, message, seconds]``), ``logs`` (warnings
and seeding.locust info lines) and ``tracebacks``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import gevent
from locust import User, constant, task
from locust.env import Environment
from locust.event import Events

import seeding.locust
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
        if record.exc_info:
            self.tracebacks += 1
        if record.levelno >= logging.WARNING or (record.name == "seeding.locust" and record.levelno >= logging.INFO):
            self.rows.append([record.levelname, record.getMessage()])


def main(scenario: dict[str, Any]) -> dict[str, Any]:
    records = Records()
    logging.getLogger().addHandler(records)
    logging.getLogger().setLevel(logging.INFO)
    env = Environment(user_classes=[Idle], events=Events())
    report: dict[str, Any] = {"made": None, "steps": [], "logs": records.rows}
    try:
        feeder = SeedsFeeder(scenario["dump"], events=env.events, ready_timeout=5, **scenario.get("feeder", {}))
    except (ValueError, TypeError) as exc:
        report["made"] = f"{type(exc).__name__}: {exc}"
        return report
    runner = env.create_local_runner()
    env.events.init.fire(environment=env, runner=runner, web_ui=None)
    runner.start(1, spawn_rate=100)
    assert len(feeder.seeds.users) > 0  # waits until the test has started
    users = {}
    for step in scenario["steps"]:
        action, name = step[0], step[1]
        user = users.setdefault(name, Idle(env))
        began = time.monotonic()
        try:
            index = None
            if action == "claim":
                index = feeder.claim_for(user).index
            elif action == "release":
                seeding.locust.release(user)
            elif action == "quarantine":
                seeding.locust.quarantine(user, step[2])
            elif action == "release_in":
                gevent.spawn_later(step[2], seeding.locust.release, user)
            else:
                raise AssertionError(f"unknown step {step!r}")
            report["steps"].append(["ok", index, round(time.monotonic() - began, 3)])
        except Exception as exc:  # the report says which, and that it is one line
            report["steps"].append(["error", type(exc).__name__, str(exc), round(time.monotonic() - began, 3)])
    report["tracebacks"] = records.tracebacks
    runner.quit()
    return report


if __name__ == "__main__":
    given = json.loads(sys.argv[1])
    print(json.dumps([main(scenario) for scenario in given] if isinstance(given, list) else main(given)))
