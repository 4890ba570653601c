"""`tradeops security audit` and the runbook command verbatim: exit 0 for a good setup, 1 when the
status is error (no flag needed), report written atomically where the runbook cites it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tradeops.cli.main import main
from tradeops.config.load import load_config
from tradeops.security.certs import TlsLayout, issue_ca, issue_client, issue_server, write_issued

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = (
    "python scripts/audit_security_baseline.py --print --scheduler-required-scope runtime.schedule.write"
)
REPORT = Path("audit/security/security_baseline.json")
TOKENS = {
    "TRADEOPS_SCHEDULER_TOKEN": "sch-Q7vT2pLm9XkR4wZs8NbC3yHd6FgJ1aUe",
    "TRADEOPS_OBSERVER_TOKEN": "obs-M5nB8xVc2ZqW7eRt4YuI1oPa9SdF3gHj",
}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """config/, scripts/ (linked), certificates and a 600 key; the good env is set in-process."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "scripts").symlink_to(REPO / "scripts")
    monkeypatch.chdir(tmp_path)
    layout = TlsLayout.from_config(load_config("config/core.yaml").control_api.tls)
    ca = issue_ca()
    write_issued(ca, layout.ca_cert, layout.ca_key)
    write_issued(issue_server(ca), layout.server_cert, layout.server_key)
    write_issued(issue_client(ca, "operator"), *layout.client("operator"))
    key = tmp_path / "decision_log.key"
    key.write_text("6f1d8a0c4b7e2f9a3c5d8e1b0a7f4c2d9e6b3a8f1c4d7e0b2a5f8c3d6e9b1a4f")
    key.chmod(0o600)
    for name in ("TRADEOPS_DECISION_LOG_KEY", "TRADEOPS_SCHEDULER_TOKEN", "TRADEOPS_OBSERVER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY_FILE", str(key))
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def run_runbook(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The runbook line, word for word, with `python` being this interpreter."""
    argv = [sys.executable, *RUNBOOK.split()[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_runbook_command_verbatim_good_setup_exits_0(workspace: Path) -> None:
    result = run_runbook(workspace, dict(os.environ))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["status"] == "ok"
    assert printed["tokens"]["coverage"]["runtime.schedule.read"]  # read stays required
    assert json.loads((workspace / REPORT).read_text()) == printed


def test_runbook_command_verbatim_broken_setup_exits_1(workspace: Path) -> None:
    env = dict(os.environ)
    del env["TRADEOPS_SCHEDULER_TOKEN"]
    result = run_runbook(workspace, env)
    assert result.returncode == 1
    assert json.loads(result.stdout)["status"] == "error"
    assert "error: scheduler: no token with a present secret grants runtime.schedule.write" in result.stderr
    assert json.loads((workspace / REPORT).read_text())["status"] == "error"


def test_error_status_exits_1_without_any_flag(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE")
    assert main(["security", "audit"]) == 1
    assert main(["security", "audit", "--fail-on-error"]) == 1


def test_warning_exits_0_unless_fail_on_warning(workspace: Path) -> None:
    assert main(["security", "audit", "--warn-expiring-days", "400"]) == 0
    assert json.loads(REPORT.read_text())["status"] == "warning"
    assert main(["security", "audit", "--warn-expiring-days", "400", "--fail-on-warning"]) == 1


def test_json_output_pretty_and_print(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = workspace / "out" / "baseline.json"
    assert main(["security", "audit", "--json-output", str(target), "--pretty", "--print"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("{\n  ") and json.loads(out)["status"] == "ok"
    assert target.read_text() == out
    assert not list(target.parent.glob(".*.tmp"))


def test_required_scope_flags_are_checked(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADEOPS_OBSERVER_TOKEN")
    assert main(["security", "audit", "--metrics-required-scope", "metrics.read"]) == 1
    args = ["--metrics-required-scope", "runtime.schedule.read", "--scheduler-required-scope", "audit.read"]
    assert main(["security", "audit", *args]) == 1  # audit.read only granted to the observer
    scopes = "runtime.schedule.write,runtime.override.write"
    args = ["--metrics-required-scope", "runtime.schedule.read", "--scheduler-required-scope", scopes]
    assert main(["security", "audit", *args]) == 0
    assert set(json.loads(REPORT.read_text())["tokens"]["coverage"]) == {
        "runtime.schedule.read",
        "runtime.schedule.write",
        "runtime.override.write",
    }


@pytest.mark.parametrize(
    ("config", "expected"),
    [("missing.yaml", "config file not found"), ("broken.yaml", "broken.yaml")],
)
def test_missing_or_invalid_config_is_one_line_exit_2(
    workspace: Path, capsys: pytest.CaptureFixture[str], config: str, expected: str
) -> None:
    (workspace / "broken.yaml").write_text("runtime: [\n")
    assert main(["security", "audit", "--config", config]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0]


def test_hash_token_prints_the_config_value(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("abc\n"))
    assert main(["security", "hash-token"]) == 0
    expected = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert capsys.readouterr().out.strip() == expected
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["security", "hash-token"]) == 2


def test_readable_by_default_exact_on_request(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["security", "audit"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    # Without a flag: the short human summary, and the full report (indented) in the file.
    assert out == [f"security audit: status=ok (0 errors, 0 warnings); full report: {REPORT}"]
    written = REPORT.read_text()
    assert written.startswith("{\n  ") and json.loads(written)["status"] == "ok"
    assert main(["security", "audit", "--print"]) == 0
    captured = capsys.readouterr()
    written = REPORT.read_text()  # rewritten by this run (it carries its own time)
    assert captured.out == written and "status=ok" in captured.err  # pretty, summary beside it
    assert main(["security", "audit", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) == json.loads(REPORT.read_text())
