"""Audit failures fail closed: the writer keeps what it could not write and rewrites it exactly once;
the gate halts trading until the entry that resumes it is durable; key and anchor checks on open;
bounded reads of a runaway tail."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from tradeops.decision_log.anchor import anchor_path
from tradeops.decision_log.errors import LogMismatchError, LogWriteError, TornTailError
from tradeops.decision_log.keys import SigningKey, ensure_local_key
from tradeops.decision_log.reader import iter_entries, read_tail
from tradeops.decision_log.repair import repair_log
from tradeops.decision_log.sink import AuditGate, FileDecisionSink
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.errors import UserInputError
from tradeops.domain.events import DecisionRecord, DenialReason
from tradeops.runtime.stats import RuntimeStats

KEY = SigningKey("ops", b"test-secret")
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "core.yaml"
KEYRING = {"ops": KEY}


class DiskFull:
    """os.write stand-in for the writer: writes part of the first call's bytes, then fails (ENOSPC)
    until `healthy` is set, like a disk that filled up mid-write."""

    def __init__(self) -> None:
        self.healthy = False
        self.real = os.write

    def __call__(self, fd: int, data: memoryview) -> int:
        if self.healthy:
            return self.real(fd, data)
        half = len(data) // 2
        if half:
            self.real(fd, data[:half])
        self.healthy = None  # type: ignore[assignment] - partial write done; fail from now on
        raise OSError(errno.ENOSPC, "No space left on device")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(i: int) -> DecisionRecord:
    return DecisionRecord("fill", "filled", 1_767_225_600_000 + i, {"order_id": f"o-{i}"})


def statuses(path):
    return [entry["status"] for _n, entry in iter_entries(path)]


def test_recover_rewrites_kept_entries_once_after_a_partial_write(tmp_path, monkeypatch):
    path = tmp_path / "log.jsonl"
    writer = DecisionLogWriter(path, KEY, group_entries=1000, group_ms=60_000, keep_on_failure=True)
    for i in range(5):
        writer.append(kind="k", stage="s", status=f"a{i}", artefacts={"i": i})
    disk = DiskFull()
    monkeypatch.setattr("tradeops.decision_log.writer.os.write", disk)
    with pytest.raises(LogWriteError, match="No space left"):
        writer.flush()
    assert writer.failed is not None and writer.write_failures == 1
    writer.append(kind="k", stage="s", status="while-failed", artefacts={"i": 5})  # kept, not raised
    assert not writer.recover()  # the disk is still full
    disk.healthy = True
    assert writer.recover() and writer.failed is None
    writer.append(kind="k", stage="s", status="after", artefacts={"i": 6})
    writer.close()
    assert statuses(path) == ["created", "a0", "a1", "a2", "a3", "a4", "while-failed", "after"]
    assert verify_file(path, keyring=KEYRING).ok


def test_operator_writer_raises_at_once(tmp_path, monkeypatch):
    path = tmp_path / "log.jsonl"
    writer = DecisionLogWriter(path, KEY, fsync_mode="each")
    monkeypatch.setattr("tradeops.decision_log.writer.os.write", DiskFull())
    with pytest.raises(LogWriteError):
        writer.append(kind="k", stage="s", status="x", artefacts={"i": 1})
    with pytest.raises(LogWriteError):
        writer.append(kind="k", stage="s", status="y", artefacts={"i": 2})
    with pytest.raises(LogWriteError):
        writer.close()


def test_gate_halts_until_the_resuming_entry_is_durable(tmp_path, monkeypatch):
    path = tmp_path / "log.jsonl"
    stats = RuntimeStats(environment="paper")
    clock = Clock()
    writer = DecisionLogWriter(path, KEY, group_entries=1000, group_ms=60_000, keep_on_failure=True)
    sink = FileDecisionSink(writer, "paper", stats=stats, monotonic=clock)
    gate = AuditGate(None, sink)
    sink.record(record(0))
    assert gate.allows_new_order("daily_trend") is None
    disk = DiskFull()
    monkeypatch.setattr("tradeops.decision_log.writer.os.write", disk)
    with pytest.raises(LogWriteError):
        writer.flush()
    assert gate.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH
    assert stats.decision_log_write_failures == 2  # the write, and the first recovery attempt
    sink.record(record(1))  # a halted engine still records (kept in memory)
    disk.healthy = True
    assert gate.allows_new_order("daily_trend") is DenialReason.KILL_SWITCH  # next try in 1 s
    clock.now = 1.5
    assert gate.allows_new_order("daily_trend") is None
    on_disk = [entry for _n, entry in iter_entries(path)]  # read while the writer is still open
    assert [e["status"] for e in on_disk] == ["created", "filled", "filled", "recovered"]
    assert on_disk[-1]["kind"] == "decision_log" and "No space left" in on_disk[-1]["metadata"]["problem"]
    assert stats.decision_log_head_seq == writer.durable_seq
    sink.close()
    assert verify_file(path, keyring=KEYRING).ok


def test_gate_delegates_to_the_kill_switch_when_the_log_is_healthy(tmp_path):
    class Switch:
        def allows_new_order(self, strategy: str) -> DenialReason | None:
            return DenialReason.STRATEGY_DISABLED if strategy == "x" else None

        def on_disable(self) -> str:
            return "policy"

    with DecisionLogWriter(tmp_path / "log.jsonl", KEY) as writer:
        gate = AuditGate(Switch(), FileDecisionSink(writer, "paper"))
        assert gate.allows_new_order("x") is DenialReason.STRATEGY_DISABLED
        assert gate.allows_new_order("y") is None
        assert gate.on_disable() == "policy"


# --- key and anchor checks when a writer opens a log --------------------------------------------


def test_writer_refuses_another_key_id_and_a_recreated_key(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY) as writer:
        writer.append(kind="k", stage="s", status="x", artefacts={"i": 1})
    with pytest.raises(LogMismatchError, match="signed with key id 'ops', not 'local-dev'"):
        DecisionLogWriter(path, SigningKey("local-dev", b"test-secret"))
    with pytest.raises(LogMismatchError, match="does not verify with the configured key 'ops'"):
        DecisionLogWriter(path, SigningKey("ops", b"a-new-random-key"))
    with pytest.raises(LogMismatchError, match="no key is configured"):
        DecisionLogWriter(path, None)


def test_writer_refuses_a_truncated_or_replaced_log(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY) as writer:
        for i in range(3):
            writer.append(kind="k", stage="s", status=f"x{i}", artefacts={"i": i})
    full = path.read_bytes()
    path.write_bytes(b"".join(full.splitlines(keepends=True)[:3]))
    with pytest.raises(LogMismatchError, match="anchor says seq 4"):
        DecisionLogWriter(path, KEY)
    path.write_bytes(full)
    anchor_path(path).unlink()
    with pytest.raises(LogMismatchError, match="no anchor"):
        DecisionLogWriter(path, KEY)


def test_reanchor_after_full_verification(tmp_path):
    from tradeops.decision_log.rotation import reanchor_log

    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY) as writer:
        writer.append(kind="k", stage="s", status="x", artefacts={"i": 1})
    anchor_path(path).unlink()
    entry = reanchor_log(path, KEY, KEYRING, 1 << 20)
    assert entry["kind"] == "anchor_reset" and entry["artefacts"]["verified_entries"] == 2
    assert verify_file(path, keyring=KEYRING).anchor_seq == 3


def test_rotation_entry_is_signed_by_both_keys(tmp_path):
    from tradeops.decision_log.rotation import rotate_log_key

    path = tmp_path / "log.jsonl"
    new = SigningKey("ops-2027", b"new-secret")
    with DecisionLogWriter(path, KEY) as writer:
        writer.append(kind="k", stage="s", status="before", artefacts={"i": 1})
    entry = rotate_log_key(path, KEY, new, reason="scheduled", max_line_bytes=1 << 20)
    assert entry["signature"]["key_id"] == "ops-2027"
    assert entry["key_rotation"]["endorsement"]["key_id"] == "ops"
    with DecisionLogWriter(path, new) as writer:
        writer.append(kind="k", stage="s", status="after", artefacts={"i": 2})
    both = {"ops": KEY, "ops-2027": new}
    result = verify_file(path, keyring=both)
    assert result.ok and result.rotations == 1 and result.entries == 4
    assert "key id 'ops-2027'" in verify_file(path, keyring=KEYRING).reason
    assert "unknown key id 'ops-2027'" in verify_file(path, keyring=KEYRING, check_anchor=False).reason
    # A rotation the old key did not endorse is a forgery.
    lines = path.read_bytes().splitlines()
    forged = json.loads(lines[2])
    forged["key_rotation"]["endorsement"]["value"] = "AAAA"
    lines[2] = json.dumps(forged, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    assert "not endorsed" in verify_file(path, keyring=both).reason


def test_a_key_is_created_only_for_logs_without_entries(tmp_path):
    key_file, log = tmp_path / "secrets" / "decision_log.key", tmp_path / "stage4.jsonl"
    assert ensure_local_key(key_file, "tradeops-ops", [log])
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not ensure_local_key(key_file, "tradeops-ops", [log])
    with DecisionLogWriter(log, SigningKey("tradeops-ops", key_file.read_bytes())) as writer:
        writer.append(kind="k", stage="s", status="x", artefacts={"i": 1})
    key_file.unlink()
    with pytest.raises(UserInputError) as excinfo:
        ensure_local_key(key_file, "tradeops-ops", [log])
    message = str(excinfo.value)
    assert str(log) in message and "'tradeops-ops'" in message and "decision_log.key_file" in message
    assert not key_file.exists()


# --- bounded input ----------------------------------------------------------------------------------


def test_a_runaway_last_line_is_refused_on_open_and_repaired_in_bounded_memory(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY) as writer:
        writer.append(kind="k", stage="s", status="x", artefacts={"i": 1})
    good = path.read_bytes()
    with path.open("ab") as handle:
        handle.write(b'{"padding":"' + b"x" * (4 << 20))  # 4 MiB, no newline: a runaway write
    tail = read_tail(path, max_line_bytes=1 << 20)
    assert tail.overlong and tail.last_line is None and tail.partial == b""
    with pytest.raises(TornTailError, match="longer than the 1048576-byte line cap"):
        DecisionLogWriter(path, KEY, max_line_bytes=1 << 20)
    outcome = repair_log(path, KEY, max_line_bytes=1 << 20)
    assert outcome is not None and outcome[0].torn_bytes == (4 << 20) + 12
    assert path.read_bytes().startswith(good) and verify_file(path, keyring=KEYRING).ok


def test_an_entry_over_the_cap_is_refused_before_writing(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY, max_line_bytes=4096) as writer:
        before = path.read_bytes()
        with pytest.raises(UserInputError, match="line cap"):
            writer.append(kind="k", stage="s", status="x", artefacts={"blob": "y" * 5000})
    assert path.read_bytes() == before


def test_runtime_and_operators_of_an_environment_share_one_key_id(tmp_path, monkeypatch):
    from tradeops.bootstrap.decision_log_wiring import signing_key
    from tradeops.bootstrap.operator_log import operator_key
    from tradeops.config.load import load_config

    cfg = load_config(REPO_CONFIG)
    for name in [n for n in os.environ if n.startswith("TRADEOPS_DECISION_LOG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "k")
    runtime = signing_key(cfg, tmp_path / "binance_paper.jsonl")
    assert runtime.key_id == operator_key(cfg, os.environ).key_id == cfg.decision_log.key_id
