"""Parse many Locust command lines in one process, as ``locust`` itself does, with seeding's options added.

Argument: a JSON list of ``[args, env]`` rows. For each, Locust's own parser (``get_parser``: its
arguments, then every ``init_command_line_parser`` listener, seeding.locust's among them) parses
``args`` with ``env`` as the environment (``LOCUST_SEEDS_*``). Prints one JSON line: per row, the
exit code (None when it parsed) and what the parser wrote to stderr. Starting Locust once for many
rows keeps the bad-option table fast; the exit path of a real run is tested beside it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

import locust.argument_parser as locust_arguments
from locust.util.load_locustfile import load_locustfile

load_locustfile(sys.argv[2])  # the locustfile imports seeding.locust, which adds the --seeds-* options
results = []
for args, env in json.loads(sys.argv[1]):
    saved = dict(os.environ)
    os.environ.update(env)
    stderr = io.StringIO()
    code = None
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            locust_arguments.get_parser().parse_args(args)
    except SystemExit as exit_:
        code = exit_.code
    finally:
        os.environ.clear()
        os.environ.update(saved)
    results.append([code, stderr.getvalue()])
print(json.dumps(results))
