"""`tradeops incident ...`: exit codes, one-line errors, output of list and show."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest

from tradeops.cli.incident import incident
from tradeops.cli.main import main
from tradeops.decision_log.reader import iter_entries
from tradeops.ops.incident_model import CLOSE_STATUSES, SEVERITIES

REPO = Path(__file__).resolve().parents[2]
OPS_LOG = Path("audit/decision_logs/stage4.jsonl")


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "core.yaml", tmp_path / "config" / "core.yaml")
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "cli-secret")
    for name in ("TRADEOPS_DECISION_LOG_KEY_FILE", "TRADEOPS_DECISION_LOG_KEY_ID"):
        monkeypatch.setenv(name, "")  # recorded, so whatever a test sets is undone afterwards
        monkeypatch.delenv(name)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["incident", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_open_note_close_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "open", "--title", "no fills on bybit", "--severity", "high", "--ticket", "OPS 9"
    )
    assert code == 0 and out.startswith("opened OPS-9 (high): no fills on bybit")
    assert run(capsys, "note", "OPS-9", "--text", "venue status page shows an outage", "--by", "noc")[0] == 0
    code, _, err = run(capsys, "close", "OPS-9", "--status", "mitigated", "--closed-by", " ")
    assert code == 2 and "--closed-by" in err and "Traceback" not in err
    code, out, _ = run(
        capsys,
        "close",
        "OPS-9",
        "--status",
        "mitigated",
        "--summary",
        "venue recovered",
        "--closed-by",
        "l2-ops",
    )
    assert code == 0 and "closed OPS-9 as mitigated" in out

    code, out, _ = run(capsys, "show", "OPS-9")
    assert code == 0 and out.startswith("# OPS-9: no fills on bybit") and "venue status page" in out
    code, out, _ = run(capsys, "show", "OPS-9", "--json")
    record = json.loads(out)
    assert record["resolution"] == "mitigated" and [n["by"] for n in record["notes"]] == ["noc"]
    assert record["closed_by"] == "l2-ops"
    assert [e["status"] for _, e in iter_entries(OPS_LOG)] == [
        "created",
        "opened",
        "noted",
        "closed",
        "sealed",
    ]


def test_duplicate_open_and_double_close_exit_1_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "open", "--title", "t", "--severity", "low", "--ticket", "T-1")[0] == 0
    code, _, err = run(capsys, "open", "--title", "t", "--severity", "low", "--ticket", "T-1")
    assert code == 1 and err.startswith("error: incident T-1 is already open") and err.count("\n") == 1
    assert run(capsys, "close", "T-1", "--status", "restored")[0] == 0
    code, _, err = run(capsys, "close", "T-1", "--status", "restored")
    assert code == 1 and err.startswith("error: incident T-1 is already closed") and err.count("\n") == 1


def test_user_mistakes_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "open", "--title", "t", "--severity", "urgent")[0] == 2
    code, _, err = run(capsys, "open", "--title", "t", "--severity", "low", "--ticket", "a/b")
    assert code == 2 and err.startswith("error: --ticket 'a/b'")
    code, _, err = run(capsys, "note", "NOPE", "--text", "x")
    assert code == 2 and "not found" in err
    code, _, err = run(capsys, "list", "--config", "missing.yaml")
    assert code == 2 and err.startswith("error: --config missing.yaml")
    assert not OPS_LOG.exists()


def test_list_table_json_and_open_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "list")[1] == "no incidents\n"
    run(capsys, "open", "--title", "first", "--severity", "low", "--ticket", "A-1")
    run(capsys, "open", "--title", "second", "--severity", "critical", "--ticket", "B-2")
    run(capsys, "close", "A-1", "--status", "false_alarm")
    code, out, _ = run(capsys, "list")
    rows = out.splitlines()
    assert code == 0 and rows[0].split() == ["ID", "STATUS", "SEVERITY", "OPENED", "TITLE"]
    assert rows[1].split()[:3] == ["A-1", "closed:false_alarm", "low"] and rows[2].split()[:3] == [
        "B-2",
        "open",
        "critical",
    ]
    code, out, _ = run(capsys, "list", "--open", "--json")
    assert [r["id"] for r in json.loads(out)] == ["B-2"]


def test_paper_environment_without_a_key_uses_the_local_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_ID", raising=False)
    code, _, err = run(capsys, "open", "--title", "t", "--severity", "low", "--ticket", "K-1")
    assert code == 0 and "created a decision-log key for this new paper setup" in err
    [(_, genesis), (_, entry)] = list(iter_entries(OPS_LOG))
    assert (
        entry["signature"]["key_id"] == genesis["artefacts"]["key_id"] == "tradeops-ops"
    )  # decision_log.key_id
    # The key file is gone but the log has entries: an error naming the log, never a new key.
    Path("var/secrets/decision_log.key").unlink()
    code, _, err = run(capsys, "note", "K-1", "--text", "x", "--by", "noc")
    assert code == 2 and str(OPS_LOG) in err and "'tradeops-ops'" in err and err.count("\n") == 1
    assert not Path("var/secrets/decision_log.key").exists()


def test_cli_choices_match_the_use_case() -> None:
    params = {p.name: p for cmd in incident.commands.values() for p in cmd.params}
    severity, status = params["severity"], params["status"]
    assert isinstance(severity.type, click.Choice) and tuple(severity.type.choices) == SEVERITIES
    assert isinstance(status.type, click.Choice) and tuple(status.type.choices) == CLOSE_STATUSES
