"""daily_trend on small hand-made series."""

from __future__ import annotations

from tradeops.config.models import DailyTrendParams
from tradeops.domain.trading import Signal
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.base import Holding, MarketView
from tradeops.strategies.daily_trend import DailyTrendStrategy

PARAMS = DailyTrendParams(
    fast_ma=3,
    slow_ma=6,
    breakout_lookback=5,
    momentum_window=3,
    atr_window=3,
    atr_multiplier=2.0,
    min_trend_strength=0.001,
    min_momentum=0.001,
)
KEY = ("binance", "BTC/USDT")


def _view(closes: list[float]) -> MarketView:
    candles = CandleSeries.from_closes(closes)
    store = SeriesStore()
    store.add_candles(candles)
    store.advance_to(candles.end_ms)
    return store.view()


def _long(avg_price: float, bars_held: int, quantity: float = 1.0) -> dict[tuple[str, str], Holding]:
    return {
        KEY: Holding(
            *KEY, weight=1.0, quantity=quantity, avg_price=avg_price, opened_ts=1, bars_held=bars_held
        )
    }


def _decide(
    closes: list[float],
    holdings: dict[tuple[str, str], Holding] | None = None,
    params: DailyTrendParams = PARAMS,
) -> list[Signal]:
    return DailyTrendStrategy(params).decide(_view(closes), ["binance"], ["BTC/USDT"], holdings or {})


FLAT = [100.0] * 10


def test_clean_breakout_buys_and_flat_market_does_nothing() -> None:
    assert _decide(FLAT) == []
    signals = _decide([*FLAT, 101.0])
    assert len(signals) == 1
    signal = signals[0]
    assert signal.strategy == "daily_trend"
    assert [(leg.venue, leg.symbol, leg.target_weight) for leg in signal.legs] == [
        ("binance", "BTC/USDT", 1.0)
    ]
    assert signal.metadata["action"] == "enter"
    assert signal.metadata["trend_strength"] > PARAMS.min_trend_strength
    assert 0.1 <= signal.confidence <= 1.0
    assert "breakout" in signal.reason


def test_breakout_against_the_trend_is_ignored() -> None:
    falling = [110.0 - i for i in range(11)]  # 110 .. 100
    assert _decide([*falling, 106.0]) == []  # above the last 5 highs, but the fast SMA is below the slow


def test_no_signal_while_history_is_shorter_than_required() -> None:
    strategy = DailyTrendStrategy(PARAMS)
    assert strategy.required_bars() == 6
    assert _decide([100.0, 100.0, 100.0, 100.0, 101.0]) == []


def test_reversal_exits_a_long() -> None:
    closes = [*FLAT, 101.0, 102.0, 103.0, 104.0, 105.0, 95.0]
    signals = _decide(closes, _long(avg_price=101.0, bars_held=5))
    assert len(signals) == 1
    assert signals[0].legs[0].target_weight == 0.0
    assert signals[0].metadata["action"] == "exit"
    assert "trend" in signals[0].reason


def test_holding_through_a_healthy_trend_emits_nothing() -> None:
    closes = [*FLAT, 101.0, 102.0, 103.0, 104.0, 105.0]
    assert _decide(closes, _long(avg_price=101.0, bars_held=4)) == []


def test_atr_trailing_stop_exits_while_the_trend_is_still_up() -> None:
    rising = [100.0 + i for i in range(31)]  # up to 130
    params = PARAMS.model_copy(update={"atr_multiplier": 1.0})
    signals = _decide([*rising, 126.0], _long(avg_price=110.0, bars_held=20), params)
    assert len(signals) == 1
    assert signals[0].reason.startswith("trailing stop")
    assert signals[0].metadata["peak_close"] == 130.0
    assert signals[0].metadata["trend_strength"] > 0


def test_never_goes_short_and_flattens_a_short_holding() -> None:
    signals = _decide(FLAT, _long(avg_price=100.0, bars_held=2, quantity=-1.0))
    assert [leg.target_weight for leg in signals[0].legs] == [0.0]
