"""The writer: genesis, chained signed entries, reopen, one writer per file, group commit, torn tails,
anchor, key checks on open, recovery after a failed write."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tradeops.decision_log.entry import genesis_hash
from tradeops.decision_log.errors import LogLockedError, LogWriteError, TornTailError
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.reader import iter_entries, tail
from tradeops.decision_log.repair import repair_log
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.errors import UserInputError

KEY = SigningKey("ops", b"test-secret", "sha256")


class StepClock:
    """Deterministic clock: each call is one second later."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 21, 3, 20, 908285, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def append(writer: DecisionLogWriter, status: str = "ok", **extra_fields):
    return writer.append(kind="test", stage="stage4", status=status, artefacts={"n": status}, **extra_fields)


def lines_on_disk(path):
    return path.read_bytes().splitlines()


def test_entries_are_chained_signed_canonical_lines(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY, clock=StepClock()) as writer:
        first = append(writer, "a", metadata={"duration_min": 12}, tags=["rollback"])
        second = append(writer, "b")
    lines = lines_on_disk(path)
    genesis = json.loads(lines[0])
    assert genesis["kind"] == "log_genesis" and genesis["seq"] == 1
    assert genesis["prev_hash"] == genesis_hash("sha256")
    assert genesis["artefacts"] == {
        "created": "2026-11-21T21:03:21.908285+00:00",
        "environment": "log",
        "format": 2,
        "key_id": "ops",
    }
    assert first["seq"] == 2 and first["prev_hash"] == "sha256:" + hashlib.sha256(lines[0]).hexdigest()
    assert second["seq"] == 3 and second["prev_hash"] == "sha256:" + hashlib.sha256(lines[1]).hexdigest()
    assert first["log_id"] == second["log_id"] == genesis["log_id"] == writer.log_id
    assert first["timestamp"] == "2026-11-21T21:03:22.908285+00:00"
    assert first["signature"]["algorithm"] == "HMAC-SHA256" and first["signature"]["key_id"] == "ops"
    for line, entry in zip(lines[1:], (first, second), strict=True):
        assert json.loads(line) == entry
        assert line == json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert writer.head == "sha256:" + hashlib.sha256(lines[2]).hexdigest()


def test_the_mac_covers_key_id_and_algorithm(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY) as writer:
        entry = append(writer)
    unsigned = dict(entry, signature={"algorithm": "HMAC-SHA256", "key_id": "ops"})
    data = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    expected = base64.b64encode(hmac.digest(b"test-secret", data, "sha256")).decode()
    assert entry["signature"]["value"] == expected


def test_reopen_continues_the_chain(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY) as writer:
        append(writer, "a")
        head = writer.head
    with DecisionLogWriter(path, KEY) as writer:
        assert writer.seq == 2 and writer.head == head
        entry = append(writer, "b")
    assert entry["seq"] == 3 and entry["prev_hash"] == head
    assert verify_file(path, keyring={"ops": KEY}, strict=True).ok


def test_sha384_key_chains_and_signs_with_sha384(tmp_path):
    path = tmp_path / "log.jsonl"
    key = SigningKey("ops", b"k", "sha384")
    with DecisionLogWriter(path, key) as writer:
        entry = append(writer)
    assert json.loads(lines_on_disk(path)[0])["prev_hash"] == genesis_hash("sha384")
    assert entry["prev_hash"].startswith("sha384:")
    assert entry["signature"]["algorithm"] == "HMAC-SHA384"
    assert writer.head.startswith("sha384:") and len(writer.head) == 7 + 96


def test_unsigned_writer_has_no_signature(tmp_path):
    with DecisionLogWriter(tmp_path / "log.jsonl", None) as writer:
        entry = append(writer)
    assert "signature" not in entry


def test_second_writer_is_refused_while_the_first_is_open(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY), pytest.raises(LogLockedError, match="another writer"):
        DecisionLogWriter(path, KEY)
    with DecisionLogWriter(path, KEY) as writer:  # released on close
        append(writer)


def test_second_writer_waits_for_the_lock_when_asked(tmp_path):
    path = tmp_path / "log.jsonl"
    first = DecisionLogWriter(path, KEY)
    append(first, "first")
    releaser = threading.Timer(0.2, first.close)
    releaser.start()
    with DecisionLogWriter(path, KEY, lock_timeout=30) as second:
        entry = append(second, "second")
    releaser.join()
    assert entry["seq"] == 3


