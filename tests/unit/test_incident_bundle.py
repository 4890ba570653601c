"""`tradeops incident bundle|verify` without services: what it collects, what it says it could not
produce, and that verify finds a changed, a missing and an added file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tradeops.cli.main import main
from tradeops.decision_log.reader import iter_entries
from tradeops.observability.snapshots import PrometheusUnavailable, render_snapshots

REPO = Path(__file__).resolve().parents[2]
OPS_LOG = Path("audit/decision_logs/stage4.jsonl")
BUNDLE = Path("logs/incidents/INC-1")


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "core.yaml", tmp_path / "config" / "core.yaml")
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "bundle-secret-0123456789abcdef")
    for name in ("TRADEOPS_DECISION_LOG_KEY_FILE", "TRADEOPS_DECISION_LOG_KEY_ID"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return tmp_path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _open(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(capsys, "incident", "open", "--title", "t", "--severity", "low", "--ticket", "INC-1")[0] == 0


def test_close_seals_a_bundle_and_verify_catches_changed_missing_added(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _open(capsys)
    report = Path("logs/load_tests/pre_rollback.json")
    report.parent.mkdir(parents=True)
    report.write_text('{"schedules": 3}\n')
    code, out, err = _cli(capsys, "incident", "close", "INC-1", "--status", "restored")
    assert code == 0 and "sealed in the operations log" in out
    assert "not produced: dashboard snapshots: no Prometheus configured" in err
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    assert "reports/logs/load_tests/pre_rollback.json" in manifest["files"]
    assert "incident/INC-1.json" in manifest["files"]
    sealed = [e for _, e in iter_entries(OPS_LOG) if e["kind"] == "incident_bundle"]
    assert sealed[-1]["status"] == "sealed" and sealed[-1]["artefacts"]["incident_id"] == "INC-1"
    assert _cli(capsys, "incident", "verify", "INC-1")[0] == 0

    (BUNDLE / "reports/logs/load_tests/pre_rollback.json").write_text('{"schedules": 4}\n')
    (BUNDLE / "incident/INC-1.md").unlink()
    (BUNDLE / "extra.txt").write_text("x")
    code, _, err = _cli(capsys, "incident", "verify", "INC-1")
    assert code == 1
    assert "changed: reports/logs/load_tests/pre_rollback.json" in err
    assert "missing: incident/INC-1.md" in err and "added: extra.txt" in err


def test_a_manifest_edited_to_match_is_caught_by_the_seal(capsys: pytest.CaptureFixture[str]) -> None:
    _open(capsys)
    assert _cli(capsys, "incident", "close", "INC-1", "--status", "restored")[0] == 0
    target = BUNDLE / "incident/INC-1.json"
    target.write_text(target.read_text() + " ")
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    manifest["files"].pop("incident/INC-1.json")
    (BUNDLE / "manifest.json").write_text(json.dumps(manifest))
    target.unlink()
    code, _, err = _cli(capsys, "incident", "verify", "INC-1")
    assert code == 1 and "digest differs from the one sealed" in err


def test_no_bundle_unknown_incident_and_no_bundle_yet(capsys: pytest.CaptureFixture[str]) -> None:
    _open(capsys)
    code, out, _ = _cli(capsys, "incident", "close", "INC-1", "--status", "restored", "--no-bundle")
    assert code == 0 and "bundle" not in out and not BUNDLE.exists()
    code, _, err = _cli(capsys, "incident", "verify", "INC-1")
    assert code == 2 and "no bundle" in err and err.count("\n") == 1
    code, _, err = _cli(capsys, "incident", "bundle", "NOPE-1")
    assert code == 2 and "not found" in err and err.count("\n") == 1
    assert _cli(capsys, "incident", "bundle", "INC-1", "--prometheus-url", "http://127.0.0.1:9")[0] == 0
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    assert manifest["unavailable"][0]["artefact"] == "dashboard snapshots"
    assert "not reachable" in manifest["unavailable"][0]["why"]


def test_snapshots_refuse_an_unreachable_prometheus_and_write_nothing(tmp_path: Path) -> None:
    document = {"panels": [{"title": "Equity", "targets": [{"expr": "sum(tradeops_equity_quote)"}]}]}
    with pytest.raises(PrometheusUnavailable):
        render_snapshots(document, "http://127.0.0.1:9", (0.0, 60.0), tmp_path / "out")
    assert not (tmp_path / "out").exists()
