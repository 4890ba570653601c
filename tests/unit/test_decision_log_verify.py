"""Every kind of tampering is reported at the right 1-based line with its reason."""

from __future__ import annotations

import hashlib
import json

import pytest

from tradeops.decision_log.entry import genesis_hash
from tradeops.decision_log.keys import ANY_KEY_ID, SigningKey
from tradeops.decision_log.verify import verify_file, verify_log
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.errors import UserInputError

KEY = SigningKey("ops", b"test-secret", "sha256")
KEYRING = {"ops": KEY}


def write_log(path, count=5, key=KEY, **writer_args):
    with DecisionLogWriter(path, key, **writer_args) as writer:
        for i in range(1, count + 1):
            writer.append(
                kind="test", stage="stage4", status=f"s{i}", artefacts={"i": i}, metadata={"m": "x"}
            )
        return writer.head


def rewrite(path, lines):
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def edit(line: bytes, **changes) -> bytes:
    entry = json.loads(line)
    entry.update(changes)
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log.jsonl"
    head = write_log(path)
    return path, head, path.read_bytes().splitlines()


def check(path, **options):
    return verify_file(path, keyring=options.pop("keyring", KEYRING), **options)


def test_valid_log(log):
    path, head, _ = log
    result = check(path, strict=True)
    assert result.ok and result.entries == 5 and result.head == head
    assert result.first_error_line is None and result.reason is None


def test_edited_line(log):
    path, _, lines = log
    lines[2] = edit(lines[2], status="tampered")
    rewrite(path, lines)
    result = check(path)
    assert not result.ok and result.first_error_line == 3 and "signature mismatch" in result.reason


def test_edited_line_in_an_unsigned_log_is_caught_by_the_chain(tmp_path):
    path = tmp_path / "log.jsonl"
    write_log(path, key=None)
    lines = path.read_bytes().splitlines()
    lines[1] = edit(lines[1], status="tampered")
    rewrite(path, lines)
    result = check(path, keyring={}, allow_unsigned=True)
    assert result.first_error_line == 3 and "prev_hash does not match line 2" in result.reason


def test_deleted_line(log):
    path, _, lines = log
    del lines[1]
    rewrite(path, lines)
    result = check(path)
    assert (
        result.first_error_line == 2 and "seq 3, expected 2" in result.reason and "deleted" in result.reason
    )


def test_deleted_first_line(log):
    path, _, lines = log
    rewrite(path, lines[1:])
    result = check(path)
    assert result.first_error_line == 1 and "seq 2, expected 1" in result.reason


def test_reordered_lines(log):
    path, _, lines = log
    lines[1], lines[3] = lines[3], lines[1]
    rewrite(path, lines)
    result = check(path)
    assert result.first_error_line == 2 and "seq 4, expected 2" in result.reason


def test_inserted_duplicate_line(log):
    path, _, lines = log
    lines.insert(3, lines[1])
    rewrite(path, lines)
    result = check(path)
    assert (
        result.first_error_line == 4 and "seq 2, expected 4" in result.reason and "inserted" in result.reason
    )


def test_inserted_forged_line_with_correct_seq_and_chain(tmp_path, log):
    path, _, lines = log
    forger = tmp_path / "forged.jsonl"
    with DecisionLogWriter(forger, SigningKey("ops", b"guessed-key")) as writer:  # same id, wrong secret
        for i in range(3):
            writer.append(kind="test", stage="stage4", status="forged", artefacts={"i": i})
    forged = forger.read_bytes().splitlines()[2]  # seq 3
    chained = edit(forged, prev_hash="sha256:" + hashlib.sha256(lines[1]).hexdigest())
    rewrite(path, [*lines[:2], chained, *lines[2:]])
    result = check(path)
    assert result.first_error_line == 3 and "signature mismatch" in result.reason


def test_truncation_needs_the_expected_head(log):
    path, head, lines = log
    rewrite(path, lines[:3])
    assert check(path).ok  # a shorter log is still a valid log ...
    result = check(path, expect_head=head)  # ... but not the one whose head was remembered
    assert not result.ok and result.first_error_line == 4
    assert "truncated" in result.reason and "ends at line 3" in result.reason


def test_expected_head_found_in_an_extended_log(log):
    path, head, _ = log
    with DecisionLogWriter(path, KEY) as writer:
        writer.append(kind="test", stage="stage4", status="later", artefacts={"i": 6})
    result = check(path, expect_head=head)
    assert result.ok and result.expect_head_line == 5 and result.entries == 6


def test_expected_head_of_an_empty_log(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"")
    result = check(path, expect_head=genesis_hash("sha256"))
    assert result.ok and result.entries == 0


def test_malformed_expected_head_is_a_user_error(log):
    with pytest.raises(UserInputError, match="--expect-head"):
        check(log[0], expect_head="abc")


def test_wrong_key(log):
    result = check(log[0], keyring={"ops": SigningKey("ops", b"another")})
    assert result.first_error_line == 1 and "signature mismatch" in result.reason


