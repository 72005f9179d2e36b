"""Every error seeding raises, in one tree.

    SeedingError
    ├── PlanError                 a plan file or object is invalid (names the file and the field)
    ├── DumpError                 a dump file is missing, corrupt or truncated (names the file, the line)
    ├── JournalError              a run journal cannot be resumed (other plan, unreadable)
    ├── BuildError                a plan user could not be built: its index and the gateway error
    ├── SeedsExhaustedError       more users asked of a dump than it holds (also an IndexError)
    └── GatewayError              a gateway call failed: carries method, target, status and message
        ├── TransientGatewayError     worth retrying: the same call may succeed later
        │   ├── GatewayUnreachableError   nothing answers at the target (connect refused, no route)
        │   └── OverloadedError           refused for load, with when to come back (Retry-After, pushback)
        └── PermanentGatewayError     retrying the same call cannot help
            ├── NotFoundError             404 / NOT_FOUND
            ├── InvalidRequestError       422, 403 / INVALID_ARGUMENT (bad email, duplicate email, bad field)
            └── RejectedError             400 / FAILED_PRECONDITION, PERMISSION_DENIED, ...

Classification happens here, once, for both transports (``error_for_grpc_status``,
``error_for_http_status``); the retry policy only asks ``is_transient``. The real gateway answers
500 / UNKNOWN when its database runs out of connections, so those count as transient.
"""

from __future__ import annotations

__all__ = [
    "PUSHBACK_TRAILER",
    "BuildError",
    "DumpError",
    "GatewayError",
    "GatewayUnreachableError",
    "InvalidRequestError",
    "JournalError",
    "NotFoundError",
    "OverloadedError",
    "PermanentGatewayError",
    "PlanError",
    "RejectedError",
    "SeedingError",
    "SeedsExhaustedError",
    "TransientGatewayError",
    "error_for_grpc_status",
    "error_for_http_status",
    "is_transient",
    "pushback_seconds",
]


class SeedingError(Exception):
    """Base of every error seeding raises on purpose."""


class PlanError(SeedingError):
    """A plan is invalid; the message is one line naming the file and the field."""


class DumpError(SeedingError):
    """A dump file cannot be read; the message names the file (and the line where known)."""


class JournalError(SeedingError):
    """A run journal cannot be used to resume (made from another plan, or unreadable)."""


class BuildError(SeedingError):
    """Building plan user ``index`` failed for good (a permanent error, or retries exhausted)."""

    def __init__(self, index: int, cause: BaseException) -> None:
        self.index = index
        self.cause = cause
        super().__init__(f"plan user #{index}: {cause}")


class SeedsExhaustedError(SeedingError, IndexError):
    """A dump has fewer seeded users than were asked of it."""


class GatewayError(SeedingError):
    """A gateway call failed.

    ``method`` is the RPC name or ``"POST /api/v1/..."``, ``target`` the gateway address,
    ``status`` the gRPC status name or HTTP status code as text, ``detail`` the server's message
    (whole; the error's own message keeps one short line of it, as a 422 may echo a 2 MB input).
    """

    def __init__(self, *, method: str, target: str, status: str, detail: str) -> None:
        self.method = method
        self.target = target
        self.status = status
        self.detail = detail
        super().__init__(f"{method} at {target} failed: {status}: {_one_line(detail)}")


_MAX_DETAIL_CHARS = 500


def _one_line(text: str) -> str:
    """``text`` on one line, cut to ``_MAX_DETAIL_CHARS`` with a note of how much was left out."""
    line = " ".join(text[: _MAX_DETAIL_CHARS * 2].split())
    if len(line) <= _MAX_DETAIL_CHARS and len(text) <= _MAX_DETAIL_CHARS * 2:
        return line
    return f"{line[:_MAX_DETAIL_CHARS]}… ({len(text)} characters)"


class TransientGatewayError(GatewayError):
    """A failure the same call may not meet again: overload, network trouble, timeouts."""


class GatewayUnreachableError(TransientGatewayError):
    """Nothing answered at the target address (connection refused, reset, no route)."""


class OverloadedError(TransientGatewayError):
    """The gateway refused the call for load and said how long to hold off: ``pushback`` seconds.

    HTTP 429 or 503 with ``Retry-After``; gRPC RESOURCE_EXHAUSTED or UNAVAILABLE with the
    ``grpc-retry-pushback-ms`` trailer. The whole run holds off, not only this call's retry.
    """

    def __init__(self, *, method: str, target: str, status: str, detail: str, pushback: float) -> None:
        super().__init__(method=method, target=target, status=status, detail=detail)
        self.pushback = pushback


