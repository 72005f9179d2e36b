"""Locust stays optional: ``import seeding`` never loads it, and its absence is one clear ImportError."""

from __future__ import annotations

import subprocess
import sys


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_import_seeding_does_not_import_locust_or_gevent():
    done = python("import sys, seeding, seeding.locust; print('locust' in sys.modules, 'gevent' in sys.modules)")
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_without_locust_the_error_says_how_to_install_it():
    done = python("import sys; sys.modules['locust'] = None; import seeding.locust")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        'ImportError: seeding.locust needs Locust, which is not installed: pip install "seeding[locust]"'
    )


def test_the_feeder_brings_locust_in():
    done = python("import sys; from seeding.locust import SeedsFeeder; print('locust' in sys.modules)")
    assert done.stdout.strip() == "True", done.stderr
