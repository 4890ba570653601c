"""Translate vendor (ccxt) exceptions into our error families, once, in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import ccxt

from tradeops.domain.errors import Fatal, Skipped, Temporary


class ExchangeTemporary(Temporary):
    """Network trouble, rate limits, maintenance: retry later."""


class OrderRejected(Skipped):
    """The venue refused this order (funds, size, symbol); skip it."""


class ExchangeFatal(Fatal):
    """Credentials or permissions are wrong: stop."""


@contextmanager
def translate_vendor_errors(venue: str) -> Iterator[None]:
    try:
        yield
    except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
        raise ExchangeFatal(f"{venue}: {type(exc).__name__}: {exc}") from exc
    except (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadSymbol, ccxt.OrderNotFound) as exc:
        raise OrderRejected(f"{venue}: {type(exc).__name__}: {exc}") from exc
    except (ccxt.NetworkError, ccxt.ExchangeNotAvailable, ccxt.RateLimitExceeded) as exc:
        raise ExchangeTemporary(f"{venue}: {type(exc).__name__}: {exc}") from exc
    except ccxt.BaseError as exc:
        raise ExchangeTemporary(f"{venue}: {type(exc).__name__}: {exc}") from exc
