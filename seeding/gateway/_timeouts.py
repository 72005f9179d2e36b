"""How long a call may take: the clients, their settings and the command line's flags agree on it here."""

from __future__ import annotations

__all__ = ["DEFAULT_TIMEOUT", "MAX_TIMEOUT", "PREFLIGHT_TIMEOUT"]

DEFAULT_TIMEOUT = 10.0  # seconds, per call
PREFLIGHT_TIMEOUT = 5.0  # seconds the pre-flight call may take: an idle gateway answers in milliseconds
MAX_TIMEOUT = 3600.0  # beyond this a deadline is a typo (and ``inf`` overflows both transports)
