"""``python -m seeding``: see ``seeding._cli``."""

import sys

from ._cli import main

sys.exit(main())
