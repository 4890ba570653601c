"""The runbook command, verbatim, through scripts/verify_decision_log.py as a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "verify_decision_log.py"
# Seed-001 step 6, with <ID> = INC-1 and <MIN> = 12.
RUNBOOK_LINE = (
    "python scripts/verify_decision_log.py summary --append audit/decision_logs/stage4.jsonl --stage stage4 "
    "--status rollback_completed --hash-algorithm sha384 --artefact incident_id=INC-1 "
    "--artefact-from-file summary_sha384=var/audit/stage4/rollback_summary.json --metadata duration_min=12 "
    "--tag rollback"
)
RUNBOOK = shlex.split(RUNBOOK_LINE)[2:]
LOG = Path("audit/decision_logs/stage4.jsonl")


@pytest.fixture
def site(tmp_path):
    """A directory shaped like the repository root: config/, the rollback summary, a key file."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    summary = tmp_path / "var/audit/stage4/rollback_summary.json"
    summary.parent.mkdir(parents=True)
    summary.write_text(json.dumps({"summary": {"steps_completed": 9, "incident": "INC-1"}}, indent=2) + "\n")
    key = tmp_path / "secrets/decision_log.key"
    key.parent.mkdir()
    key.write_text("runbook-secret\n")
    return tmp_path


def run(site: Path, args: list[str], key: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_DECISION_LOG_")}
    if key:
        env["TRADEOPS_DECISION_LOG_KEY_FILE"] = str(site / "secrets/decision_log.key")
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=site, env=env, capture_output=True, text=True, timeout=120
    )


def test_runbook_summary_append_then_verify(site):
    done = run(site, RUNBOOK)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "appended rollback_completed to audit/decision_logs/stage4.jsonl (seq 2, head sha384:"
    )
    genesis_line, line = (site / LOG).read_text(encoding="utf-8").splitlines()
    assert json.loads(genesis_line)["kind"] == "log_genesis"
    entry = json.loads(line)
    summary_bytes = (site / "var/audit/stage4/rollback_summary.json").read_bytes()
    assert entry["signature"]["algorithm"] == "HMAC-SHA384"
    assert entry["artefacts"] == {
        "incident_id": "INC-1",
        "summary_sha384": "sha384:" + hashlib.sha384(summary_bytes).hexdigest(),
    }
    assert entry["metadata"]["duration_min"] == 12
    assert entry["tags"] == ["rollback"]
    assert (
        entry["stage"] == "stage4" and entry["status"] == "rollback_completed" and entry["kind"] == "snapshot"
    )

    head = done.stdout.rsplit("head ", 1)[1].rstrip(")\n")
    verified = run(site, ["--strict", "--expect-head", head, str(LOG)])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout == f"OK: 2 entries, head {head}\n"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"key": False}, "TRADEOPS_DECISION_LOG_KEY_FILE"),
        (
            {"replace": ("var/audit/stage4/rollback_summary.json", "var/audit/stage4/missing.json")},
            "not found",
        ),
        ({"replace": ("incident_id=INC-1", "incident_id")}, "KEY=VALUE"),
        ({"replace": ("duration_min=12", "duration_min")}, "KEY=VALUE"),
        ({"unreadable_log": True}, "stage4.jsonl"),
    ],
)
def test_bad_input_exits_2_and_appends_nothing(site, change, needle):
    args = list(RUNBOOK)
    if "replace" in change:
        old, new = change["replace"]
        args = [arg.replace(old, new) for arg in args]
    if change.get("unreadable_log"):
        (site / LOG).mkdir(parents=True)
    done = run(site, args, key=change.get("key", True))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and needle in done.stderr and done.stderr.count("\n") == 1
    log = site / LOG
    assert not log.is_file() or log.read_bytes() == b""


def test_tampered_log_fails_with_line_number(site):
    assert run(site, RUNBOOK).returncode == 0
    assert run(site, RUNBOOK).returncode == 0
    log = site / LOG
    log.write_text(log.read_text().replace("INC-1", "INC-2", 1))
    done = run(site, [str(LOG)])
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL: audit/decision_logs/stage4.jsonl:2: signature mismatch")


def test_after_the_demo_every_runbook_command_has_its_key_without_an_export(tmp_path):
    """`make demo` on a new paper setup creates the key; runbook commands then need no export."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "scripts").symlink_to(REPO / "scripts")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_DECISION_LOG_")}
    tradeops = str(REPO / ".venv" / "bin" / "tradeops")

    def sh(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    demo = sh(tradeops, "demo", "--bars", "500")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "created a decision-log key" in demo.stderr
    key = tmp_path / "var/secrets/decision_log.key"
    assert key.stat().st_mode & 0o777 == 0o600
    step = shlex.split(
        RUNBOOK_LINE.replace(
            " --artefact-from-file summary_sha384=var/audit/stage4/rollback_summary.json", ""
        )
    )
    assert sh(sys.executable, *step[1:]).returncode == 0
    disable = sh(
        sys.executable,
        "scripts/disable_multi_strategy.py",
        "--reason",
        "drill",
        "--ticket",
        "INC-1",
        "--requested-by",
        "l2",
    )
    assert disable.returncode == 0, disable.stderr
    demo_logs = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("var/runs/*/*.jsonl"))
    assert len(demo_logs) == 1  # the demo is a backtest: its own log under var/runs/<run_id>/
    verified = sh(sys.executable, "scripts/verify_decision_log.py", "--strict", str(LOG), *demo_logs)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The key is gone but the logs have entries: an error naming the log and its key id, no new key.
    key.unlink()
    again = sh(sys.executable, *step[1:])
    assert again.returncode == 2 and "stage4.jsonl" in again.stderr and "'tradeops-ops'" in again.stderr
    assert not key.exists()
