"""End-of-run report: the per-strategy table and the counters of the summary (run_summary adds the rest)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from tradeops.domain.money import decimal_str
from tradeops.runtime.engine import TradingEngine

CENT = Decimal("0.01")


@dataclass(frozen=True)
class StrategyRow:
    strategy: str
    risk_profile: str
    signals: int
    orders: int
    fills: int
    denials: int
    fees: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    max_drawdown_ratio: float
    allocation_used: Decimal
    allocation_allowed: Decimal
    state: str


def strategy_rows(engine: TradingEngine) -> list[StrategyRow]:
    rows = []
    for name, s in engine.stats.strategies.items():
        rows.append(
            StrategyRow(
                strategy=name,
                risk_profile=engine.risk_bucket(name),
                signals=s.signals,
                orders=s.orders,
                fills=s.fills,
                denials=sum(s.denials.values()),
                fees=s.fees,
                realized_pnl=s.realized_pnl,
                unrealized_pnl=s.unrealized_pnl,
                max_drawdown_ratio=s.max_drawdown_ratio,
                allocation_used=s.allocation_used,
                allocation_allowed=s.allocation_allowed,
                state="disabled" if s.disabled else s.trading_state.value,
            )
        )
    return rows


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def render_table(engine: TradingEngine, console: Console) -> None:
    if not console.is_terminal:
        console.width = max(console.width, 170)  # logs and CI: do not squeeze the columns
    kind = "Live run" if engine.settings.live else "Paper run"
    table = Table(title=f"{kind} on {engine.settings.environment}: per-strategy results")
    for header in (
        "strategy",
        "bucket",
        "signals",
        "orders",
        "fills",
        "denied",
        "fees",
        "realized PnL",
        "unrealized PnL",
        "max DD",
        "alloc used / allowed",
        "state",
    ):
        table.add_column(header, justify="left" if header in ("strategy", "bucket", "state") else "right")
    for row in strategy_rows(engine):
        table.add_row(
            row.strategy,
            row.risk_profile,
            str(row.signals),
            str(row.orders),
            str(row.fills),
            str(row.denials),
            _money(row.fees),
            _money(row.realized_pnl),
            _money(row.unrealized_pnl),
            f"{row.max_drawdown_ratio:.2%}",
            f"{_money(row.allocation_used)} / {_money(row.allocation_allowed)}",
            row.state,
        )
    console.print(table)
    book = engine.portfolio
    console.print(
        f"equity {_money(book.equity())} {book.quote_asset} (start {_money(book.initial_equity)}), "
        f"open positions {book.open_position_count()}"
    )


def _amount(value: Decimal) -> str:
    return decimal_str(value.quantize(CENT)) if value.is_finite() else str(value)


def summary(engine: TradingEngine) -> dict[str, Any]:
    return {
        "environment": engine.settings.environment,
        "equity": _amount(engine.portfolio.equity()),
        "initial_equity": _amount(engine.portfolio.initial_equity),
        "strategies": {
            r.strategy: {
                "risk_budget_bucket": r.risk_profile,
                "signals": r.signals,
                "orders": r.orders,
                "fills": r.fills,
                "denials": r.denials,
                "fees": _amount(r.fees),
                "realized_pnl": _amount(r.realized_pnl),
                "unrealized_pnl": _amount(r.unrealized_pnl),
                "max_drawdown_ratio": round(r.max_drawdown_ratio, 6),
                "allocation_used": _amount(r.allocation_used),
                "allocation_allowed": _amount(r.allocation_allowed),
                "state": r.state,
            }
            for r in strategy_rows(engine)
        },
    }
