"""`tradeops data`: import, inspect and generate candle data (gaps are reported, never filled)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from tradeops.domain.clock import ms_to_iso


def _when(ts_ms: int) -> str:
    return ms_to_iso(ts_ms)[:16].replace("T", " ")


def _as_dict(item: Any) -> dict[str, Any]:
    r = item.report
    return {
        "venue": r.venue,
        "symbol": r.symbol,
        "interval": r.interval,
        "source": r.source,
        "rows": r.rows,
        "first": ms_to_iso(r.first_ms),
        "last": ms_to_iso(r.last_ms),
        "expected_bars": r.expected_bars,
        "missing_bars": r.missing_bars,
        "ok_ratio": round(r.ok_ratio, 6),
        "zero_volume_bars": r.zero_volume_bars,
        "largest_step_ms": r.largest_step_ms,
        "gaps": [
            {"start": ms_to_iso(g.start_ms), "end": ms_to_iso(g.end_ms), "missing_bars": g.missing_bars}
            for g in r.gaps
        ],
        "written": str(item.written) if item.written else None,
    }


def _print(items: Sequence[Any], as_json: bool, max_gaps: int) -> None:
    if as_json:
        click.echo(json.dumps([_as_dict(i) for i in items], indent=2))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # piped or captured: do not squeeze the table to 80 columns
    table = Table(title="candle data")
    table.add_column("instrument", no_wrap=True)
    table.add_column("rows", justify="right")
    table.add_column("first bar .. last bar (UTC)", no_wrap=True)
    table.add_column("gaps", justify="right")
    table.add_column("missing", justify="right")
    table.add_column("ok", justify="right")
    table.add_column("zero vol", justify="right")
    for item in items:
        r = item.report
        table.add_row(
            f"{r.venue} {r.symbol} {r.interval}",
            str(r.rows),
            f"{_when(r.first_ms)} .. {_when(r.last_ms)}",
            str(len(r.gaps)),
            str(r.missing_bars),
            f"{r.ok_ratio:.4f}",
            str(r.zero_volume_bars),
        )
    console.print(table)
    for item in items:
        if item.written:
            console.print(f"wrote {item.written}", highlight=False)
    for item in items:
        r = item.report
        if not r.gaps:
            continue
        gaps = Table(title=f"gaps in {r.venue} {r.symbol} {r.interval} (reported, not filled)")
        for column in ("from (first missing bar)", "to (next bar)", "missing bars"):
            gaps.add_column(column)
        for gap in r.gaps[:max_gaps]:
            gaps.add_row(_when(gap.start_ms), _when(gap.end_ms), str(gap.missing_bars))
        if len(r.gaps) > max_gaps:
            gaps.add_row(f"... {len(r.gaps) - max_gaps} more", "", "")
        console.print(gaps)


_source_options = [
    click.option("--venue", default=None, help="Venue name (default: from the path, else binance)."),
    click.option("--symbol", default=None, help="Symbol, e.g. BTC/USDT (default: from the file name)."),
    click.option("--interval", default=None, help="Bar interval, e.g. 5m (default: from the name or data)."),
    click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
    click.option(
        "--max-gaps",
        type=click.IntRange(min=0),
        default=20,
        show_default=True,
        help="Gaps listed per series.",
    ),
]


def _with_source_options(func: Any) -> Any:
    for option in reversed(_source_options):
        func = option(func)
    return func


@click.group("data")
def data() -> None:
    """Import, inspect and generate candle data."""


@data.command("import")
@click.argument("src", type=click.Path(path_type=Path))
@_with_source_options
@click.option(
    "--dest",
    type=click.Path(path_type=Path),
    default=Path("var/data"),
    show_default=True,
    help="Writes <dest>/<venue>/<BASE>_<QUOTE>-<interval>.csv.",
)
def import_cmd(
    src: Path,
    venue: str | None,
    symbol: str | None,
    interval: str | None,
    as_json: bool,
    max_gaps: int,
    dest: Path,
) -> None:
    """Validate SRC (a candle file or directory) and store it as normalised CSV."""
    from tradeops.marketdata.export import import_candles

    _print(import_candles(src, dest, venue=venue, symbol=symbol, interval=interval), as_json, max_gaps)


@data.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@_with_source_options
def inspect_cmd(
    path: Path, venue: str | None, symbol: str | None, interval: str | None, as_json: bool, max_gaps: int
) -> None:
    """Report rows, time range and gaps of PATH (a candle file or directory)."""
    from tradeops.marketdata.export import inspect_candles

    _print(inspect_candles(path, venue=venue, symbol=symbol, interval=interval), as_json, max_gaps)


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@data.command("synthetic")
@click.option("--bars", type=click.IntRange(min=1), default=3000, show_default=True, help="Bars per series.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("var/data/synthetic"), show_default=True)
@click.option("--symbol", "symbols", multiple=True, help="Repeat or comma-separate (default BTC, ETH, SOL).")
@click.option("--venue", "venues", multiple=True, help="First is the reference (default binance,bybit).")
@click.option("--interval", default="5m", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def synthetic_cmd(
    bars: int,
    out: Path,
    symbols: Sequence[str],
    venues: Sequence[str],
    interval: str,
    seed: int,
    as_json: bool,
) -> None:
    """Write the deterministic synthetic market as normalised CSV files."""
    from tradeops.marketdata.export import write_synthetic

    items = write_synthetic(
        out,
        bars,
        _split(symbols) or ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
        _split(venues) or ["binance", "bybit"],
        interval,
        seed,
    )
    _print(items, as_json, 0)
