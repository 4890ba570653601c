"""Per-endpoint request metrics of a live venue: bounded endpoint labels, the venue's used weight,
failures by error class; measured around the client's own `fetch` (a fake client here)."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from tradeops.exchanges.venue_metrics import endpoint_of, instrument, used_weight
from tradeops.runtime.stats import VenueRequestStats


def test_endpoints_are_method_and_path_without_host_query_or_ids():
    assert endpoint_of("post", "http://127.0.0.1:8765/api/v3/order?symbol=BTCUSDT&signature=ab") == (
        "POST /api/v3/order"
    )
    key = "k" * 60
    assert endpoint_of("PUT", f"https://api.binance.com/api/v3/userDataStream/{key}") == (
        "PUT /api/v3/userDataStream/{id}"
    )
    assert endpoint_of("GET", "https://x/api/v3/order/123456") == "GET /api/v3/order/{id}"


def test_used_weight_reads_the_header_in_any_case():
    assert used_weight({"X-MBX-USED-WEIGHT-1M": "37"}) == 37.0
    assert used_weight({"x-mbx-used-weight-1m": "5"}) == 5.0
    assert used_weight({"Content-Type": "json"}) is None
    assert used_weight(None) is None


class FakeClient:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.last_response_headers: dict[str, str] | None = None

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        answer, weight = self.answers.pop(0)
        self.last_response_headers = {"X-MBX-USED-WEIGHT-1M": str(weight)}
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_every_request_is_timed_per_endpoint_and_failures_are_counted_by_class():
    ticks = iter([0.0, 0.25, 1.0, 1.5, 2.0, 4.5])
    client = FakeClient(
        [({"ok": 1}, 3), (ccxt.RequestTimeout("slow"), 7), (ccxt.RateLimitExceeded("429"), 9)]
    )
    stats = instrument(client, VenueRequestStats(), clock=lambda: next(ticks))
    assert client.fetch("http://h/api/v3/time", "GET") == {"ok": 1}
    with pytest.raises(ccxt.RequestTimeout):
        client.fetch("http://h/api/v3/order?x=1", "POST")
    with pytest.raises(ccxt.RateLimitExceeded):
        client.fetch("http://h/api/v3/order", "POST")
    assert stats.latency["GET /api/v3/time"].count == 1 and stats.latency["GET /api/v3/time"].total == 0.25
    assert stats.latency["POST /api/v3/order"].count == 2 and stats.latency["POST /api/v3/order"].total == 3.0
    assert dict(stats.errors) == {"RequestTimeout": 1, "RateLimitExceeded": 1}
    assert stats.used_weight == 9.0  # the venue's figure in its last answer
