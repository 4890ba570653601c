"""Per-endpoint health of a live venue, measured where every REST request of the ccxt client
passes (`Exchange.fetch`): latency per endpoint, failures by error class, the request weight the
venue says is used (Binance: `X-MBX-USED-WEIGHT-1M`). Written into a `VenueRequestStats` the
metrics exporter reads; the client and its answers are untouched."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from tradeops.runtime.stats import Histogram, VenueRequestStats

WEIGHT_HEADER = "x-mbx-used-weight-1m"
_ID_SEGMENT = re.compile(r"/(?:\d+|[A-Za-z0-9_-]{40,})(?=/|$)")  # ids and keys in a path: one label


def endpoint_of(method: str, url: str) -> str:
    """`GET /api/v3/order`: the method and path, without query, host or ids (bounded labels)."""
    path = _ID_SEGMENT.sub("/{id}", urlsplit(url).path) or "/"
    return f"{method.upper()} {path}"


def used_weight(headers: Mapping[str, Any] | None) -> float | None:
    if not headers:
        return None
    for name, value in headers.items():
        if str(name).lower() == WEIGHT_HEADER:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def instrument(
    client: Any, stats: VenueRequestStats, clock: Callable[[], float] = time.perf_counter
) -> VenueRequestStats:
    """Measure every REST request `client` makes into `stats` (wraps the instance's `fetch`)."""
    fetch = client.fetch

    def measured(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        endpoint = endpoint_of(method, url)
        started = clock()
        try:
            return fetch(url, method, headers, body)
        except Exception as exc:
            stats.errors[type(exc).__name__] += 1
            raise
        finally:
            stats.latency.setdefault(endpoint, Histogram()).observe(clock() - started)
            weight = used_weight(getattr(client, "last_response_headers", None))
            if weight is not None:
                stats.used_weight = weight

    client.fetch = measured
    return stats
