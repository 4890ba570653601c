"""Which configuration changes a running scheduler takes live, and which need a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeops.config.load import load_config, validate_config_text
from tradeops.config.models import AppConfig
from tradeops.ops.config_diff import diff_configs
from tradeops.ops.config_handoff import HandoffError, read_pending, sha384, write_pending

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "config" / "core.yaml").read_text()
BASE = load_config(REPO / "config" / "core.yaml")


def _edited(old: str, new: str) -> AppConfig:
    assert old in TEXT
    cfg, problems = validate_config_text(TEXT.replace(old, new, 1), "core.yaml")
    assert cfg is not None, problems
    return cfg


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("      cross_exchange: 0.15", "      cross_exchange: 0.0"),
        ("max_daily_loss_pct: 0.015", "max_daily_loss_pct: 0.012"),
        ("    positions: hold", "    positions: flatten"),
    ],
)
def test_live_changes(old: str, new: str) -> None:
    diff = diff_configs(BASE, _edited(old, new))
    assert diff.live and len(diff.changes) == 1


def test_a_restart_change_refuses_the_whole_diff() -> None:
    text = TEXT.replace("      cross_exchange: 0.15", "      cross_exchange: 0.0", 1)
    cfg, _ = validate_config_text(text.replace("maker_fee: 0.0002", "maker_fee: 0.0003", 1), "core.yaml")
    assert cfg is not None
    diff = diff_configs(BASE, cfg)
    assert not diff.live and len(diff.changes) == 2
    assert all("maker_fee" in line for line in diff.restart_required)


def test_identical_is_empty() -> None:
    assert diff_configs(BASE, BASE).changes == ()


def test_a_handoff_whose_text_changed_is_refused(tmp_path: Path) -> None:
    write_pending(tmp_path, request_id="r", text=b"a: 1\n", source="x", requested_at="t", ticket="")
    pending = read_pending(tmp_path)
    assert pending is not None and pending.digest == sha384(b"a: 1\n")
    (tmp_path / "pending.yaml").write_bytes(b"a: 2\n")
    with pytest.raises(HandoffError, match="differs from the manifest"):
        read_pending(tmp_path)
    (tmp_path / "pending.json").write_text("{not json")
    with pytest.raises(HandoffError, match="not a readable JSON manifest"):
        read_pending(tmp_path)
