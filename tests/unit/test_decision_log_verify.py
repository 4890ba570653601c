"""Every kind of tampering is reported at the right 1-based line with its reason (default verify)."""

from __future__ import annotations

import hashlib
import json

import pytest

from tradeops.decision_log.anchor import anchor_path
from tradeops.decision_log.entry import genesis_hash
from tradeops.decision_log.keys import ANY_KEY_ID, SigningKey
from tradeops.decision_log.verify import verify_file, verify_log
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.errors import UserInputError

KEY = SigningKey("ops", b"test-secret", "sha256")
KEYRING = {"ops": KEY}


def write_log(path, count=5, key=KEY, **writer_args):
    """Genesis (line 1) plus `count` entries s1..sN (lines 2..N+1)."""
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
    result = check(path)
    assert result.ok and result.entries == 6 and result.head == head and result.anchor_seq == 6
    assert result.first_error_line is None and result.reason is None and result.log_id


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
    del lines[2]
    rewrite(path, lines)
    result = check(path)
    assert (
        result.first_error_line == 3 and "seq 4, expected 3" in result.reason and "deleted" in result.reason
    )


def test_deleted_genesis(log):
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
    write_log(forger, count=3, key=SigningKey("ops", b"guessed-key"))  # same id, wrong secret
    forged = forger.read_bytes().splitlines()[2]  # seq 3
    chained = edit(forged, prev_hash="sha256:" + hashlib.sha256(lines[1]).hexdigest())
    rewrite(path, [*lines[:2], chained, *lines[2:]])
    result = check(path)
    assert result.first_error_line == 3 and not result.ok


# --- the attack cases of issue 14 -------------------------------------------------------------------


def test_forged_entries_under_an_unknown_key_id_fail_by_default(log):
    """Lines 2-5 re-chained with changed content and key_id "legacy-2025" gave `OK` before."""
    path, head, lines = log
    forged = list(lines[:1])
    for line in lines[1:5]:
        prev = "sha256:" + hashlib.sha256(forged[-1]).hexdigest()
        signature = {"algorithm": "HMAC-SHA256", "key_id": "legacy-2025", "value": "x"}
        forged.append(edit(line, prev_hash=prev, signature=signature, artefacts={"value": "x"}))
    rewrite(path, forged + lines[5:])
    for options in ({}, {"expect_head": head}):
        result = check(path, **options)
        assert result.first_error_line == 2 and "unknown key id 'legacy-2025'" in result.reason


@pytest.mark.parametrize("keep", [5, 1])
def test_truncation_fails_by_default(log, keep):
    path, _, lines = log
    rewrite(path, lines[:keep])
    result = check(path)
    assert not result.ok and result.first_error_line == keep + 1
    assert "truncated" in result.reason and "anchor records seq 6" in result.reason


def test_an_emptied_log_fails(log):
    log[0].write_bytes(b"")
    result = check(log[0])
    assert not result.ok and "empty" in result.reason


def test_an_older_copy_put_back_fails(log):
    path, _, lines = log
    older = b"".join(line + b"\n" for line in lines)
    with DecisionLogWriter(path, KEY) as writer:
        writer.append(kind="test", stage="stage4", status="later", artefacts={"i": 7})
    path.write_bytes(older)
    result = check(path)
    assert result.first_error_line == 7 and "anchor records seq 7" in result.reason


def test_another_log_signed_with_the_same_key_in_its_place(tmp_path, log):
    path, head, _ = log
    other = tmp_path / "other.jsonl"
    write_log(other, count=5)
    path.write_bytes(other.read_bytes())  # the log alone replaced: its anchor names another log
    result = check(path)
    assert result.first_error_line == 1 and "another log in its place" in result.reason
    # Log and anchor both replaced: only an external anchor (a ticket) can tell; it names the log id.
    anchor_path(path).write_bytes(anchor_path(other).read_bytes())
    assert check(path).ok
    assert not check(path, expect_head=head).ok


def test_allow_unsigned_does_not_admit_a_garbage_signature(log):
    path, _, lines = log
    lines[2] = edit(
        lines[2], status="forged", signature={"algorithm": "HMAC-SHA256", "key_id": "ops", "value": "AAAA"}
    )
    rewrite(path, lines)
    result = check(path, keyring={}, allow_unsigned=True, check_anchor=False)  # no key at all
    assert result.first_error_line == 1 and "unknown key id 'ops'" in result.reason
    assert "key id 'ops'" in check(path, keyring={}, allow_unsigned=True).reason  # the anchor's
    result = check(path, allow_unsigned=True)
    assert result.first_error_line == 3 and "signature mismatch" in result.reason


