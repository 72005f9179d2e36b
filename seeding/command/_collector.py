"""The cyclic garbage collector around one ``python -m seeding`` command.

Start-up (imports, pydantic schemas, the parsed plan) makes long-lived objects and next to no
cyclic garbage, yet the collector ran ~80 times over them (~18 ms on a 2-core machine): it is off
until the work begins, when ``gc.freeze()`` moves all of it out of the collector's sight. The work
itself makes short-lived objects by the hundred per call, nearly all freed by their reference
counts; collecting every 700 allocations caught them alive and promoted them (another ~35 ms in a
run of 1,500 calls), every 50,000 lets them die first (~0 ms) and still bounds the cyclic garbage
a long run can hold. At exit the interpreter's own collections would walk everything once more
while it tears the modules down: freezing first takes ~100 ms off the end of every command.

Only the command's entry point claims the process: ``main()`` called from another program (a
test, a service) leaves that program's collector alone.

A server whose data only grows (``python -m seeding.stand``) has the opposite problem: a full
collection walks everything it holds, and a busy server has one every second or so (objects of
calls in flight reach the oldest generation and die there). ``freeze_survivors`` freezes what
each full collection leaves, so the next walks only what came since.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

__all__ = ["WORK_THRESHOLD", "before_exit", "claim", "freeze_survivors", "start_up_done"]

WORK_THRESHOLD = 50_000  # allocations between young collections while the command works (CPython: 700)

_claimed = False


def claim() -> None:
    """This process is one command (``python -m seeding``): its collector is ours to tune."""
    global _claimed
    _claimed = True
    gc.disable()


def start_up_done() -> None:
    """Everything imported and parsed: keep the collector to the objects the work makes."""
    if _claimed:
        gc.freeze()
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(WORK_THRESHOLD, older, oldest)
        gc.enable()


def before_exit() -> None:
    """The command is done: nothing is left for the collector that the process's end does not free."""
    if _claimed:
        gc.freeze()


def freeze_survivors() -> Callable[[], None]:
    """From now on, what survives a full collection is frozen; returns the function that stops it.

    For a process whose long-lived data only grows: the stand holding 3,700 users paused 30-60 ms
    for each full collection (one per run of 100 users), more as it grew, and in the middle of a
    run's calls. What survived one is the stand's data and stays (frozen objects are still freed
    when nothing refers to them; only a cycle among them would be kept).
    """
    oldest = len(gc.get_threshold()) - 1

    def after_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == oldest:
            gc.freeze()

    gc.callbacks.append(after_collection)
    return lambda: gc.callbacks.remove(after_collection)
