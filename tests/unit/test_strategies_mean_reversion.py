"""mean_reversion on small hand-made series."""

from __future__ import annotations

from tradeops.config.models import MeanReversionParams
from tradeops.domain.trading import Signal
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.base import Holding
from tradeops.strategies.mean_reversion import MeanReversionStrategy

PARAMS = MeanReversionParams(
    lookback=10,
    entry_zscore=1.5,
    exit_zscore=0.3,
    max_holding_bars=3,
    volatility_cap=0.05,
    min_volume_usd=1_000.0,
    allow_short=False,
)
KEY = ("binance", "ETH/USDT")
CHOP = [100.0 if i % 2 else 101.0 for i in range(20)]


def _decide(
    closes: list[float],
    holdings: dict[tuple[str, str], Holding] | None = None,
    params: MeanReversionParams = PARAMS,
    volume: float = 100.0,
) -> list[Signal]:
    candles = CandleSeries.from_closes(closes, symbol="ETH/USDT", volume=volume)
    store = SeriesStore()
    store.add_candles(candles)
    store.advance_to(candles.end_ms)
    return MeanReversionStrategy(params).decide(store.view(), ["binance"], ["ETH/USDT"], holdings or {})


def _held(quantity: float, bars_held: int) -> dict[tuple[str, str], Holding]:
    return {
        KEY: Holding(
            *KEY, weight=quantity, quantity=quantity, avg_price=97.0, opened_ts=1, bars_held=bars_held
        )
    }


def test_sharp_drop_in_a_calm_liquid_market_buys() -> None:
    assert _decide(CHOP) == []
    signals = _decide([*CHOP, 97.0])
    assert len(signals) == 1
    assert signals[0].legs[0].target_weight == 1.0
    assert signals[0].metadata["zscore"] <= -PARAMS.entry_zscore
    assert signals[0].metadata["action"] == "enter"


def test_spike_is_shorted_only_when_allowed() -> None:
    assert _decide([*CHOP, 104.0]) == []
    signals = _decide([*CHOP, 104.0], params=PARAMS.model_copy(update={"allow_short": True}))
    assert [leg.target_weight for leg in signals[0].legs] == [-1.0]


def test_thin_or_volatile_markets_get_no_entry() -> None:
    assert _decide([*CHOP, 97.0], volume=1.0) == []  # ~100 USD per bar < 1000
    assert _decide([*CHOP, 97.0], params=PARAMS.model_copy(update={"volatility_cap": 0.001})) == []


def test_reversion_to_the_mean_exits() -> None:
    signals = _decide([*CHOP, 97.0, 100.5], _held(1.0, bars_held=1))
    assert [leg.target_weight for leg in signals[0].legs] == [0.0]
    assert signals[0].reason.startswith("reverted")


def test_still_stretched_position_is_kept_until_max_holding() -> None:
    assert _decide([*CHOP, 97.0], _held(1.0, bars_held=1)) == []
    signals = _decide([*CHOP, 97.0], _held(1.0, bars_held=3))
    assert signals[0].reason.startswith("held 3 bars")


def test_volatility_above_one_and_a_half_caps_exits() -> None:
    params = PARAMS.model_copy(update={"volatility_cap": 0.005})
    signals = _decide([*CHOP, 97.0], _held(1.0, bars_held=0), params=params)
    assert signals[0].reason.startswith("volatility")
    assert signals[0].metadata["regime"] == "volatile"


def test_short_exit_mirrors_the_long_one() -> None:
    params = PARAMS.model_copy(update={"allow_short": True})
    assert _decide([*CHOP, 104.0], _held(-1.0, bars_held=1), params=params) == []
    signals = _decide([*CHOP, 104.0, 100.5], _held(-1.0, bars_held=1), params=params)
    assert signals[0].reason.startswith("reverted")