def test_the_signature_covers_the_key_id(log):
    path, _, lines = log
    twin = SigningKey("ops-twin", b"test-secret")  # another id with the same secret
    lines[2] = edit(lines[2], signature={**json.loads(lines[2])["signature"], "key_id": "ops-twin"})
    rewrite(path, lines)
    result = check(path, keyring={"ops": KEY, "ops-twin": twin})
    assert result.first_error_line == 3 and "key id 'ops-twin'" in result.reason


def test_the_signature_covers_the_algorithm(log):
    path, _, lines = log
    lines[2] = edit(lines[2], signature={**json.loads(lines[2])["signature"], "algorithm": "HMAC-SHA384"})
    rewrite(path, lines)
    result = check(path)
    assert result.first_error_line == 3 and "signature mismatch" in result.reason


def test_reserialised_authentic_entry_fails(log):
    path, _, lines = log
    lines[-1] = json.dumps(json.loads(lines[-1]), indent=1).replace("\n", "").encode()
    rewrite(path, lines)
    result = check(path)
    assert result.first_error_line == 6 and "not in canonical form" in result.reason


def test_duplicate_key_before_the_real_one_fails(log):
    path, _, lines = log
    lines[4] = lines[4].replace(b'"status":"s4"', b'"status":"FORGED","status":"s4"')
    rewrite(path, lines)
    result = check(path)
    assert result.first_error_line == 5 and "duplicate key 'status'" in result.reason


def test_spliced_line_from_a_second_log_with_the_same_key(tmp_path, log):
    path, _, lines = log
    other = tmp_path / "other.jsonl"
    write_log(other, count=5)
    foreign = other.read_bytes().splitlines()[3]
    rewrite(
        path,
        [*lines[:3], edit(foreign, prev_hash="sha256:" + hashlib.sha256(lines[2]).hexdigest()), *lines[4:]],
    )
    result = check(path)
    assert result.first_error_line == 4 and not result.ok


def test_expect_head_accepts_the_anchor_line(log):
    path, head, _ = log
    from tradeops.decision_log.anchor import read_anchor

    anchor, _ = read_anchor(path, KEYRING)
    assert anchor is not None and anchor.head == head
    assert check(path, expect_head=anchor.one_line(path)).ok
    other = anchor.one_line(path).replace(f"log_id={anchor.log_id}", "log_id=another-log")
    result = check(path, expect_head=other)
    assert result.first_error_line == 1 and "another log in its place" in result.reason


# --- options and other failures ------------------------------------------------------------------


def test_expected_head_found_in_an_extended_log(log):
    path, head, _ = log
    with DecisionLogWriter(path, KEY) as writer:
        writer.append(kind="test", stage="stage4", status="later", artefacts={"i": 6})
    result = check(path, expect_head=head)
    assert result.ok and result.expect_head_line == 6 and result.entries == 7


def test_entries_after_the_anchor_are_accepted_and_counted(log):
    path, _, _ = log
    with DecisionLogWriter(path, KEY, anchor_interval_s=3600) as writer:
        writer.append(kind="test", stage="stage4", status="later", artefacts={"i": 6})
        writer.flush()
        result = check(path)  # the anchor still says seq 6 while the writer runs
    assert result.ok and result.entries == 7 and result.anchor_seq == 6
    assert check(path).anchor_seq == 7  # close anchors the head


def test_missing_anchor_fails_unless_no_anchor(log):
    path = log[0]
    anchor_path(path).unlink()
    result = check(path)
    assert not result.ok and "no anchor" in result.reason and "--no-anchor" in result.reason
    relaxed = check(path, check_anchor=False)
    assert relaxed.ok and relaxed.anchor_seq is None


def test_forged_anchor_fails(log):
    path = log[0]
    anchor = json.loads(anchor_path(path).read_bytes())
    anchor["seq"] = 3
    anchor_path(path).write_text(json.dumps(anchor, sort_keys=True, separators=(",", ":")) + "\n")
    result = check(path)
    assert not result.ok and "signature mismatch" in result.reason


def test_malformed_expected_head_is_a_user_error(log):
    with pytest.raises(UserInputError, match="--expect-head"):
        check(log[0], expect_head="abc")


