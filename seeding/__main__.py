"""``python -m seeding``: see ``seeding._cli``."""

import sys

from ._cli import main
from ._shutdown import exit_within

code = main()
exit_within(2.0, code)  # interpreter shutdown (grpc-core's atexit, thread joins) gets 2 s, no more
sys.exit(code)
