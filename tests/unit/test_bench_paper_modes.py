"""`tradeops bench paper` runs the cases asked for: heavy only on request, and it places more orders
than dense on the same window (issue 17: dense is the peers' workload, heavy the per-order stress)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tradeops import _native
from tradeops.bench.paper import DEFAULT_MODES, bench_paper


def test_dense_and_heavy_on_request_and_heavy_trades_more() -> None:
    args = ["--json", "--synthetic", "--bars", "1000", "--dense-bars", "1000", "--runs", "1"]
    result = CliRunner().invoke(bench_paper, [*args, "--mode", "dense", "--mode", "heavy"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert "sparse_bars_per_second" not in out and "single_bars_per_second" not in out
    assert out["dense_bars"] == out["heavy_bars"] == 10_000
    assert 0 < out["dense_orders"] < out["heavy_orders"]
    assert sum(out["dense_orders_per_decile"]) == out["dense_orders"]
    assert "heavy" not in DEFAULT_MODES
    assert out["hot_path"] == _native.status().describe()  # which build the figures are of
