"""Compose the exchange simulator: its market from the synthetic generator or candle files."""

from __future__ import annotations

from tradeops.domain.errors import UserInputError
from tradeops.exchanges.sim.server import SimOptions, serve
from tradeops.marketdata.series import CandleSeries

__all__ = ["SimOptions", "serve_simulator", "simulator_series"]


def simulator_series(opts: SimOptions) -> list[CandleSeries]:
    """One candle series per symbol: the deterministic synthetic market, or `opts.data`."""
    if opts.data is None:
        from tradeops.marketdata.synthetic import synthetic_market

        bars = opts.history + 20_000
        generated = synthetic_market(list(opts.symbols), ["binance"], bars, opts.interval, opts.seed)
        return [s for s in generated if s.venue == "binance"]
    from tradeops.marketdata.datasets import load_dataset

    by_symbol: dict[str, CandleSeries] = {}
    for s in load_dataset(opts.data, symbols=list(opts.symbols), interval=opts.interval):
        if s.symbol not in by_symbol or s.venue == opts.venue:
            by_symbol[s.symbol] = s
    if not by_symbol:
        raise UserInputError(f"--data {opts.data}: no {opts.interval} candles for {', '.join(opts.symbols)}")
    return list(by_symbol.values())


def serve_simulator(opts: SimOptions) -> None:
    serve(opts, simulator_series(opts))