def test_flush_makes_acknowledged_entries_durable_and_readable(tmp_path):
    path = tmp_path / "log.jsonl"
    durable: list[int] = []
    writer = DecisionLogWriter(path, KEY, group_entries=1000, group_ms=60_000, on_durable=durable.append)
    try:
        for i in range(250):
            append(writer, f"s{i}")
        assert writer.durable_seq == 1  # only the genesis before the batch is full or flushed
        writer.flush()
        assert writer.durable_seq == 251 and durable == [1, 251]
        # Read through a separate descriptor while the writer is still open.
        statuses = [entry["status"] for _n, entry in iter_entries(path)]
        assert statuses == ["created"] + [f"s{i}" for i in range(250)]
    finally:
        writer.close()


def wait_until(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)
    return condition()


def test_full_batches_are_written_at_once_and_synced_without_flush(tmp_path):
    path = tmp_path / "log.jsonl"
    durable: list[int] = []
    with DecisionLogWriter(path, KEY, group_entries=10, group_ms=60_000, on_durable=durable.append) as writer:
        for i in range(25):
            append(writer, f"s{i}")
        assert len(lines_on_disk(path)) == 21  # genesis, two full batches; the third still buffered
        assert wait_until(lambda: writer.durable_seq == 21)
    assert durable == sorted(durable) and durable[-1] == 26 and 21 in durable


def test_partial_batch_commits_after_group_ms(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY, group_entries=1000, group_ms=1.0) as writer:
        append(writer)
        assert wait_until(lambda: writer.durable_seq == 2)
        assert len(lines_on_disk(path)) == 2


def test_fsync_each_is_durable_on_return(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY, fsync_mode="each") as writer:
        append(writer)
        assert writer.durable_seq == 2 and len(lines_on_disk(path)) == 2


def test_close_commits_and_append_after_close_fails(tmp_path):
    path = tmp_path / "log.jsonl"
    writer = DecisionLogWriter(path, KEY, group_entries=1000, group_ms=60_000)
    append(writer)
    writer.close()
    writer.close()
    assert len(lines_on_disk(path)) == 2
    with pytest.raises(UserInputError, match="closed"):
        append(writer)


def test_concurrent_appenders_keep_the_chain(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY, group_entries=7) as writer:
        threads = [
            threading.Thread(target=lambda t=t: [append(writer, f"{t}-{i}") for i in range(200)])
            for t in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    result = verify_file(path, keyring={"ops": KEY}, strict=True)
    assert result.ok and result.entries == 801


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"artefacts": {"x": float("nan")}}, "non-finite"),
        ({"metadata": {"x": float("inf")}}, "non-finite"),
        ({"extra": {"seq": 5}}, "reserved"),
        ({"artefacts": {1: "a"}}, "str"),
        ({"artefacts": {"nested": {1: "a"}}}, "not a string"),
        # The tiny float sends the entry through the standard library, which would stringify 1.
        ({"artefacts": {1: "a"}, "metadata": {"tiny": 1e-9}}, "not a string"),
        ({"metadata": {"tiny": 1e-9}, "extra": {"zeta": {2: "b"}}}, "not a string"),
        ({"stage": ""}, "non-empty"),
        ({"tags": [1]}, "tags"),
        ({"timestamp": "2026-01-01T00:00:00"}, "time zone"),
        ({"timestamp": "yesterday"}, "ISO 8601"),
    ],
)
def test_invalid_entries_are_refused_and_nothing_is_written(tmp_path, fields, match):
    path = tmp_path / "log.jsonl"
    values = {"kind": "k", "stage": "s", "status": "st", "artefacts": {"a": 1}} | fields
    with DecisionLogWriter(path, KEY) as writer:
        before = path.read_bytes()
        with pytest.raises(UserInputError, match=match):
            writer.append(**values)
        assert writer.seq == 1
    assert path.read_bytes() == before


def test_extra_fields_and_timestamps_are_normalised_to_utc(tmp_path):
    with DecisionLogWriter(tmp_path / "log.jsonl", KEY) as writer:
        entry = append(writer, extra={"runtime_flags": {"x": True}}, timestamp="2026-11-21T23:03:20+02:00")
    assert entry["runtime_flags"] == {"x": True}
    assert entry["timestamp"] == "2026-11-21T21:03:20+00:00"


