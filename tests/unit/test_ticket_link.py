"""Tickets flow: a change without --ticket links to the one open incident; the scheduler's own
entry for a removed override carries the removed override's ticket."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tradeops.bootstrap.ops import build_ops_context
from tradeops.cli.main import main
from tradeops.decision_log.reader import iter_entries
from tradeops.host.override_files import read_overrides
from tradeops.ops.controls import Actor, create_override, reconcile_override_events

REPO = Path(__file__).resolve().parents[2]
OPS_LOG = Path("audit/decision_logs/stage4.jsonl")


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "ticket-test-key")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE", raising=False)
    monkeypatch.delenv("TRADEOPS_CONFIG", raising=False)
    return tmp_path


def last_entry() -> dict:
    return [entry for _, entry in iter_entries(OPS_LOG)][-1]


def test_a_change_without_ticket_links_to_the_one_open_incident(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["incident", "open", "--title", "feed", "--severity", "high", "--ticket", "INC-778"]) == 0
    capsys.readouterr()
    assert main(["run", "--disable-strategy", "mean_reversion"]) == 0
    err = capsys.readouterr().err
    assert "ticket: INC-778 (linked to the one open incident INC-778" in err
    assert last_entry()["artefacts"]["ticket"] == "INC-778"

    assert main(["incident", "open", "--title", "other", "--severity", "low", "--ticket", "INC-779"]) == 0
    capsys.readouterr()
    assert main(["run", "--enable-strategy", "mean_reversion"]) == 0  # two open: no guess
    assert "linked" not in capsys.readouterr().err
    assert last_entry()["artefacts"]["ticket"] == ""


def test_the_scheduler_logs_a_removed_override_under_its_ticket() -> None:
    with build_ops_context() as ctx:
        info = create_override(
            ctx, reason="drill", ticket="INC-5", requested_by="ops", actor=Actor("ops", "cli")
        )
        info.path.unlink()  # the runbook's `rm`
        reconcile_override_events(ctx, read_overrides(ctx.overrides_dir, ctx.clock_ms()))
    entry = last_entry()
    assert (entry["status"], entry["artefacts"]["ticket"]) == ("enabled", "INC-5")
    assert entry["metadata"]["detected_by"] == "scheduler"


def test_rollback_summary_is_built_from_the_log_or_refused(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["rollback", "summary", "--ticket", "INC-778"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: rollback summary --ticket INC-778: no logged step") and err.count("\n") == 1
    assert not Path("var/audit/stage4/rollback_summary.json").exists()

    assert main(["incident", "open", "--title", "feed", "--severity", "high", "--ticket", "INC-778"]) == 0
    assert main(["run", "--disable-strategy", "mean_reversion"]) == 0  # linked to INC-778
    assert main(["incident", "close", "INC-778", "--status", "restored", "--closed-by", "l2-ops"]) == 0
    assert main(["rollback", "summary", "--ticket", "INC-778"]) == 0
    summary = json.loads(Path("var/audit/stage4/rollback_summary.json").read_text())
    assert [(s["kind"], s["outcome"]) for s in summary["steps"]] == [("strategy_state", "disabled")]
    assert summary["started_from"] == "incident opened" and summary["completed_from"] == "incident closed"
    assert summary["duration_min"] >= 0 and list(summary["artefacts"]) == ["config/core.yaml"]
