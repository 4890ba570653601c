"""Repeated state denials: the first request of an episode is logged in full, identical repeats
become one counted entry before the next state change or checkpoint, and every denial is counted
in the metrics (runtime/repeat_denials.py)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import pytest

from tests.unit.dense_window import REPO, run_dense
from tradeops.decision_log.keys import ephemeral_key
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import OrderRequest, Side
from tradeops.risk.gate import Denial
from tradeops.runtime.repeat_denials import RepeatedDenials, repeat_key

REDUCING = Denial(DenialReason.REDUCING_ONLY, "mean_reversion may only reduce positions")


def _order(symbol: str = "BTC/USDT", side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(
        client_order_id="x-1",
        strategy="mean_reversion",
        venue="binance",
        symbol=symbol,
        side=side,
        quantity=Decimal("1"),
        reference_price=Decimal("100"),
        ts=0,
    )


def test_only_requests_denied_for_state_reasons_alone_have_a_key() -> None:
    order = _order()
    assert repeat_key("s", [order], [REDUCING]) is not None
    assert repeat_key("s", [order], [None]) is None
    assert repeat_key("s", [order, _order("ETH/USDT")], [REDUCING, None]) is None
    assert repeat_key("s", [order], [Denial(DenialReason.MAX_POSITION, "too big")]) is None
    assert repeat_key("s", [], []) is None
    assert repeat_key("s", [order], [REDUCING]) != repeat_key("s", [_order(side=Side.SELL)], [REDUCING])


def test_first_request_logged_repeats_counted_and_a_new_episode_starts_over() -> None:
    repeats = RepeatedDenials()
    key = repeat_key("mean_reversion", [_order()], [REDUCING])
    assert key is not None
    assert repeats.is_repeat(key, 1_000) is False  # the first: logged in full
    assert repeats.is_repeat(key, 2_000) is True
    assert repeats.is_repeat(key, 3_000) is True
    (record,) = repeats.drain(3_500)
    assert record.kind == "risk_decision" and record.status == "repeated"
    assert record.metadata["count"] == 2
    assert (record.metadata["first_ts_ms"], record.metadata["last_ts_ms"]) == (2_000, 3_000)
    assert record.metadata["legs"] == [["binance", "BTC/USDT", "buy"]]
    assert repeats.drain(4_000) == []  # drained once
    assert repeats.is_repeat(key, 4_000) is True  # same episode: still a repeat
    repeats.end_episode()
    assert repeats.is_repeat(key, 5_000) is False  # a state moved: logged in full again


@pytest.fixture(scope="module")
def window_log(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    workdir = tmp_path_factory.mktemp("window")
    shutil.copytree(REPO / "config", workdir / "config")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        mp.delenv("TRADEOPS_DECISION_LOG_KEY", raising=False)
        mp.delenv("TRADEOPS_DECISION_LOG_KEY_FILE", raising=False)
        log = workdir / "decisions.jsonl"
        run_dense(log, ephemeral_key(), state=workdir / "state.sqlite")
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_every_counted_repeat_follows_a_full_denial_in_the_same_episode(window_log: list[dict]) -> None:
    repeated = [e for e in window_log if e["status"] == "repeated"]
    assert repeated  # the window has reducing episodes in which strategies keep asking
    for entry in repeated:
        meta = entry["metadata"]
        assert meta["count"] >= 1 and meta["first_ts_ms"] <= meta["last_ts_ms"] <= meta["ts_ms"]
        before = [e for e in window_log if e["seq"] < entry["seq"]]
        full = [
            e
            for e in before
            if e["kind"] == "risk_decision"
            and e["status"] == "denied"
            and e["artefacts"].get("strategy") == entry["artefacts"]["strategy"]
            and e["metadata"]["reason"] == meta["reason"]
            and e["metadata"]["ts_ms"] < meta["first_ts_ms"]
            and [e["artefacts"].get("venue"), e["artefacts"].get("symbol"), e["metadata"]["side"]]
            in meta["legs"]
        ]
        assert full, f"no full denial before the repeats of entry {entry['seq']}"
        # no trading-state change between that full denial and the repeats it stands for
        episode = [e for e in before if full[-1]["seq"] < e["seq"] and e["kind"] == "trading_state"]
        assert not [e for e in episode if e["metadata"]["ts_ms"] < meta["first_ts_ms"]]
