"""`tradeops data import | inspect | synthetic` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradeops.cli.main import main
from tradeops.marketdata.datasets import load_dataset
from tradeops.marketdata.loaders import load_candles

T0 = 1_700_000_100_000


def _source(tmp_path: Path) -> Path:
    rows = [[T0 + i * 300_000, 10.0, 11.0, 9.0, 10.0, 1.0] for i in (0, 1, 2, 6, 7)]
    path = tmp_path / "src" / "BTC_USDT-5m.json"
    path.parent.mkdir()
    path.write_text(json.dumps(rows))
    return path


def test_import_writes_normalised_csv_and_reports_gaps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _source(tmp_path)
    dest = tmp_path / "var" / "data"
    assert main(["data", "import", str(src), "--venue", "bybit", "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "bybit BTC/USDT 5m" in out and "reported, not filled" in out
    written = dest / "bybit" / "BTC_USDT-5m.csv"
    assert written.read_text().splitlines()[0] == "timestamp,open,high,low,close,volume"
    imported = load_candles(written)
    assert imported.ts.tolist() == load_candles(src).ts.tolist()  # the gap stays a gap
    assert (imported.venue, imported.symbol) == ("bybit", "BTC/USDT")


def test_inspect_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "inspect", str(_source(tmp_path)), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["rows"] == 5 and report["missing_bars"] == 3 and report["expected_bars"] == 8
    assert report["gaps"] == [
        {"start": "2023-11-14T22:30:00+00:00", "end": "2023-11-14T22:45:00+00:00", "missing_bars": 3}
    ]
    assert report["written"] is None


def test_synthetic_writes_a_loadable_market(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "syn"
    code = main(["data", "synthetic", "--bars", "300", "--out", str(out), "--symbol", "BTC/USDT,ETH/USDT"])
    assert code == 0
    market = load_dataset(out)
    assert [(s.venue, s.symbol, len(s)) for s in market] == [
        ("binance", "BTC/USDT", 300),
        ("binance", "ETH/USDT", 300),
        ("bybit", "BTC/USDT", 300),
        ("bybit", "ETH/USDT", 300),
    ]
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["data", "inspect", "{tmp}/missing.csv"],
        ["data", "import", "{tmp}/bad.csv", "--dest", "{tmp}/out"],
        ["data", "import", "{tmp}/src/BTC_USDT-5m.json", "--venue", "../evil", "--dest", "{tmp}/out"],
        ["data", "synthetic", "--interval", "7x", "--out", "{tmp}/out"],
    ],
)
def test_user_mistakes_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    _source(tmp_path)
    (tmp_path / "bad.csv").write_text("timestamp,open\n1,2\n")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
