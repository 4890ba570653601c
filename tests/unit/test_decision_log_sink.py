"""FileDecisionSink: the runtime's DecisionRecords become signed entries; readers see them."""

from __future__ import annotations

from decimal import Decimal

from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.reader import iter_entries, tail
from tradeops.decision_log.sink import FileDecisionSink
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.events import DecisionRecord, DenialReason, order_denied, trading_state_changed
from tradeops.domain.trading import OrderRequest, Side, TradingState
from tradeops.runtime.ports import DecisionSink

KEY = SigningKey("runtime", b"k")


def test_records_become_entries(tmp_path):
    path = tmp_path / "binance_paper.jsonl"
    wall = iter([1_796_126_400_000, 1_796_126_400_001, 1_796_126_400_500])  # 2026-12-01T12:00Z
    sink: DecisionSink = FileDecisionSink(
        DecisionLogWriter(path, KEY), stage="binance_paper", wall_ms=lambda: next(wall)
    )
    sink.record(
        DecisionRecord("signal", "emitted", 1_767_225_600_123, {"strategy": "daily_trend"}, {"c": 0.5})
    )
    sink.record(
        trading_state_changed(1_767_225_600_123, "global", TradingState.ACTIVE, TradingState.HALTED, "kill")
    )
    sink.record(
        DecisionRecord("override", "applied", 1_767_225_601_000, {"x": 1}, stage="stage4", tags=("ops",))
    )
    sink.flush()
    entries = [entry for _n, entry in iter_entries(path)][1:]  # after the genesis entry
    # `timestamp` is when it was written (wall clock); `market_time` the event's time in the market.
    assert [e["timestamp"] for e in entries] == [
        "2026-12-01T12:00:00+00:00",
        "2026-12-01T12:00:00.001000+00:00",
        "2026-12-01T12:00:00.500000+00:00",
    ]
    assert [e["metadata"]["market_time"] for e in entries] == [
        "2026-01-01T00:00:00.123000+00:00",
        "2026-01-01T00:00:00.123000+00:00",
        "2026-01-01T00:00:01+00:00",
    ]
    assert [e["stage"] for e in entries] == ["binance_paper", "binance_paper", "stage4"]
    assert entries[1]["kind"] == "trading_state" and entries[1]["status"] == "halted"
    assert entries[1]["metadata"] == {
        "previous": "active",
        "reason": "kill",
        "ts_ms": 1_767_225_600_123,
        "market_time": "2026-01-01T00:00:00.123000+00:00",
    }
    assert entries[2]["tags"] == ["ops"]
    sink.close()
    assert verify_file(path, keyring={"runtime": KEY}, strict=True).ok


def test_order_records_keep_decimal_strings(tmp_path):
    path = tmp_path / "log.jsonl"
    order = OrderRequest(
        client_order_id="c-1",
        strategy="daily_trend",
        venue="binance",
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=Decimal("0.00001"),
        reference_price=Decimal("43123.50"),
        ts=1_767_225_600_000,
    )
    with DecisionLogWriter(path, KEY) as writer:
        FileDecisionSink(writer, "paper").record(
            order_denied(order, DenialReason.MIN_NOTIONAL, "below 10 USDT")
        )
    (entry,) = tail(path, 1)
    assert entry["metadata"]["quantity"] == "0.00001" and entry["metadata"]["reference_price"] == "43123.5"
    assert entry["metadata"]["reason"] == "min_notional"


def test_market_time_is_the_isoformat_of_the_event_time(tmp_path):
    from datetime import UTC, datetime

    path = tmp_path / "log.jsonl"
    sink = FileDecisionSink(DecisionLogWriter(path, KEY), stage="paper", wall_ms=lambda: 1_796_126_400_000)
    stamps = [1_767_225_600_000, 1_767_225_600_999, 1_767_225_601_001, 1_767_225_601_001, 1_767_225_599_999]
    stamps += [0, 1, -1, -1001, 253_402_300_799_999]  # the epoch, before it, the last ms of year 9999
    for ts in stamps:
        sink.record(DecisionRecord("signal", "emitted", ts, {"i": 1}))
    sink.close()
    written = [entry["metadata"]["market_time"] for _n, entry in list(iter_entries(path))[1:]]
    expected = [
        datetime.fromtimestamp(ts // 1000, tz=UTC).replace(microsecond=ts % 1000 * 1000).isoformat()
        for ts in stamps
    ]
    assert written == expected