def test_torn_tail_refuses_append_until_repaired(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY) as writer:
        append(writer, "a")
        append(writer, "b")
    good = path.read_bytes()
    with path.open("ab") as handle:
        handle.write(b'{"artefacts":{"n":"c"},"kind":"te')  # a crash in the middle of a write
    with pytest.raises(TornTailError, match="line 4 is torn") as excinfo:
        DecisionLogWriter(path, KEY)
    assert "tradeops decision-log repair" in str(excinfo.value)
    assert path.read_bytes().startswith(good)

    outcome = repair_log(path, KEY, clock=StepClock())
    assert outcome is not None
    info, entry = outcome
    assert info.quarantine.read_bytes() == b'{"artefacts":{"n":"c"},"kind":"te'
    assert info.first_line == 4 and info.torn_bytes == 33
    assert entry["kind"] == "log_repair" and entry["seq"] == 4 and entry["stage"] == "log"
    assert entry["artefacts"]["quarantine"] == str(info.quarantine)
    assert verify_file(path, keyring={"ops": KEY}, strict=True).ok
    assert repair_log(path, KEY) is None  # nothing left to repair


def test_unparsable_last_line_is_quarantined_too(tmp_path):
    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY) as writer:
        append(writer, "a")
    with path.open("ab") as handle:
        handle.write(b"\x00\x00\x00\n")  # zero-filled block after a power loss
    with pytest.raises(TornTailError, match="not valid JSON"):
        DecisionLogWriter(path, KEY)
    outcome = repair_log(path, KEY)
    assert outcome is not None and outcome[0].first_line == 3
    assert [entry["kind"] for entry in tail(path, 5)] == ["log_genesis", "test", "log_repair"]


def test_unchained_legacy_log_is_refused(tmp_path):
    path = tmp_path / "legacy.jsonl"
    path.write_text('{"kind": "snapshot", "stage": "stage4"}\n')
    with pytest.raises(UserInputError, match="not a valid entry"):
        DecisionLogWriter(path, KEY)


def test_format_1_log_is_refused_with_a_migration_hint(tmp_path):
    path = tmp_path / "old.jsonl"
    old = {"artefacts": {"a": 1}, "kind": "k", "metadata": {}, "prev_hash": genesis_hash("sha256"), "seq": 1,
           "stage": "s", "status": "x", "tags": [], "timestamp": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    path.write_text(json.dumps(old, sort_keys=True, separators=(",", ":")) + "\n")
    with pytest.raises(UserInputError, match="format 1") as excinfo:
        DecisionLogWriter(path, KEY)
    assert f"mv {path} {path}.format1" in str(excinfo.value)


def test_unwritable_location_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserInputError, match="cannot open"):
        DecisionLogWriter(blocker / "log.jsonl", KEY)


def test_a_failed_fsync_stops_the_writer_and_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "log.jsonl"
    writer = DecisionLogWriter(path, KEY, group_entries=1000, group_ms=60_000)
    append(writer, "a")

    def broken_fdatasync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("tradeops.decision_log.writer.os.fdatasync", broken_fdatasync)
    with pytest.raises(LogWriteError, match="entries after seq 1 are not on disk"):
        writer.flush()
    with pytest.raises(LogWriteError):
        append(writer, "b")
    with pytest.raises(LogWriteError):
        writer.close()


def test_the_anchor_follows_the_durable_head_while_the_writer_is_open(tmp_path):
    from tradeops.decision_log.anchor import read_anchor

    path = tmp_path / "log.jsonl"
    with DecisionLogWriter(path, KEY, group_entries=10, anchor_interval_s=0.05) as writer:
        for i in range(25):
            append(writer, f"s{i}")
        writer.flush()

        def anchored_seq():
            anchor, problem = read_anchor(path, {"ops": KEY})
            assert problem is None
            return anchor.seq if anchor else 0

        # Written by the anchor thread (group mode), never ahead of what is durable.
        assert wait_until(lambda: anchored_seq() == writer.durable_seq == 26)
        assert read_anchor(path, {"ops": KEY})[0].head == writer.durable_head()[1]