def test_single_key_without_id_checks_every_entry(log):
    assert check(log[0], keyring={ANY_KEY_ID: KEY}, strict=True).ok
    result = check(log[0], keyring={ANY_KEY_ID: SigningKey("x", b"another")})
    assert result.first_error_line == 1


def test_unknown_key_id_fails_only_with_strict(log):
    path = log[0]
    relaxed = check(path, keyring={"other": KEY})
    assert relaxed.ok and relaxed.unchecked == 5
    strict = check(path, keyring={"other": KEY}, strict=True)
    assert strict.first_error_line == 1 and "unknown key id 'ops'" in strict.reason


def test_unsigned_entries(tmp_path):
    path = tmp_path / "log.jsonl"
    write_log(path, count=2)
    with DecisionLogWriter(path, None) as writer:
        writer.append(kind="test", stage="stage4", status="unsigned", artefacts={"i": 3})
    default = check(path)
    assert default.first_error_line == 3 and "unsigned" in default.reason
    allowed = check(path, allow_unsigned=True)
    assert allowed.ok and allowed.unsigned == 1
    strict = check(path, allow_unsigned=True, strict=True)
    assert strict.first_error_line == 3 and "--strict" in strict.reason


def test_torn_last_line_without_newline(log):
    path, _, lines = log
    path.write_bytes(b"".join(line + b"\n" for line in lines) + lines[0][:40])
    result = check(path)
    assert result.first_error_line == 6 and "torn last line" in result.reason and "repair" in result.reason


def test_last_line_cut_before_its_newline(log):
    path = log[0]
    path.write_bytes(path.read_bytes()[:-1])
    result = check(path)
    assert result.first_error_line == 5 and "no trailing newline" in result.reason


def test_unparsable_last_line_is_torn_but_a_middle_one_is_corrupt(log):
    path, _, lines = log
    rewrite(path, [*lines, b"\x00\x00\x00"])
    torn = check(path)
    assert torn.first_error_line == 6 and "torn last line" in torn.reason
    rewrite(path, [*lines[:2], b"{garbage", *lines[2:]])
    corrupt = check(path)
    assert corrupt.first_error_line == 3 and corrupt.reason == "not valid JSON"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seq": "3"}, "field 'seq' must be int"),
        ({"artefacts": []}, "field 'artefacts' must be an object"),
        ({"status": ""}, "field 'status' is empty"),
        ({"timestamp": "2026-01-01T00:00:00+02:00"}, "not UTC"),
        ({"prev_hash": "md5:00"}, "prev_hash 'md5:00'"),
        ({"signature": {"algorithm": "HMAC-MD5", "key_id": "ops", "value": "x"}}, "signature must be"),
    ],
)
def test_schema_problems(log, change, reason):
    path, _, lines = log
    lines[2] = edit(lines[2], **change)
    rewrite(path, lines)
    result = check(path)
    assert result.first_error_line == 3 and reason in result.reason


def test_missing_field(log):
    path, _, lines = log
    entry = json.loads(lines[0])
    del entry["tags"]
    rewrite(path, [json.dumps(entry).encode(), *lines[1:]])
    result = check(path)
    assert result.first_error_line == 1 and "missing field 'tags'" in result.reason


def test_key_rotation_two_key_ids_in_one_log(tmp_path):
    path = tmp_path / "log.jsonl"
    old, new = SigningKey("2025-q4", b"old-secret"), SigningKey("2026-q1", b"new-secret", "sha384")
    write_log(path, count=3, key=old)
    with DecisionLogWriter(path, new) as writer:
        writer.append(kind="test", stage="stage4", status="rotated", artefacts={"i": 4})
    keyring = {
        "2025-q4": SigningKey("2025-q4", b"old-secret"),
        "2026-q1": SigningKey("2026-q1", b"new-secret"),
    }
    result = check(path, keyring=keyring, strict=True)
    assert result.ok and result.entries == 4 and result.head.startswith("sha384:")
    partial = check(path, keyring={"2025-q4": old}, strict=True)
    assert partial.first_error_line == 4 and "unknown key id '2026-q1'" in partial.reason


def test_authentic_entry_in_non_canonical_form_is_accepted(log):
    path, _, lines = log
    lines[-1] = json.dumps(json.loads(lines[-1]), indent=1).replace("\n", "").encode()
    rewrite(path, lines)
    assert check(path, strict=True).ok


def test_unreadable_paths_are_user_errors(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        check(tmp_path / "missing.jsonl")
    with pytest.raises(UserInputError, match="directory"):
        check(tmp_path)


def test_verify_log_over_several_files(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_log(first, count=2)
    head = write_log(second, count=3)
    result = verify_log([first, second], keyring=KEYRING, strict=True)
    assert result.ok and result.entries == 5 and result.head == head
    second.write_bytes(second.read_bytes().replace(b'"s2"', b'"S2"'))
    failed = verify_log([first, second], keyring=KEYRING)
    assert not failed.ok and failed.path == str(second) and failed.first_error_line == 2
