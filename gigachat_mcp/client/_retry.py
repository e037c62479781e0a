"""When to try a request again: 429, 5xx and connection failures, with jittered backoff; nothing else.

Pure decisions, shared by the sync and async clients. The clients consult a plan only before any chunk of an
answer has been handed out, so nothing is ever repeated to the caller.
"""

from __future__ import annotations

import random
from contextvars import ContextVar

from ._errors import APIError, GigaChatConnectionError, GigaChatError, RateLimitError

__all__ = ["RATE_LIMITS_TO_CALLER", "RetryPlan"]

MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 30.0  # a server asking for a longer pause gets the RateLimitError at once
# Set (in its tasks' context) by a map run, whose shared gate pauses every worker on a 429: the request itself
# then raises the RateLimitError at once instead of each worker backing off and retrying on its own.
RATE_LIMITS_TO_CALLER: ContextVar[bool] = ContextVar("gigachat_rate_limits_to_caller", default=False)


class RetryPlan:
    """The retry budget of one call."""

    __slots__ = ("_left", "_factor", "_attempt", "reauthorized", "no_duplicates")

    def __init__(self, max_retries: int, backoff_factor: float, *, no_duplicates: bool = False) -> None:
        self._left = max_retries
        self._factor = backoff_factor
        self._attempt = 0
        self.reauthorized = False  # one token refresh per call, on the first 401
        # Uploads: retry only what the service certainly did not store (nothing sent, or refused with 429), so
        # a retry can never leave two copies. A 5xx or a connection lost after sending is raised at once.
        self.no_duplicates = no_duplicates

    def delay_for(self, error: GigaChatError, *, sent: bool = True) -> float:
        """Seconds to wait before the next try; raises `error` if it should not be retried. `sent` is False
        when the request certainly did not reach the server (the connection was never made)."""
        if self.no_duplicates and sent and not isinstance(error, RateLimitError):
            raise error from None
        if isinstance(error, RateLimitError) and RATE_LIMITS_TO_CALLER.get():
            raise error from None
        if self._left <= 0 or not _retryable(error):
            raise error from None  # the typed message says it all; the transport's traceback is noise
        self._left -= 1
        self._attempt += 1
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        base = self._factor * 2 ** (self._attempt - 1)
        return min(MAX_BACKOFF_S, base + random.uniform(0, base))


def _retryable(error: GigaChatError) -> bool:
    if isinstance(error, RateLimitError):
        return error.retry_after is None or error.retry_after <= MAX_RETRY_AFTER_S
    if isinstance(error, APIError):
        return error.status_code >= 500
    return isinstance(error, GigaChatConnectionError)