# gRPC's trailer for "come back in N ms" (gRFC A6, the one grpc-core's own retries read).
PUSHBACK_TRAILER = "grpc-retry-pushback-ms"
# A gateway's pushback is honoured up to this long: a hostile or broken one should not stall a run.
MAX_PUSHBACK_S = 60.0


class PermanentGatewayError(GatewayError):
    """A failure retrying cannot fix: the request itself is wrong for the gateway."""


class NotFoundError(PermanentGatewayError):
    """An id the request names does not exist (HTTP 404, gRPC NOT_FOUND)."""


class InvalidRequestError(PermanentGatewayError):
    """The request is malformed or breaks a rule (HTTP 422, 403 duplicate email; gRPC INVALID_ARGUMENT)."""


class RejectedError(PermanentGatewayError):
    """The gateway refused a well-formed request (HTTP 400, FAILED_PRECONDITION, ...)."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying; the one predicate both transports' retries share."""
    return isinstance(exc, TransientGatewayError)


# gRPC status names (grpc.StatusCode.X.name) that count as transient.
_TRANSIENT_GRPC = frozenset(
    {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "CANCELLED", "INTERNAL", "UNKNOWN"}
)
_PERMANENT_GRPC: dict[str, type[PermanentGatewayError]] = {
    "NOT_FOUND": NotFoundError,
    "INVALID_ARGUMENT": InvalidRequestError,
    "OUT_OF_RANGE": InvalidRequestError,
    "FAILED_PRECONDITION": RejectedError,
    "ALREADY_EXISTS": RejectedError,
    "PERMISSION_DENIED": RejectedError,
    "UNAUTHENTICATED": RejectedError,
    "UNIMPLEMENTED": RejectedError,
}
_TRANSIENT_HTTP = frozenset({408, 429, 500, 502, 503, 504})
_PERMANENT_HTTP: dict[int, type[PermanentGatewayError]] = {
    404: NotFoundError,
    422: InvalidRequestError,
    403: InvalidRequestError,  # the gateway's one 403 is a duplicate email: INVALID_ARGUMENT over gRPC
    400: RejectedError,
}


_PUSHBACK_GRPC = frozenset({"RESOURCE_EXHAUSTED", "UNAVAILABLE"})
_PUSHBACK_HTTP = frozenset({429, 503})


def error_for_grpc_status(
    status_name: str, *, method: str, target: str, detail: str, pushback: float | None = None
) -> GatewayError:
    """The error for a failed gRPC call, by status name (``"NOT_FOUND"``); ``pushback``: its trailer's, in s."""
    if pushback is not None and status_name in _PUSHBACK_GRPC:
        return OverloadedError(method=method, target=target, status=status_name, detail=detail, pushback=pushback)
    if status_name in _TRANSIENT_GRPC:
        cls: type[GatewayError] = TransientGatewayError
    else:
        cls = _PERMANENT_GRPC.get(status_name, PermanentGatewayError)
    return cls(method=method, target=target, status=status_name, detail=detail)


def error_for_http_status(
    status_code: int, *, method: str, target: str, detail: str, pushback: float | None = None
) -> GatewayError:
    """The error for a failed HTTP call, by status code; ``pushback``: its ``Retry-After``, in s."""
    if pushback is not None and status_code in _PUSHBACK_HTTP:
        status = str(status_code)
        return OverloadedError(method=method, target=target, status=status, detail=detail, pushback=pushback)
    if status_code in _TRANSIENT_HTTP:
        cls: type[GatewayError] = TransientGatewayError
    else:
        cls = _PERMANENT_HTTP.get(status_code, RejectedError)
    return cls(method=method, target=target, status=str(status_code), detail=detail)


def pushback_seconds(text: str | bytes | None, *, unit: float = 1.0) -> float | None:
    """A pushback header's value in seconds (``unit``: seconds per its unit), or None if absent or unusable.

    ``Retry-After`` is whole seconds (a decimal is taken too) or an HTTP date; ``grpc-retry-pushback-ms``
    is milliseconds, and a negative one means "do not retry", which the retry policy's limits
    already cover. Longer than ``MAX_PUSHBACK_S`` is cut to it.
    """
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    seconds: float | None
    try:
        seconds = float(text) * unit
    except ValueError:
        seconds = _http_date_from_now(text)
    if seconds is None or not seconds >= 0:  # also nan
        return None
    return min(seconds, MAX_PUSHBACK_S)


def _http_date_from_now(text: str) -> float | None:
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
