"""The summary use case: K=V parsing, file digests, summary JSON, tags, validation before any write."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.summary import (
    SummaryRequest,
    append_summary,
    build_summary,
    normalise_tags,
    parse_value,
    standalone_line,
)
from tradeops.decision_log.verify import verify_file
from tradeops.domain.errors import UserInputError


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("true", True),
        ("null", None),
        ('"quoted"', "quoted"),
        ('{"a": [1, "b"]}', {"a": [1, "b"]}),
        ("12.30", "12.30"),  # exact decimal text, never a binary float
        ('{"pnl": -1.5e3}', {"pnl": "-1.5e3"}),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("INC-1", "INC-1"),
        ("", ""),
    ],
)
def test_values_are_json_when_they_parse(text, value):
    assert parse_value(text) == value


def test_tags_are_stripped_and_deduplicated_in_order():
    assert normalise_tags([" rollback ", "b", "rollback", "  ", "a"]) == ["rollback", "b", "a"]


def test_runbook_fields(tmp_path):
    summary_file = tmp_path / "rollback_summary.json"
    summary_file.write_bytes(b'{"summary": {"steps": 7}}\n')
    entry = build_summary(
        SummaryRequest(
            stage="stage4",
            status="rollback_completed",
            hash_algorithm="sha384",
            artefacts=("incident_id=INC-1", "note=a=b"),
            artefact_files=(f"summary_sha384={summary_file}",),
            metadata=("duration_min=12",),
            tags=("rollback", "rollback"),
            runtime_flags=("dry_run=false",),
        )
    )
    assert entry.artefacts == {
        "incident_id": "INC-1",
        "note": "a=b",
        "summary_sha384": "sha384:" + hashlib.sha384(summary_file.read_bytes()).hexdigest(),
    }
    assert entry.metadata == {"duration_min": 12} and entry.tags == ["rollback"] and entry.kind == "snapshot"
    assert entry.extra == {"runtime_flags": {"dry_run": False, "verify_decision_log.summary": True}}


def test_summary_json_is_hashed_canonically(tmp_path):
    document = {"summary": {"b": 1, "a": "é"}, "signature": {"v": "x"}, "metadata": {"by": "ops"}}
    plain, packed = tmp_path / "s.json", tmp_path / "s.json.gz"
    plain.write_text(json.dumps(document, indent=4))
    packed.write_bytes(gzip.compress(json.dumps(document).encode()))
    expected = "sha256:" + hashlib.sha256('{"a":"é","b":1}'.encode()).hexdigest()
    for path in (plain, packed):
        entry = build_summary(SummaryRequest(stage="s", status="x", summary_json=str(path)))
        assert entry.artefacts == {"summary_sha256": expected}
        assert entry.metadata == {
            "summary_path": str(path),
            "summary_signature": {"v": "x"},
            "summary_metadata": {"by": "ops"},
        }


@pytest.mark.parametrize(
    ("request_fields", "match"),
    [
        ({}, "at least one artefact"),
        ({"artefacts": ("novalue",)}, "--artefact 'novalue': expected KEY=VALUE"),
        ({"artefacts": ("=v",)}, "expected KEY=VALUE"),
        ({"metadata": ("x",)}, "--metadata"),
        ({"artefacts": ("a=1", "a=2")}, "given twice"),
        ({"artefact_files": ("d=/nonexistent/file",)}, "not found"),
        ({"artefact_files": ("d",)}, "--artefact-from-file"),
        ({"summary_json": "/nonexistent.json"}, "--summary-json"),
        ({"artefacts": ("a=1",), "timestamp": "soon"}, "ISO 8601"),
        ({"artefacts": ("a=1",), "runtime_flags": ("f=maybe",)}, "true or false"),
        ({"artefacts": ("a=1",), "hash_algorithm": "md5"}, "--hash-algorithm"),
    ],
)
def test_bad_input_is_one_user_error(request_fields, match):
    with pytest.raises(UserInputError, match=match) as excinfo:
        build_summary(SummaryRequest(stage="stage4", status="x", **request_fields))
    assert "\n" not in str(excinfo.value)


def test_summary_json_must_hold_a_summary_object(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"summary": [1]}')
    with pytest.raises(UserInputError, match="'summary' object"):
        build_summary(SummaryRequest(stage="s", status="x", summary_json=str(path)))


def test_append_and_standalone_line(tmp_path):
    key = SigningKey("ops", b"k", "sha384")
    entry = build_summary(
        SummaryRequest(
            stage="stage4", status="restored", artefacts=("a=1",), timestamp="2026-01-01T00:00:00Z"
        )
    )
    line = standalone_line(entry, key, "sha384")
    printed = json.loads(line)
    assert printed["seq"] == 1 and printed["timestamp"] == "2026-01-01T00:00:00+00:00"
    assert printed["signature"]["algorithm"] == "HMAC-SHA384" and printed["log_id"] == "detached"
    path = tmp_path / "log.jsonl"
    written, head = append_summary(entry, path, key, algorithm="sha384")
    ignore = {"seq", "prev_hash", "log_id", "signature"}
    assert {k: v for k, v in written.items() if k not in ignore} == {
        k: v for k, v in printed.items() if k not in ignore
    }
    assert written["seq"] == 2
    assert verify_file(path, keyring={"ops": key}).head == head
