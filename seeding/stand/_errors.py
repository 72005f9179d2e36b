"""Every error the stand raises, in one tree; each transport maps them to its own codes.

    StandError
    ├── NotFoundError             unknown user / account / card / operation id (404, NOT_FOUND)
    ├── InvalidInputError         input the gateway's validation refuses (422, UNKNOWN)
    │   ├── MalformedIdError          an id that is not a UUID (422, UNKNOWN)
    │   └── InvalidEmailError         an email that is not one (422, INVALID_ARGUMENT)
    ├── NonFiniteAmountError      HTTP only: a NaN / inf amount, or a balance it overflows (500)
    ├── DuplicateEmailError       a second user with the same email (403, INVALID_ARGUMENT)
    ├── CardsNotAllowedError      a card on a deposit or savings account (400, FAILED_PRECONDITION)
    ├── ReceiptMissingError       receipt of a FAILED / UNSPECIFIED operation (500, INTERNAL)
    ├── InjectedFaultError        the fail-rate picked this call (503, UNAVAILABLE); nothing applied
    └── PushbackError             the queue is past --pushback-above (429, RESOURCE_EXHAUSTED) with a pushback

    StandStartError               the stand could not start (a port in use, a bad address)

The bank raises the domain errors without knowing the transport. ``ANSWERS`` is the one table
that says how each is answered, an HTTP column and a gRPC column, looked up through the
exception's class hierarchy (``answer_for``), so a subclass answers as its parent unless listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ANSWERS",
    "Answer",
    "CardsNotAllowedError",
    "DuplicateEmailError",
    "InjectedFaultError",
    "InvalidEmailError",
    "InvalidInputError",
    "MalformedIdError",
    "NonFiniteAmountError",
    "NotFoundError",
    "PushbackError",
    "ReceiptMissingError",
    "StandError",
    "StandStartError",
    "answer_for",
]


class StandError(Exception):
    """A call the stand answers with an error; the message is what the client sees."""


class NotFoundError(StandError):
    """An id the request names does not exist."""

    def __init__(self, what: str, ident: str) -> None:
        self.what = what
        self.ident = ident
        super().__init__(f"{what} not found")


class InvalidInputError(StandError):
    """The request breaks a validation rule of the gateway."""

    loc: tuple[str, ...] = ("body",)  # where FastAPI's 422 body says the problem is


class MalformedIdError(InvalidInputError):
    """An id that is not a UUID; the real gateway fails on it before looking anything up."""

    def __init__(self, field: str, value: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: badly formed hexadecimal UUID string: {value!r}")


class InvalidEmailError(InvalidInputError):
    """An email address that does not look like one; the message says why without echoing it.

    The real gateway answers a 100 kB email with a short message: echoing the input would make
    gRPC details too large for the client (RESOURCE_EXHAUSTED, which seeders retry).
    """

    loc = ("body", "email")

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Create user: {reason}")


class NonFiniteAmountError(StandError):
    """The real gateway's HTTP path fails on a non-finite amount or balance and stores nothing."""

    def __init__(self, amount: float) -> None:
        self.amount = amount
        super().__init__(f"amount {amount!r} gives a balance that is not a finite number")


class DuplicateEmailError(StandError):
    """Emails are unique: a user with this one exists already."""

    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(f"User with email {email} already exists")


class CardsNotAllowedError(StandError):
    """Deposit and savings accounts take no cards."""


class ReceiptMissingError(StandError):
    """Only COMPLETED and IN_PROGRESS operations get a receipt."""


class InjectedFaultError(StandError):
    """A transient fault chosen by the fail-rate; the call changed nothing."""


class PushbackError(StandError):
    """The gateway sheds load: come back in ``pushback_ms`` (Retry-After, grpc-retry-pushback-ms); nothing applied."""

    def __init__(self, rpc: str, pushback_ms: float) -> None:
        self.pushback_ms = pushback_ms
        super().__init__(f"{rpc}: too many calls queued, retry in {pushback_ms:g} ms")


class StandStartError(RuntimeError):
    """The stand could not start; the message is one line saying why (e.g. a port in use)."""


@dataclass(frozen=True)
class Answer:
    """How both transports answer one kind of error."""

    http_status: int
    http_body: Literal["detail", "validation", "plain"]  # {"detail": msg}, FastAPI's 422 list, or plain text
    grpc_code: str  # a grpc.StatusCode name (no grpc import here)


ANSWERS: dict[type[StandError], Answer] = {
    StandError: Answer(500, "detail", "UNKNOWN"),
    NotFoundError: Answer(404, "detail", "NOT_FOUND"),
    InvalidInputError: Answer(422, "validation", "UNKNOWN"),  # the real services crash on a malformed UUID
    InvalidEmailError: Answer(422, "validation", "INVALID_ARGUMENT"),
    NonFiniteAmountError: Answer(500, "plain", "INTERNAL"),  # raised on the HTTP path only
    DuplicateEmailError: Answer(403, "detail", "INVALID_ARGUMENT"),
    CardsNotAllowedError: Answer(400, "detail", "FAILED_PRECONDITION"),
    ReceiptMissingError: Answer(500, "plain", "INTERNAL"),
    InjectedFaultError: Answer(503, "detail", "UNAVAILABLE"),
    PushbackError: Answer(429, "detail", "RESOURCE_EXHAUSTED"),
}


def answer_for(exc: StandError) -> Answer:
    """The answer of the most specific class in ``exc``'s hierarchy that the table lists."""
    return next(ANSWERS[cls] for cls in type(exc).__mro__ if cls in ANSWERS)
