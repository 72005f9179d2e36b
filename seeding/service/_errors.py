"""The one error a handler raises: an HTTP status and one line, answered as ``{"error": "<line>"}``."""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """A request the service refuses: ``status`` (4xx) and a one-line ``message`` naming what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = " ".join(message.split())
        super().__init__(self.message)
