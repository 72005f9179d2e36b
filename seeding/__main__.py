"""``python -m seeding``: see ``seeding._cli``."""

import sys

from . import _collector
from ._cli import main
from ._shutdown import exit_within

_collector.claim()
code = main()
_collector.before_exit()
exit_within(2.0, code)  # interpreter shutdown (grpc-core's atexit, thread joins) gets 2 s, no more
sys.exit(code)
