"""End-of-run report: per-strategy table, summary JSON and equity-curve PNG."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tradeops.domain.money import decimal_str
from tradeops.fsutil import atomic_write_bytes, atomic_write_json
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


def write_equity_png(engine: TradingEngine, path: Path) -> Path | None:
    curve = engine.settings.equity_curve
    if len(curve) < 2:
        return None
    import io

    import matplotlib

    matplotlib.use("Agg")
    from datetime import UTC, datetime

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    step = max(1, len(curve) // 2000)
    points = curve[::step]
    times = mdates.date2num([datetime.fromtimestamp(ts / 1000, tz=UTC) for ts, _ in points])  # type: ignore[no-untyped-call]
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    ax.plot(times, [v for _, v in points], color="#1f6feb", linewidth=1.4, label="account equity")
    ax.axhline(
        float(engine.portfolio.initial_equity), color="#888", linestyle="--", linewidth=0.8, label="start"
    )
    ax.set_title(f"Equity curve: {engine.settings.environment} (paper, {len(engine.slots)} strategies)")
    ax.set_ylabel(engine.portfolio.quote_asset)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))  # type: ignore[no-untyped-call]
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def write_reports(engine: TradingEngine, directory: Path) -> dict[str, Path]:
    out = {"summary": atomic_write_json(directory / "summary.json", summary(engine))}
    png = write_equity_png(engine, directory / "equity_curve.png")
    if png is not None:
        out["equity_curve"] = png
    return out
