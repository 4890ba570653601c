"""The operations log adapter (`FileOperatorLog`, the OperatorLog port): one signed, fsynced entry
per append, idempotent by entry id, key from the environment when it signs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tradeops.bootstrap.operator_log import open_operator_log
from tradeops.config.load import load_config
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.reader import iter_entries
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.errors import UserInputError


@pytest.fixture(scope="module")
def cfg():
    return load_config(Path(__file__).resolve().parents[2] / "config" / "core.yaml")


@pytest.fixture
def keyless_cfg(cfg, tmp_path):
    """The shipped config with its default key file somewhere that has none (a checkout where
    `make demo` ran holds one at the shipped path)."""
    log = cfg.decision_log.model_copy(update={"key_file": str(tmp_path / "no-such.key")})
    return cfg.model_copy(update={"decision_log": log})


def test_appends_one_signed_entry(tmp_path, cfg):
    key_file = tmp_path / "key"
    key_file.write_text("operator-secret\n")
    path = tmp_path / "ops.jsonl"
    env = {"TRADEOPS_DECISION_LOG_KEY_FILE": str(key_file)}
    entry = open_operator_log(cfg, env, path).append(
        kind="kill_switch",
        status="engaged",
        artefacts={"scope": "global"},
        metadata={"reason": "drill"},
        tags=["kill_switch"],
    )
    second = open_operator_log(cfg, env, path).append(
        kind="kill_switch", status="released", artefacts={"scope": "global"}
    )
    assert entry["stage"] == "stage4" and entry["seq"] == 2 and second["seq"] == 3
    assert entry["signature"]["key_id"] == cfg.decision_log.key_id
    assert [e["status"] for _n, e in iter_entries(path)] == ["created", "engaged", "released"]
    keyring = {cfg.decision_log.key_id: SigningKey(cfg.decision_log.key_id, b"operator-secret")}
    assert verify_file(path, keyring=keyring).entries == 3


def test_an_entry_id_is_logged_once(tmp_path, cfg):
    path = tmp_path / "ops.jsonl"
    env = {"TRADEOPS_DECISION_LOG_KEY": "k"}
    first = open_operator_log(cfg, env, path).append(
        kind="override", status="enabled", artefacts={"a": 1}, entry_id="ev-1"
    )
    again = open_operator_log(cfg, env, path).append(
        kind="override", status="enabled", artefacts={"a": 1}, entry_id="ev-1"
    )
    assert again == first and first["entry_id"] == "ev-1"
    assert [e["status"] for _n, e in iter_entries(path)] == ["created", "enabled"]


def test_a_missing_key_names_the_log_and_its_key_id(tmp_path, keyless_cfg):
    cfg = keyless_cfg
    path = tmp_path / "ops.jsonl"
    open_operator_log(cfg, {"TRADEOPS_DECISION_LOG_KEY": "k"}, path).append(
        kind="k", status="s", artefacts={"a": 1}
    )
    with pytest.raises(UserInputError) as excinfo:
        open_operator_log(cfg, {}, path).append(kind="k", status="s", artefacts={"a": 1})
    message = str(excinfo.value)
    assert (
        str(path) in message
        and repr(cfg.decision_log.key_id) in message
        and "decision_log.key_file" in message
    )


def test_no_key_is_a_user_error_and_nothing_is_written(tmp_path, keyless_cfg):
    cfg = keyless_cfg
    path = tmp_path / "ops.jsonl"
    with pytest.raises(UserInputError, match="TRADEOPS_DECISION_LOG_KEY_FILE"):
        open_operator_log(cfg, {}, path).append(kind="k", status="s", artefacts={"a": 1})
    assert not path.exists()


def test_waits_for_a_short_lived_writer(tmp_path, cfg):
    path = tmp_path / "ops.jsonl"
    env = {"TRADEOPS_DECISION_LOG_KEY": "k"}
    holder = DecisionLogWriter(path, SigningKey(cfg.decision_log.key_id, b"k"))
    holder.append(kind="k", stage="stage4", status="first", artefacts={"a": 1})
    releaser = threading.Timer(0.2, holder.close)
    releaser.start()
    entry = open_operator_log(cfg, env, path).append(kind="k", status="second", artefacts={"a": 2})
    releaser.join()
    assert entry["seq"] == 3
