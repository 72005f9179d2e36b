"""``_exit_quirk``: exactly gevent 25's finalizer report is dropped; any other unraisable exception still shows.

The real case (a bad ``--seeds-*`` flag under Locust 2.42.6 + gevent 25 ends in one line) runs in
CI's lowest-versions pass through ``test_locust_options.py``; this checks the filter itself.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import weakref
import seeding.locust._exit_quirk as quirk
quirk.install(); quirk.install()  # installed once: a second call does not chain a second filter
class Handler: pass
def _removeHandlerRef(ref): raise RuntimeError("greenlet is being finalized")
def other_callback(ref): raise RuntimeError("greenlet is being finalized")
def same_name_other_error():
    def _removeHandlerRef(ref): raise RuntimeError("something else")
    return _removeHandlerRef
for callback in (_removeHandlerRef, other_callback, same_name_other_error()):
    handler = Handler(); ref = weakref.ref(handler, callback); del handler  # the callback's error is unraisable
"""


def test_only_the_finalizer_report_of_remove_handler_ref_is_dropped() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (
        done.stderr.count("RuntimeError: greenlet is being finalized") == 1
    )  # other_callback's, not _removeHandlerRef's
    assert done.stderr.count("RuntimeError: something else") == 1
