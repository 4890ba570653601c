"""Start-up recovery rules, state check/rebuild, write-ahead intents and the fail-stop."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event

from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.cli.main import main
from tradeops.domain import events
from tradeops.domain.trading import TradingState
from tradeops.observability.collector import RuntimeCollector
from tradeops.persistence.schema import PROJECTED_TABLES
from tradeops.persistence.sql_store import SqlStateStore

REPO = Path(__file__).resolve().parents[2]
STORE = Path("var/state/tradeops.sqlite")
LOG = Path("audit/decision_logs/binance_paper.jsonl")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    for name in ("TRADEOPS_DECISION_LOG_KEY_FILE", "TRADEOPS_DECISION_LOG_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789")
    return tmp_path


def _run(steps: int | None = None) -> None:
    runtime = build_runtime(RunOptions(synthetic_bars=700, kill_switch=False))
    try:
        asyncio.run(runtime.scheduler.run(max_steps=steps))
    finally:
        runtime.close()


def _sql(statement: str) -> None:
    db = sqlite3.connect(STORE)
    with db:
        db.execute(statement)
    db.close()


def _rows(path: Path) -> dict[str, list[dict]]:
    store = SqlStateStore(f"sqlite:///{path}")
    try:
        return {t: store.table_rows(t) for t in PROJECTED_TABLES}
    finally:
        store.close()


def test_state_check_passes_and_a_rebuild_equals_the_live_store_row_for_row(workdir, capsys):
    _run()
    assert main(["state", "check"]) == 0
    assert "state ok" in capsys.readouterr().out
    assert main(["state", "rebuild", "--to", "rebuilt.sqlite"]) == 0
    assert _rows(workdir / "rebuilt.sqlite") == _rows(workdir / STORE)
    assert _rows(workdir / STORE)["fills"]

    before = (workdir / "rebuilt.sqlite").read_bytes()
    assert main(["state", "rebuild", "--to", "rebuilt.sqlite"]) == 1
    assert "--force" in capsys.readouterr().err
    assert (workdir / "rebuilt.sqlite").read_bytes() == before  # nothing written


def test_state_check_names_each_difference(workdir, capsys):
    _run()
    capsys.readouterr()
    _sql("UPDATE balances SET amount = '1'")
    _sql("DELETE FROM fills WHERE log_seq = (SELECT MIN(log_seq) FROM fills)")
    assert main(["state", "check", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"]
    problems = report["differences"]
    assert any(p.startswith("balances USDT: amount store=1 log=") for p in problems)
    assert any(p.startswith("fills ") and "missing from the store" in p for p in problems)
    assert main(["state", "rebuild", "--force"]) == 0
    assert main(["state", "check"]) == 0


def test_a_store_behind_its_log_replays_the_tail_in_one_line_and_one_entry(workdir, capsys):
    _run(300)
    entries = LOG.read_text().splitlines()
    _sql("UPDATE log_position SET seq = seq")  # the store is level here; make it behind:
    store_before = _rows(workdir / STORE)
    position = SqlStateStore(f"sqlite:///{STORE}").log_position()
    assert position is not None and position.seq == len(entries)
    # Put the store back to an earlier log position by rebuilding it from a prefix of the log.
    prefix = workdir / "prefix.jsonl"
    prefix.write_text("\n".join(entries[: len(entries) // 2]) + "\n")
    assert main(["state", "rebuild", "--log", str(prefix), "--force"]) == 0
    capsys.readouterr()
    runtime = build_runtime(RunOptions(synthetic_bars=700, kill_switch=False))
    try:
        err = capsys.readouterr().err
        assert err.count("replayed log seq") == 1
        replayed = [e for e in map(json.loads, LOG.read_text().splitlines()) if e["kind"] == "state"]
        assert [e["status"] for e in replayed] == ["replayed"], [
            (e["seq"], e["metadata"], e["timestamp"]) for e in replayed
        ]
        assert runtime.engine.halt_reason is None
    finally:
        runtime.close()
    after = _rows(workdir / STORE)
    assert after["fills"] == store_before["fills"] and after["positions"] == store_before["positions"]


@pytest.mark.parametrize("damage", ["store ahead", "another log", "edited line"])
def test_a_store_that_does_not_match_its_log_halts_trading(workdir, capsys, damage):
    _run(300)
    if damage == "store ahead":
        _sql("UPDATE log_position SET seq = seq + 5")
    elif damage == "another log":
        _sql("UPDATE log_position SET log_id = 'sha256:" + "ab" * 32 + "'")
    else:
        lines = LOG.read_text().splitlines()
        lines[3] = lines[3].replace('"seq":4', '"seq":4,"x":1')
        LOG.write_text("\n".join(lines) + "\n")
    size = LOG.stat().st_size
    capsys.readouterr()
    assert main(["run", "--environment", "binance_paper", "--synthetic", "--bars", "700", "--run-once"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    (line,) = [x for x in err if x.startswith("error:")]
    assert "trading HALTED (state_log_mismatch)" in line and "tradeops state check" in line
    assert LOG.stat().st_size == size  # nothing appended to a log that may not be this store's

    runtime = build_runtime(RunOptions(synthetic_bars=700, kill_switch=False))
    try:
        assert runtime.engine.global_state is TradingState.HALTED
        metrics = {
            m.name: m for m in RuntimeCollector(runtime.stats, runtime.cfg.runtime.resource_limits).collect()
        }
        halted = {s.labels["reason"]: s.value for s in metrics["tradeops_trading_halted"].samples}
        assert halted == {"state_log_mismatch": 1.0, "state_store_unwritable": 0.0}
    finally:
        runtime.close()


def test_an_intent_without_outcome_is_resolved_from_the_venue_not_resent(workdir):
    _run(300)
    runtime = build_runtime(RunOptions(synthetic_bars=700, kill_switch=False))
    from tests.statekit import order

    intent = order("daily_trend-1-999999", ts=runtime.clock.now_ms())
    runtime.sink.record(events.order_accepted(intent))  # journaled, then the process "died"
    runtime.sink.flush()
    runtime.close()
    runtime = build_runtime(RunOptions(synthetic_bars=700, kill_switch=False))
    try:
        ends = [
            e
            for e in map(json.loads, LOG.read_text().splitlines())
            if e["artefacts"].get("client_order_id") == intent.client_order_id
        ]
        assert [(e["kind"], e["status"]) for e in ends] == [
            ("risk_decision", "accepted"),
            ("order", "abandoned"),
        ]
        assert intent.client_order_id not in runtime.engine.exchange.open_order_ids()
    finally:
        runtime.close()
    status = dict(sqlite3.connect(STORE).execute("SELECT client_order_id, status FROM orders").fetchall())
    assert status[intent.client_order_id] == "abandoned"


def test_a_read_only_store_stops_trading_and_the_next_start_catches_up(workdir, capsys):
    _run(200)
    runtime = build_runtime(RunOptions(synthetic_bars=700, kill_switch=False))

    def read_only(dbapi_connection, _record) -> None:  # SQLite itself refuses every write
        dbapi_connection.execute("PRAGMA query_only = ON")

    engine = runtime.store._engine
    event.listen(engine, "connect", read_only)
    engine.dispose()  # every new connection of the running store is read-only
    try:
        asyncio.run(runtime.scheduler.run(max_steps=200))
        assert runtime.engine.halt_reason == "state_store_unwritable"
        assert runtime.engine.global_state is TradingState.HALTED
        assert "trading HALTED (state_store_unwritable)" in capsys.readouterr().err
    finally:
        runtime.close()
    entries = [json.loads(line) for line in LOG.read_text().splitlines()]
    halt = next(i for i, e in enumerate(entries) if e["kind"] == "trading_state" and e["status"] == "halted")
    assert entries[halt]["metadata"]["reason"] == "state_store_unwritable"
    assert not [e for e in entries[halt:] if e["kind"] == "order" and e["status"] == "submitted"]
    assert main(["state", "check"]) == 0  # behind, not wrong: the log kept everything
    runtime = build_runtime(RunOptions(synthetic_bars=700, kill_switch=False))
    try:
        assert "replayed log seq" in capsys.readouterr().err
        assert runtime.engine.global_state is TradingState.ACTIVE
        assert runtime.engine.halt_reason is None
    finally:
        runtime.close()
