"""Print pip constraints that pin every runtime dependency (and the locust and docs extras) to its lower bound.

CI installs the package with these in a second venv and runs the suite there, so the lowest
versions we declare are the ones we test, not only the newest ones pip picks.
"""

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml").read_text())["project"]
extras = project["optional-dependencies"]
for requirement in [*project["dependencies"], *extras["locust"], *extras["docs"]]:
    found = re.match(r"\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*[^#]*?>=\s*([^,;\s#]+)", requirement)
    if found:
        print(f"{found[1]}=={found[2]}")
