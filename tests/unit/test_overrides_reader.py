"""The override reader is fail-safe: only an absent or expired file lets trading continue."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tradeops.config.overrides import OverrideFile
from tradeops.domain.clock import iso_to_ms
from tradeops.host.override_files import read_override, read_overrides

NOW = iso_to_ms("2026-03-01T12:00:00Z")


def document(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "schema": "stage4.scheduler.override",
        "schema_version": "1.0",
        "timestamp": "2026-03-01T11:00:00Z",
        "action": "disable_multi_strategy",
        "reason": "feed outage",
        "ticket": "INC-42",
        "requested_by": "l2-ops",
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def put(
    directory: Path, payload: object, name: str = "multi_strategy_disable.json", mode: int = 0o600
) -> Path:
    path = directory / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    path.chmod(mode)
    return path


def test_missing_file_is_inactive(tmp_path: Path) -> None:
    state = read_override(tmp_path / "multi_strategy_disable.json", NOW)
    assert not state.active and not state.malformed and not state.present


def test_valid_file_is_active_with_its_details(tmp_path: Path) -> None:
    path = put(tmp_path, document(on_disable={"cancel_open_orders": False, "positions": "flatten"}))
    state = read_override(path, NOW)
    assert state.active and not state.malformed and not state.expired
    assert state.component == "multi_strategy" and state.path == path
    assert state.reason == "feed outage"
    assert state.on_disable.positions == "flatten" and not state.on_disable.cancel_open_orders


def test_defaults_cancel_open_orders_and_hold_positions(tmp_path: Path) -> None:
    state = read_override(put(tmp_path, document()), NOW)
    assert state.on_disable.cancel_open_orders and state.on_disable.positions == "hold"


def test_future_expiry_is_active_until_then(tmp_path: Path) -> None:
    path = put(tmp_path, document(expires_at="2026-03-01T12:30:00Z"))
    state = read_override(path, NOW)
    assert state.active and state.expires_ms == iso_to_ms("2026-03-01T12:30:00Z")
    assert state.active_at(NOW + 29 * 60_000)
    assert not state.active_at(NOW + 30 * 60_000)  # expires by itself, before any re-read


def test_expired_file_is_inactive_and_reported_as_expired(tmp_path: Path) -> None:
    state = read_override(put(tmp_path, document(expires_at="2026-03-01T11:59:59Z")), NOW)
    assert not state.active and state.expired and state.present and not state.malformed


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (document(schema="stage6.scheduler.override"), "unknown schema"),
        (document(schema_version="2.0"), "schema_version"),
        (document(reason=None), "missing field 'reason'"),
        (document(ticket=None), "missing field 'ticket'"),
        (document(reason="   "), "reason"),
        (document(timestamp="2026-03-01 11:00:00"), "timestamp"),
        (document(expires_at="tomorrow"), "expires_at"),
        (document(action="disable_decision_orchestrator"), "does not match file name"),
        (document(surprise=True), "unknown field 'surprise'"),
        (document(on_disable={"positions": "sell_everything"}), "on_disable.positions"),
    ],
)
def test_untrusted_content_fails_safe(tmp_path: Path, payload: object, problem: str) -> None:
    state = read_override(put(tmp_path, payload), NOW)
    assert state.active and state.malformed
    assert problem in state.problem
    assert "malformed override" in state.reason


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o400, 0o700])
def test_permissions_other_than_600_fail_safe(tmp_path: Path, mode: int) -> None:
    state = read_override(put(tmp_path, document(), mode=mode), NOW)
    assert state.active and state.malformed
    assert f"{mode:04o}" in state.problem and "0600" in state.problem


def test_symlink_fails_safe_even_to_a_valid_file(tmp_path: Path) -> None:
    real = put(tmp_path, document(), name="elsewhere.json")
    link = tmp_path / "multi_strategy_disable.json"
    link.symlink_to(real)
    state = read_override(link, NOW)
    assert state.active and state.malformed and "symlink" in state.problem


def test_directory_in_place_of_the_file_fails_safe(tmp_path: Path) -> None:
    (tmp_path / "multi_strategy_disable.json").mkdir(mode=0o700)
    state = read_override(tmp_path / "multi_strategy_disable.json", NOW)
    assert state.active and state.malformed


def test_expired_but_malformed_still_halts(tmp_path: Path) -> None:
    state = read_override(put(tmp_path, document(expires_at="2020-01-01T00:00:00Z"), mode=0o644), NOW)
    assert state.active and state.malformed and not state.expired


def test_read_overrides_combines_components_most_severe_first(tmp_path: Path) -> None:
    put(tmp_path, document(expires_at="2026-03-01T11:59:59Z"))
    orchestrator = document(action="disable_decision_orchestrator", reason="orchestrator bug")
    put(tmp_path, orchestrator, name="decision_orchestrator_disable.json")
    state = read_overrides(tmp_path, NOW)
    assert state.active and state.component == "decision_orchestrator"
    assert state.reason == "orchestrator bug"
    assert {f.component: (f.active, f.expired) for f in state.files} == {
        "multi_strategy": (False, True),
        "decision_orchestrator": (True, False),
    }
    os.unlink(tmp_path / "decision_orchestrator_disable.json")
    only_expired = read_overrides(tmp_path, NOW)
    assert not only_expired.active and only_expired.expired


def test_document_round_trip_omits_absent_optional_keys() -> None:
    doc = OverrideFile.model_validate(document())
    assert "expires_at" not in doc.to_json()
    assert doc.to_json()["schema"] == "stage4.scheduler.override"
    assert OverrideFile.model_validate(doc.to_json()) == doc