def test_wrong_key(log):
    result = check(log[0], keyring={"ops": SigningKey("ops", b"another")})
    assert not result.ok and "signature mismatch" in result.reason


def test_single_key_without_id_checks_every_entry(log):
    assert check(log[0], keyring={ANY_KEY_ID: KEY}).ok
    result = check(log[0], keyring={ANY_KEY_ID: SigningKey("x", b"another")})
    assert not result.ok and "signature mismatch" in result.reason


def test_unsigned_entries(tmp_path):
    path = tmp_path / "log.jsonl"
    write_log(path, count=2, key=None)
    default = check(path, keyring={})
    assert default.first_error_line == 0 and "unsigned" in default.reason  # the anchor first
    allowed = check(path, keyring={}, allow_unsigned=True)
    assert allowed.ok and allowed.unsigned == 3
    assert check(path, keyring={}, allow_unsigned=True, check_anchor=False).unsigned == 3
    assert "entry is unsigned" in check(path, keyring={}, check_anchor=False).reason


def test_torn_last_line_without_newline(log):
    path, _, lines = log
    path.write_bytes(b"".join(line + b"\n" for line in lines) + lines[0][:40])
    result = check(path)
    assert result.first_error_line == 7 and "torn last line" in result.reason and "repair" in result.reason


def test_last_line_cut_before_its_newline(log):
    path = log[0]
    path.write_bytes(path.read_bytes()[:-1])
    result = check(path)
    assert result.first_error_line == 6 and "no trailing newline" in result.reason


def test_unparsable_last_line_is_torn_but_a_middle_one_is_corrupt(log):
    path, _, lines = log
    rewrite(path, [*lines, b"\x00\x00\x00"])
    torn = check(path)
    assert torn.first_error_line == 7 and "torn last line" in torn.reason
    rewrite(path, [*lines[:2], b"{garbage", *lines[2:]])
    corrupt = check(path)
    assert corrupt.first_error_line == 3 and corrupt.reason == "not valid JSON"


def test_a_line_over_the_cap_fails_with_bounded_reads(log):
    path, _, lines = log
    rewrite(path, [*lines[:3], b'{"padding":"' + b"x" * 3 * 1024 * 1024 + b'"}', *lines[3:]])
    result = check(path, max_line_bytes=1024 * 1024)
    assert result.first_error_line == 4 and "longer than the 1048576-byte line cap" in result.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seq": "3"}, "field 'seq' must be int"),
        ({"artefacts": []}, "field 'artefacts' must be an object"),
        ({"status": ""}, "field 'status' is empty"),
        ({"timestamp": "2026-01-01T00:00:00+02:00"}, "not UTC"),
        ({"prev_hash": "md5:00"}, "prev_hash 'md5:00'"),
        ({"signature": {"algorithm": "HMAC-MD5", "key_id": "ops", "value": "x"}}, "algorithm 'HMAC-MD5'"),
        ({"signature": {"key_id": "ops", "value": "x"}}, "signature must be"),
        ({"log_id": "another"}, "from another log"),
        ({"kind": "log_genesis"}, "second genesis"),
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
    entry = json.loads(lines[1])
    del entry["tags"]
    rewrite(path, [lines[0], edit(json.dumps(entry).encode()), *lines[2:]])
    result = check(path)
    assert result.first_error_line == 2 and "missing field 'tags'" in result.reason


def test_format_1_log_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "old.jsonl"
    old = {"artefacts": {"a": 1}, "kind": "k", "metadata": {}, "prev_hash": genesis_hash("sha256"), "seq": 1,
           "stage": "s", "status": "x", "tags": [], "timestamp": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    path.write_text(json.dumps(old, sort_keys=True, separators=(",", ":")) + "\n")
    result = check(path, check_anchor=False)
    assert result.first_error_line == 1 and "format 1" in result.reason


def test_unreadable_paths_are_user_errors(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        check(tmp_path / "missing.jsonl", check_anchor=False)
    with pytest.raises(UserInputError, match="directory"):
        check(tmp_path, check_anchor=False)


def test_verify_log_over_several_files(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_log(first, count=2)
    head = write_log(second, count=3)
    result = verify_log([first, second], keyring=KEYRING)
    assert result.ok and result.entries == 7 and result.head == head
    second.write_bytes(second.read_bytes().replace(b'"s2"', b'"S2"'))
    failed = verify_log([first, second], keyring=KEYRING)
    assert not failed.ok and failed.path == str(second) and failed.first_error_line == 3
