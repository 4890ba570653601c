"""The same data and config give the same decision log (bar what must differ per run), and a run
given its own signing key ignores the operator's key configuration (benchmarks)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.unit.dense_window import REPO, normalised, run_dense
from tradeops.bench.paper import orders_per_decile
from tradeops.decision_log.keys import ephemeral_key
from tradeops.decision_log.verify import verify_file


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    # An operator's setup with both key sources set: a run with its own key must not read them.
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "operator-key-0123456789")
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY_FILE", str(tmp_path / "operator.key"))
    return tmp_path


def test_same_data_and_config_give_the_same_log_with_a_key_of_the_runs_own(workdir):
    key = ephemeral_key()
    first, second = workdir / "a.jsonl", workdir / "b.jsonl"
    run_dense(first, key)
    run_dense(second, ephemeral_key())

    a, b = normalised(first), normalised(second)
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
