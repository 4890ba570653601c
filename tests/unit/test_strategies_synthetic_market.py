"""Over the synthetic market, each shipped strategy (config/core.yaml parameters) enters and exits
when driven bar by bar through SeriesStore.advance_to, with holdings that follow its signals."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.marketdata.series_store import SeriesStore
from tradeops.marketdata.synthetic import synthetic_market
from tradeops.strategies.base import Holding
from tradeops.strategies.registry import build_strategies

CONFIG = Path(__file__).resolve().parents[2] / "config" / "core.yaml"
ENTRY_ACTIONS = {"enter", "increase"}
EXIT_ACTIONS = {"exit", "reduce"}


def _replay(cfg: AppConfig, n_bars: int, seed: int) -> Counter[tuple[str, str]]:
    schedules = cfg.scheduler().schedules
    symbols = sorted({s for sched in schedules.values() for s in sched.symbols})
    venues = sorted({v for sched in schedules.values() for v in sched.venues})
    store = SeriesStore()
    for candles in synthetic_market(symbols, venues, n_bars, seed=seed):
        store.add_candles(candles)
    interval = store.interval_ms(*store.instruments()[0])
    strategies = build_strategies(cfg.strategies, schedules)
    books: dict[str, dict[tuple[str, str], Holding]] = {name: {} for name in strategies}
    actions: Counter[tuple[str, str]] = Counter()
    while (now := store.next_reveal_ms()) is not None:
        store.advance_to(now)
        view = store.view()
        for name, strategy in strategies.items():
            sched = schedules[name]
            warmup = max(sched.warmup_bars, strategy.required_bars())
            if any(view.bar_count(v, s) < warmup for v in sched.venues for s in sched.symbols):
                continue
            book = books[name]
            held = {k: _aged(h, now, interval) for k, h in book.items()}
            for signal in strategy.decide(view, sched.venues, sched.symbols, held):
                actions[(name, str(signal.metadata["action"]))] += 1
                for leg in signal.legs:
                    key = (leg.venue, leg.symbol)
                    if leg.target_weight == 0.0:
                        book.pop(key, None)
                    else:
                        opened = book[key].opened_ts if key in book else now
                        price = view.last(*key)
                        book[key] = Holding(*key, leg.target_weight, leg.target_weight, price, opened, 0)
    return actions


def _aged(h: Holding, now: int, interval: int) -> Holding:
    return Holding(
        h.venue, h.symbol, h.weight, h.quantity, h.avg_price, h.opened_ts, (now - h.opened_ts) // interval
    )


@pytest.mark.parametrize("seed", [7, 11])
def test_every_strategy_enters_and_exits_within_3000_bars(seed: int) -> None:
    cfg = load_config(CONFIG)
    actions = _replay(cfg, 3000, seed)
    for name in cfg.scheduler().schedules:
        entries = sum(n for (s, a), n in actions.items() if s == name and a in ENTRY_ACTIONS)
        exits = sum(n for (s, a), n in actions.items() if s == name and a in EXIT_ACTIONS)
        assert entries > 0, f"{name} never entered: {actions}"
        assert exits > 0, f"{name} never exited: {actions}"
