"""The same data and config give the same decision log (bar what must differ per run), and a run
given its own signing key ignores the operator's key configuration (benchmarks)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tradeops.bench.paper import DENSE_PARAMS, orders_per_decile
from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.decision_log.keys import ephemeral_key
from tradeops.decision_log.verify import verify_file

REPO = Path(__file__).resolve().parents[2]
# Differ per run by design: the log's identity and chain, the run id, wall-clock creation time.
PER_RUN = {"log_id", "prev_hash", "signature", "run_id", "created"}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    # An operator's setup with both key sources set: a run with its own key must not read them.
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "operator-key-0123456789")
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY_FILE", str(tmp_path / "operator.key"))
    return tmp_path


def _run(log: Path, key: Any) -> None:
    options = RunOptions(
        synthetic_bars=400,
        kill_switch=False,
        state=str(log.with_suffix(".sqlite")),
        decision_log_path=str(log),
        strategy_params=DENSE_PARAMS,
        signing_key=key,
    )
    runtime = build_runtime(options)
    try:
        asyncio.run(runtime.scheduler.run())
        runtime.sink.flush()
    finally:
        runtime.close()


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in PER_RUN}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _normalised(log: Path) -> list[bytes]:
    lines = []
    for raw in log.read_bytes().splitlines():
        entry = json.loads(raw)
        # Every entry's `timestamp` is wall time (issue 15); the market time it stands for stays
        # compared, in metadata.market_time and ts_ms.
        entry.pop("timestamp")
        lines.append(json.dumps(_scrub(entry), sort_keys=True).encode())
    return lines


def test_same_data_and_config_give_the_same_log_with_a_key_of_the_runs_own(workdir):
    key = ephemeral_key()
    first, second = workdir / "a.jsonl", workdir / "b.jsonl"
    _run(first, key)
    _run(second, ephemeral_key())

    a, b = _normalised(first), _normalised(second)
    assert sum(b'"kind": "fill"' in line for line in a) > 10  # the window trades
    assert a == b
    # Signed with the run's key, not the operator's (whose key file does not even exist).
    assert verify_file(first, keyring={key.key_id: key}).ok
    assert not (workdir / "operator.key").exists()


def test_orders_per_decile_places_each_submitted_order_in_its_tenth_of_the_window(tmp_path):
    log = tmp_path / "log.jsonl"
    rows = [
        {"kind": "order", "status": "submitted", "metadata": {"ts_ms": 0}},
        {"kind": "order", "status": "submitted", "metadata": {"ts_ms": 999}},
        {"kind": "order", "status": "submitted", "metadata": {"ts_ms": 1000}},
        {"kind": "order", "status": "rejected", "metadata": {"ts_ms": 500}},
        {"kind": "fill", "status": "filled", "metadata": {"ts_ms": 500}},
    ]
    log.write_bytes(b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in rows))
    assert orders_per_decile(log, 0, 1000) == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
