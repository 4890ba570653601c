"""record_operator_action: one signed, fsynced entry in the operations log, key from the environment."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tradeops.config.load import load_config
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.reader import iter_entries
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.errors import UserInputError
from tradeops.ops.audit_trail import record_operator_action


@pytest.fixture(scope="module")
def cfg():
    return load_config(Path(__file__).resolve().parents[2] / "config" / "core.yaml")


def test_appends_one_signed_entry(tmp_path, cfg):
    key_file = tmp_path / "key"
    key_file.write_text("operator-secret\n")
    path = tmp_path / "ops.jsonl"
    env = {"TRADEOPS_DECISION_LOG_KEY_FILE": str(key_file)}
    entry = record_operator_action(
        cfg,
        kind="kill_switch",
        status="engaged",
        artefacts={"scope": "global"},
        metadata={"reason": "drill"},
        tags=["kill_switch"],
        log_path=path,
        environ=env,
    )
    second = record_operator_action(
        cfg, kind="kill_switch", status="released", artefacts={"scope": "global"}, log_path=path, environ=env
    )
    assert entry["stage"] == "stage4" and entry["seq"] == 1 and second["seq"] == 2
    assert entry["signature"]["key_id"] == cfg.decision_log.key_id
    assert [e["status"] for _n, e in iter_entries(path)] == ["engaged", "released"]
    keyring = {cfg.decision_log.key_id: SigningKey(cfg.decision_log.key_id, b"operator-secret")}
    assert verify_file(path, keyring=keyring, strict=True).entries == 2


def test_no_key_is_a_user_error_and_nothing_is_written(tmp_path, cfg):
    path = tmp_path / "ops.jsonl"
    with pytest.raises(UserInputError, match="TRADEOPS_DECISION_LOG_KEY_FILE"):
        record_operator_action(cfg, kind="k", status="s", artefacts={"a": 1}, log_path=path, environ={})
    assert not path.exists()


def test_waits_for_a_short_lived_writer(tmp_path, cfg):
    path = tmp_path / "ops.jsonl"
    env = {"TRADEOPS_DECISION_LOG_KEY": "k"}
    holder = DecisionLogWriter(path, SigningKey(cfg.decision_log.key_id, b"k"))
    holder.append(kind="k", stage="stage4", status="first", artefacts={"a": 1})
    releaser = threading.Timer(0.2, holder.close)
    releaser.start()
    entry = record_operator_action(
        cfg, kind="k", status="second", artefacts={"a": 2}, log_path=path, environ=env
    )
    releaser.join()
    assert entry["seq"] == 2
