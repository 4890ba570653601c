"""Candle loaders on tiny temp files: formats, name inference, and one-line errors for bad files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tradeops.domain.errors import UserInputError
from tradeops.marketdata.loaders import load_candles
from tradeops.marketdata.names import normalize_symbol, parse_name

T0 = 1_700_000_100_000
ROWS = [
    [T0, 10.0, 11.0, 9.5, 10.5, 3.0],
    [T0 + 300_000, 10.5, 12.0, 10.0, 11.5, 4.0],
    [T0 + 600_000, 11.5, 11.6, 10.9, 11.0, 0.0],
]


def _csv(path: Path, header: str, rows: list[list[object]]) -> Path:
    lines = [header] if header else []
    lines += [",".join(str(x) for x in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_with_ms_timestamps_and_name_inference(tmp_path: Path) -> None:
    series = load_candles(_csv(tmp_path / "ETH_USDT-5m.csv", "timestamp,open,high,low,close,volume", ROWS))
    assert (series.venue, series.symbol, series.interval, series.interval_ms) == (
        "binance",
        "ETH/USDT",
        "5m",
        300_000,
    )
    assert len(series) == 3
    assert series.ts.tolist() == [r[0] for r in ROWS]
    assert series.close.tolist() == [10.5, 11.5, 11.0]
    bars = series.to_bars()
    assert bars[1].high == 12.0 and bars[1].ts == T0 + 300_000 and bars[1].symbol == "ETH/USDT"
    assert series.end_ms == T0 + 900_000


def test_csv_in_seconds_and_iso_dates_and_no_header(tmp_path: Path) -> None:
    seconds = [[r[0] // 1000, *r[1:]] for r in ROWS]
    a = load_candles(_csv(tmp_path / "a.csv", "time,open,high,low,close,volume", seconds), symbol="btc_usdt")
    assert a.ts.tolist() == [r[0] for r in ROWS]
    assert a.symbol == "BTC/USDT" and a.interval == "5m"  # interval inferred from the bar step
    days = [[f"2020-01-0{i + 1} 00:00:00", *r[1:]] for i, r in enumerate(ROWS)]
    b = load_candles(
        _csv(tmp_path / "binance_btcusdt_day_2020.csv", "datetime,open,high,low,close,volume", days)
    )
    assert b.interval == "1d" and b.symbol == "BTC/USDT"
    assert b.ts[0] == 1_577_836_800_000
    c = load_candles(_csv(tmp_path / "SOL_USDT-5m.csv", "", ROWS), venue="kraken")
    assert c.venue == "kraken" and len(c) == 3


def test_freqtrade_json_and_json_gz(tmp_path: Path) -> None:
    plain = tmp_path / "XRP_USDT-5m.json"
    plain.write_text(json.dumps(ROWS))
    packed = tmp_path / "XRP_USDT-5m.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(ROWS).encode()))
    a, b = load_candles(plain), load_candles(packed)
    assert a.symbol == b.symbol == "XRP/USDT"
    np.testing.assert_array_equal(a.close, b.close)
    np.testing.assert_array_equal(a.ts, b.ts)


def test_null_volume_reads_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "XRP_USDT_USDT-5m-mark.json"
    path.write_text(json.dumps([[*r[:5], None] for r in ROWS]))
    series = load_candles(path)
    assert series.symbol == "XRP/USDT:USDT"
    assert series.volume.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("BTC_USDT-5m.csv", "", "empty"),
        ("BTC_USDT-5m.csv", "timestamp,open,high,low,close\n1,1,1,1,1\n", r"missing column\(s\) volume"),
        ("BTC_USDT-5m.csv", "timestamp,open,high,low,close,volume\n", "no candles"),
        ("BTC_USDT-5m.csv", f"timestamp,open,high,low,close,volume\n{T0},1,2,x,1,1\n", "line 2: low 'x'"),
        ("BTC_USDT-5m.csv", "timestamp,bid_open,ask_open\n1,2,3\n", "quotes"),
        ("BTC_USDT-5m.csv", "timestamp,trade_id,price,quantity\n1,2,3,4\n", "trades"),
        ("BTC_USDT-5m.csv", f"ts,open,high,low,close,volume\n{T0},1,1,2,1,1\n", "high is below low"),
        ("BTC_USDT-5m.csv", f"ts,open,high,low,close,volume\n{T0},0,1,0,1,1\n", "open 0.0 is not a positive"),
        ("BTC_USDT-5m.csv", "ts,open,high,low,close,volume\nyesterday,1,1,1,1,1\n", "neither epoch"),
        ("BTC_USDT-5m.json", "{not json", "not valid JSON"),
        ("BTC_USDT-5m.json", '{"a": 1}', "JSON array"),
        ("BTC_USDT-5m.json", "[[1, 2, 3]]", "row 1 is not"),
        ("BTC_USDT-5m.json", '[[1, "a", 1, 1, 1, 1]]', "non-numeric"),
        ("BTC_USDT-5m.parquet", "x", "unknown candle format"),
        ("data.csv", f"ts,open,high,low,close,volume\n{T0},1,1,1,1,1\n{T0 + 1},1,1,1,1,1\n", "symbol"),
    ],
)
def test_bad_files_are_user_errors_naming_the_file(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserInputError, match=message) as info:
        load_candles(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_time_must_strictly_increase(tmp_path: Path) -> None:
    rows = [ROWS[0], ROWS[2], ROWS[1]]
    path = _csv(tmp_path / "BTC_USDT-5m.csv", "timestamp,open,high,low,close,volume", rows)
    with pytest.raises(UserInputError, match="strictly increase; row 3"):
        load_candles(path)
    duplicate = _csv(tmp_path / "ETH_USDT-5m.csv", "timestamp,open,high,low,close,volume", [ROWS[0], ROWS[0]])
    with pytest.raises(UserInputError, match="strictly increase"):
        load_candles(duplicate)


def test_bars_closer_than_the_interval_are_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path / "BTC_USDT-1h.csv", "timestamp,open,high,low,close,volume", ROWS)
    with pytest.raises(UserInputError, match="less than the 1h interval"):
        load_candles(path)
    assert load_candles(path, interval="5m").interval == "5m"
    with pytest.raises(UserInputError, match="unknown interval"):
        load_candles(path, interval="7x")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no such file"):
        load_candles(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("name", "symbol", "interval", "venue"),
    [
        ("BTC_USDT-5m.json.gz", "BTC/USDT", "5m", None),
        ("XRP_USDT_USDT-5m-futures.json", "XRP/USDT:USDT", "5m", None),
        ("binance_spot_BTCBUSD_1m_trade.csv", "BTC/BUSD", "1m", "binance"),
        ("bybit_linear_BTCUSDT_PERP_1m_trade.csv", "BTC/USDT:USDT", "1m", "bybit"),
        ("binance_coinm_BTCUSD_PERP_1m_trade.csv", "BTC/USD:BTC", "1m", "binance"),
        ("binance_btcusdt_day_2020.csv", "BTC/USDT", "1d", "binance"),
        ("notes.csv", None, None, None),
    ],
)
def test_names(name: str, symbol: str | None, interval: str | None, venue: str | None) -> None:
    info = parse_name(name)
    assert (info.symbol, info.interval, info.venue) == (symbol, interval, venue)


def test_normalize_symbol() -> None:
    assert {normalize_symbol(s) for s in ("btc_usdt", "BTC-USDT", "BTCUSDT", "BTC/USDT")} == {"BTC/USDT"}
    assert normalize_symbol("XRP_USDT_USDT") == "XRP/USDT:USDT"
