"""The retry policy every gateway call of a run shares: tenacity, transient errors only.

Exponential backoff with jitter so a struggling gateway is not hammered in lockstep; a cap on
attempts; permanent errors (404, 422, duplicate email, ...) fail at once. The predicate is
``is_transient`` from the error module: classification lives there, not here.
"""

from __future__ import annotations

from collections.abc import Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from .._exceptions import is_transient

__all__ = ["retry_policy"]


def retry_policy(
    retries: int,
    *,
    initial_wait: float = 0.05,
    max_wait: float = 2.0,
    on_retry: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    """Up to ``retries`` more attempts after the first, waiting ~``initial_wait``·2ⁿ (≤ ``max_wait``)."""
    return AsyncRetrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential_jitter(multiplier=initial_wait, max=max_wait, jitter=initial_wait),
        retry=retry_if_exception(is_transient),
        before_sleep=on_retry,
        reraise=True,
    )
