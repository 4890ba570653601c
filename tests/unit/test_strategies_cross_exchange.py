"""cross_exchange: two-legged entries on dislocated quotes, joint exits, stale quotes ignored."""

from __future__ import annotations

import pytest

from tradeops.config.models import CrossExchangeParams
from tradeops.domain.market import Quote
from tradeops.domain.trading import Signal
from tradeops.marketdata.series import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.strategies.base import Holding
from tradeops.strategies.cross_exchange import CrossExchangeStrategy

PARAMS = CrossExchangeParams()  # binance / bybit, entry 0.18 %, exit 0.06 %, 180 s, 5 s quotes
SYMBOL = "BTC/USDT"


def _store(primary_close: float = 100.0, secondary_close: float = 100.0) -> tuple[SeriesStore, int]:
    store = SeriesStore()
    for venue, close in (("binance", primary_close), ("bybit", secondary_close)):
        store.add_candles(CandleSeries.from_closes([close] * 3, venue=venue))
    end = CandleSeries.from_closes([1.0] * 3).end_ms
    store.advance_to(end)
    return store, end


def _quote(venue: str, ts: int, bid: float, ask: float) -> Quote:
    return Quote(venue, SYMBOL, ts, bid, ask, 1.0, 1.0)


def _holdings(primary: float, secondary: float, opened_ts: int) -> dict[tuple[str, str], Holding]:
    out = {}
    for venue, qty in (("binance", primary), ("bybit", secondary)):
        if qty:
            out[(venue, SYMBOL)] = Holding(venue, SYMBOL, qty * 0.4, qty, 100.0, opened_ts, 1)
    return out


def _decide(store: SeriesStore, holdings: dict[tuple[str, str], Holding] | None = None) -> list[Signal]:
    return CrossExchangeStrategy(PARAMS).decide(store.view(), ["binance", "bybit"], [SYMBOL], holdings or {})


def test_rich_secondary_buys_primary_and_sells_secondary_in_one_signal() -> None:
    store, now = _store()
    store.set_quote(_quote("binance", now, 99.99, 100.00))
    store.set_quote(_quote("bybit", now, 100.30, 100.31))
    signals = _decide(store)
    assert len(signals) == 1
    primary, secondary = signals[0].legs
    assert (primary.venue, secondary.venue) == ("binance", "bybit")
    assert primary.target_weight > 0 and secondary.target_weight == -primary.target_weight
    ratio = (100.30 - 100.00) / 100.31
    assert signals[0].metadata["spread_ratio"] == pytest.approx(ratio)
    assert primary.target_weight == pytest.approx(0.5 * min(1.0, ratio / (2 * PARAMS.spread_entry)))
    assert signals[0].metadata["direction"] == "long_primary_short_secondary"


def test_rich_primary_is_the_mirror_image() -> None:
    store, now = _store()
    store.set_quote(_quote("binance", now, 100.30, 100.31))
    store.set_quote(_quote("bybit", now, 99.99, 100.00))
    (signal,) = _decide(store)
    assert signal.legs[0].target_weight < 0 < signal.legs[1].target_weight
    assert signal.legs[0].target_weight == -signal.legs[1].target_weight


def test_spread_below_entry_or_stale_quotes_do_nothing() -> None:
    store, now = _store()
    store.set_quote(_quote("binance", now, 99.99, 100.00))
    store.set_quote(_quote("bybit", now, 100.10, 100.11))  # 0.10 % < 0.18 %
    assert _decide(store) == []
    dislocated, end = _store(100.0, 100.4)  # quotes synthesised from closes, as of the bar close
    assert len(_decide(dislocated)) == 1
    dislocated.advance_to(end + PARAMS.max_quote_age_ms + 1)  # no newer bar or quote since
    assert _decide(dislocated) == []


def test_converged_spread_closes_both_legs() -> None:
    store, now = _store()
    store.set_quote(_quote("binance", now, 100.00, 100.01))
    store.set_quote(_quote("bybit", now, 100.02, 100.03))
    (signal,) = _decide(store, _holdings(1.0, -1.0, opened_ts=now - 30_000))
    assert [(leg.venue, leg.target_weight) for leg in signal.legs] == [("binance", 0.0), ("bybit", 0.0)]
    assert signal.reason.startswith("spread converged")
    assert signal.confidence == 1.0


def test_open_pair_is_kept_while_the_spread_stays_wide() -> None:
    store, now = _store()
    store.set_quote(_quote("binance", now, 99.99, 100.00))
    store.set_quote(_quote("bybit", now, 100.30, 100.31))
    assert _decide(store, _holdings(1.0, -1.0, opened_ts=now - 30_000)) == []


def test_pair_is_closed_after_max_open_seconds_even_on_stale_quotes() -> None:
    store, end = _store(100.0, 100.4)
    later = end + 200_000
    store.advance_to(later)
    (signal,) = _decide(store, _holdings(1.0, -1.0, opened_ts=end))
    assert signal.reason.startswith("open 200s")
    assert {leg.target_weight for leg in signal.legs} == {0.0}


def test_an_unpaired_leg_is_closed_on_both_venues() -> None:
    store, now = _store(100.0, 100.4)
    (signal,) = _decide(store, _holdings(1.0, 0.0, opened_ts=now))
    assert signal.reason.startswith("unpaired")
    assert [leg.venue for leg in signal.legs] == ["binance", "bybit"]
