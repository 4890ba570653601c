"""Translate vendor (ccxt) exceptions into our error families, once, in one place; and classify
them for the retry logic: refused before processing (safe to resend), outcome unknown (query the
client order id first), or rejected for good. ccxt (a second of imports) is loaded on first use:
the paper path raises these errors but never meets a vendor exception."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from tradeops.domain.errors import Fatal, Skipped, Temporary, UnknownOutcome
from tradeops.domain.events import DenialReason


class ExchangeTemporary(Temporary):
    """Network trouble, rate limits, maintenance: retry later."""


class OrderRejected(Skipped):
    """The venue refused this order (funds, size, symbol); skip it."""


class PrecisionDenied(OrderRejected):
    """Denied before it left: below the venue's minimum size or notional, or above our cap."""

    def __init__(self, reason: DenialReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason


class OutcomeUnknown(ExchangeTemporary, UnknownOutcome):
    """The venue may or may not hold this order and repeated queries could not tell: the order's
    instrument needs reconciliation before anything else is sent for it."""


class ExchangeFatal(Fatal):
    """Credentials or permissions are wrong: stop."""


@contextmanager
def translate_vendor_errors(venue: str) -> Iterator[None]:
    import ccxt

    try:
        yield
    except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
        raise ExchangeFatal(f"{venue}: {type(exc).__name__}: {exc}") from exc
    except (
        ccxt.InsufficientFunds,
        ccxt.InvalidOrder,
        ccxt.BadSymbol,
        ccxt.OrderNotFound,
        ccxt.BadRequest,
        ccxt.OperationRejected,
    ) as exc:
        raise OrderRejected(f"{venue}: {type(exc).__name__}: {exc}") from exc
    except (ccxt.NetworkError, ccxt.ExchangeNotAvailable, ccxt.RateLimitExceeded) as exc:
        raise ExchangeTemporary(f"{venue}: {type(exc).__name__}: {exc}") from exc
    except ccxt.BaseError as exc:
        raise ExchangeTemporary(f"{venue}: {type(exc).__name__}: {exc}") from exc


def is_rate_limited(exc: BaseException) -> bool:
    """429/418 or a venue rate-limit code: the request was refused before it was processed."""
    import ccxt

    return isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded)


def is_banned(exc: BaseException) -> bool:
    """HTTP 418: the IP is banned until Retry-After."""
    import ccxt

    return isinstance(exc, ccxt.DDoSProtection) and re.search(r"\b418\b", str(exc)) is not None


def is_refused_before_processing(exc: BaseException) -> bool:
    """Safe to resend as is: rate limited, or the timestamp/recvWindow check refused it."""
    import ccxt

    return is_rate_limited(exc) or isinstance(exc, ccxt.InvalidNonce)


def outcome_unknown(exc: BaseException) -> bool:
    """Timeout, dropped connection, 5xx, garbled answer: the venue may have acted on it."""
    import ccxt

    return isinstance(exc, ccxt.OperationFailed) and not is_refused_before_processing(exc)


def is_duplicate_order(exc: BaseException) -> bool:
    """Binance -2010 "Duplicate order sent.": an open order already has this client order id."""
    import ccxt

    return isinstance(exc, ccxt.InvalidOrder) and "Duplicate order" in str(exc)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The venue's Retry-After header (seconds), if it sent one."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None
