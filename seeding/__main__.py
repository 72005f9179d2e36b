"""``python -m seeding``: see ``seeding.cli._main``."""

import os
import sys

from .command import _collector

_collector.claim()  # before the imports below: start-up runs without collections
# Pydantic looks for plugins by scanning every installed distribution's entry points when it
# builds its first model (~10 ms); the command uses none. Set PYDANTIC_DISABLE_PLUGINS= to load them.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from .cli._main import main  # noqa: E402
from .cli._shutdown import exit_within  # noqa: E402

code = main()
_collector.before_exit()
exit_within(2.0, code)  # interpreter shutdown (grpc-core's atexit, thread joins) gets 2 s, no more
sys.exit(code)
