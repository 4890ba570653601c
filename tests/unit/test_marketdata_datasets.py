"""Datasets (file or directory, venue sub-directories) and the real files in ../shared/data/market."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradeops.domain.errors import UserInputError
from tradeops.marketdata.datasets import load_dataset
from tradeops.marketdata.export import write_candles
from tradeops.marketdata.gaps import quality
from tradeops.marketdata.loaders import load_candles
from tradeops.marketdata.series import CandleSeries

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "market"
CANDLES = SHARED / "binance-spot-candles"


def _write(dest: Path, venue: str, symbol: str, interval: str = "5m") -> None:
    write_candles(
        CandleSeries.from_closes([1.0, 2.0, 3.0], symbol=symbol, venue=venue, interval=interval), dest
    )


def test_directory_with_venue_subdirectories_and_filters(tmp_path: Path) -> None:
    for venue in ("binance", "bybit"):
        for symbol in ("BTC/USDT", "ETH/USDT"):
            _write(tmp_path, venue, symbol)
    _write(tmp_path, "binance", "BTC/USDT", "1h")
    everything = load_dataset(tmp_path)
    assert [(s.venue, s.symbol, s.interval) for s in everything] == [
        ("binance", "BTC/USDT", "1h"),
        ("binance", "BTC/USDT", "5m"),
        ("binance", "ETH/USDT", "5m"),
        ("bybit", "BTC/USDT", "5m"),
        ("bybit", "ETH/USDT", "5m"),
    ]
    btc = load_dataset(tmp_path, symbols=["btcusdt"], interval="5m")
    assert [(s.venue, s.symbol) for s in btc] == [("binance", "BTC/USDT"), ("bybit", "BTC/USDT")]
    only_bybit = load_dataset(tmp_path, venue="bybit")
    assert {s.venue for s in only_bybit} == {"bybit"}


def test_flat_directory_and_single_file(tmp_path: Path) -> None:
    rows = [[1_700_000_100_000 + i * 300_000, 1.0, 1.0, 1.0, 1.0, 1.0] for i in range(4)]
    (tmp_path / "SOL_USDT-5m.json").write_text(json.dumps(rows))
    (tmp_path / "SOL_USDT-5m-mark.json").write_text(json.dumps(rows))  # not tradeable: skipped
    (tmp_path / "README.md").write_text("not data")
    (series,) = load_dataset(tmp_path)
    assert (series.venue, series.symbol, len(series)) == ("binance", "SOL/USDT", 4)
    assert load_dataset(tmp_path / "SOL_USDT-5m.json", symbols=["ETH/USDT"]) == []
    assert len(load_dataset(tmp_path / "SOL_USDT-5m.json", venue="kraken")) == 1


def test_duplicates_and_missing_paths_are_user_errors(tmp_path: Path) -> None:
    rows = [[1_700_000_100_000 + i * 300_000, 1.0, 1.0, 1.0, 1.0, 1.0] for i in range(2)]
    (tmp_path / "BTC_USDT-5m.json").write_text(json.dumps(rows))
    (tmp_path / "BTC_USDT-5m.csv").write_text(
        "timestamp,open,high,low,close,volume\n1700000100000,1,1,1,1,1\n"
    )
    with pytest.raises(UserInputError, match="is in both"):
        load_dataset(tmp_path)
    with pytest.raises(UserInputError, match="no such file or directory"):
        load_dataset(tmp_path / "missing")


def test_normalised_csv_round_trips_exactly(tmp_path: Path) -> None:
    original = CandleSeries.from_closes([0.1 + i / 3 for i in range(50)], symbol="LINK/USDT", volume=1 / 7)
    written = write_candles(original, tmp_path)
    assert written == tmp_path / "binance" / "LINK_USDT-5m.csv"
    loaded = load_candles(written)
    for column in ("ts", "open", "high", "low", "close", "volume"):
        assert getattr(loaded, column).tolist() == getattr(original, column).tolist()


needs_shared = pytest.mark.skipif(not CANDLES.is_dir(), reason="../shared/data/market is not present")


@needs_shared
@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("BTC_USDT-5m.json.gz", 65_741),
        ("ETH_USDT-5m.json.gz", 65_742),
        ("SOL_USDT-5m.json.gz", 65_744),
        ("XRP_USDT-5m.json.gz", 65_745),
        ("ADA_USDT-5m.json.gz", 65_740),
        ("BTC_USDT-1h.json.gz", 5_482),
    ],
)
def test_real_binance_candles_row_counts_and_the_six_outages(name: str, rows: int) -> None:
    series = load_candles(CANDLES / name)
    assert len(series) == rows
    report = quality(series)
    assert len(report.gaps) == 6
    expected_step = 4 * 3_600_000 + (45 * 60_000 if series.interval == "5m" else 0)
    assert report.largest_step_ms == expected_step


@needs_shared
def test_real_directory_filters_ten_pairs() -> None:
    series = load_dataset(CANDLES, interval="5m")
    assert len(series) == 10 and {s.interval for s in series} == {"5m"}
    assert [s.symbol for s in load_dataset(CANDLES, symbols=["BTC/USDT"], interval="1h")] == ["BTC/USDT"]


@needs_shared
def test_real_csv_files() -> None:
    daily = load_candles(SHARED / "binance-spot-daily" / "binance_btcusdt_day_2020.csv")
    assert (len(daily), daily.interval, quality(daily).gaps) == (366, "1d", ())
    four_hour = load_candles(SHARED / "binance-spot-4h" / "ETH_USDT-4h.csv")
    assert (len(four_hour), four_hour.interval) == (500, "4h")
    cross = load_dataset(SHARED / "cross-exchange-2022-12-13", symbols=["BTC/USDT"])
    assert [(s.venue, len(s)) for s in cross] == [("bybit", 1_440)]
    perp = load_candles(SHARED / "cross-exchange-2022-12-13" / "binance_coinm_BTCUSD_PERP_1m_trade.csv")
    assert (len(perp), len(quality(perp).gaps)) == (1_439, 1)
    with pytest.raises(UserInputError, match="quotes"):
        load_candles(SHARED / "cross-exchange-2022-12-13" / "bybit_spot_BTCUSDT_1m_quote.csv")
