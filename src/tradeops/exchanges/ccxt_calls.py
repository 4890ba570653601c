"""Calling a ccxt venue: retries of temporary failures with exponential backoff that honours the
venue's Retry-After, bounded in attempts and in total wait (then the failure is raised: the caller
fails closed). Only idempotent requests go through `call`; order placement has its own protocol."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import ccxt

from tradeops.exchanges.errors import ExchangeTemporary, is_banned, retry_after_seconds

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_s: float = 0.2  # first wait; doubles each retry
    max_backoff_s: float = 5.0
    max_wait_s: float = 30.0  # a Retry-After beyond this is not waited out: the call fails

    def delay(self, attempt: int, retry_after: float | None) -> float:
        own = min(self.backoff_s * float(2**attempt), self.max_backoff_s)
        return max(own, retry_after or 0.0)


class VenueCaller:
    """Runs requests against one ccxt exchange object with the retry policy."""

    def __init__(
        self,
        exchange: Any,
        venue: str,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.exchange = exchange
        self.venue = venue
        self.policy = policy
        self.sleep = sleep
        self.retries = 0  # temporary failures retried (health metric)
        self.waited_s = 0.0

    def wait_before_retry(self, exc: BaseException, attempt: int) -> None:
        """Sleep before retry `attempt`, or raise when retrying is not allowed any more."""
        retry_after = retry_after_seconds(getattr(self.exchange, "last_response_headers", None))
        delay = self.policy.delay(attempt, retry_after)
        if attempt >= self.policy.max_retries or delay > self.policy.max_wait_s or is_banned(exc):
            raise ExchangeTemporary(
                f"{self.venue}: {type(exc).__name__} after {attempt + 1} attempts"
                f"{f' (Retry-After {retry_after:g}s)' if retry_after else ''}: {exc}"
            ) from exc
        self.retries += 1
        self.waited_s += delay
        self.sleep(delay)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call an idempotent request, retrying network errors, 5xx and rate limits."""
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except ccxt.OperationFailed as exc:  # network, timeout, 5xx, 429/418, bad answer
                self.wait_before_retry(exc, attempt)
                attempt += 1
