"""The runbooks' failure paths: a step run twice, a step out of order, a tampered log, a
wrong-permission override; and the guided rollback resuming after a blocked step."""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.live import entries, wait_for

# The failure paths are the operator tools' (override files, logs, the guided rollback): one venue.
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("venue", ["paper"], indirect=True)]
DISABLE = 'scripts/disable_multi_strategy.py --reason "drill" --ticket INC-9 --requested-by l2-ops'
OVERRIDE = "var/runtime/overrides/multi_strategy_disable.json"


def test_step_twice_and_out_of_order(stage):
    assert stage.sh(DISABLE).returncode == 0
    first = (stage.root / OVERRIDE).read_bytes()
    twice = stage.sh(DISABLE)
    assert twice.returncode == 1 and "exists" in twice.stderr.lower()
    assert (stage.root / OVERRIDE).read_bytes() == first  # nothing overwritten
    assert stage.sh(f"rm {OVERRIDE}").returncode == 0
    assert stage.sh(f"rm {OVERRIDE}").returncode != 0  # step 5 twice: nothing left to remove
    # Out of order: resuming or restoring a rollback that was never started.
    for args in (("rollback", "resume"), ("rollback", "restore")):
        result = stage.tradeops(*args)
        assert result.returncode == 2 and "tradeops rollback start" in result.stderr
    # Step 6 before the rollback summary exists: refused, nothing appended.
    before = stage.ops_log.read_bytes() if stage.ops_log.exists() else b""
    early = stage.sh(
        "python scripts/verify_decision_log.py summary --append audit/decision_logs/stage4.jsonl "
        "--stage stage4 --status rollback_completed --hash-algorithm sha384 --artefact incident_id=INC-9 "
        "--artefact-from-file summary_sha384=var/audit/stage4/rollback_summary.json "
        "--metadata duration_min=3 --tag rollback"
    )
    assert early.returncode == 2 and "rollback_summary.json" in early.stderr
    assert (stage.ops_log.read_bytes() if stage.ops_log.exists() else b"") == before


def test_tampered_log_is_caught_with_its_line(stage):
    assert stage.sh(DISABLE).returncode == 0
    assert stage.sh(f"rm {OVERRIDE}").returncode == 0
    wait_for(lambda: len(entries(stage.ops_log)) >= 2, 15, "the removal to be logged")
    assert stage.sh("python scripts/verify_decision_log.py audit/decision_logs/stage4.jsonl").returncode == 0
    original = stage.ops_log.read_text()
    lines = original.splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, 1) if '"reason":"drill"' in line)
    lines[number - 1] = lines[number - 1].replace('"reason":"drill"', '"reason":"routine"')
    stage.ops_log.write_text("".join(lines))
    verify = stage.sh("python scripts/verify_decision_log.py audit/decision_logs/stage4.jsonl")
    assert verify.returncode == 1
    assert f":{number}:" in verify.stdout + verify.stderr  # the first bad line is named
    # Cutting the last entry is caught too, without any extra flag (the anchor).
    stage.ops_log.write_text("".join(original.splitlines(keepends=True)[:-1]))
    verify = stage.sh("python scripts/verify_decision_log.py audit/decision_logs/stage4.jsonl")
    assert verify.returncode == 1 and "truncated" in verify.stdout


def test_wrong_permission_override_fails_safe(stage):
    override = stage.root / OVERRIDE
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text(
        json.dumps(
            {
                "schema": "stage4.scheduler.override",
                "schema_version": "1.0",
                "timestamp": "2026-11-21T21:00:00Z",
                "action": "disable_multi_strategy",
                "reason": "hand-written",
                "ticket": "INC-9",
                "requested_by": "someone",
            }
        )
    )
    os.chmod(override, 0o644)  # readable by everyone: cannot be trusted
    probe = stage.sh("scripts/smoke_demo_strategies.py --check-disabled")
    assert probe.returncode == 0 and probe.stdout.splitlines()[0] == "disabled"
    assert "malformed" in probe.stdout.lower() or "permission" in probe.stdout.lower()
    wait_for(
        lambda: any(
            e["kind"] == "trading_state" and e["status"] == "halted"
            for e in entries(stage.scheduler.runtime_log)
        ),
        15,
        "the scheduler to halt",
    )


def test_guided_rollback_resumes_after_a_blocked_step_and_restores(stage):
    blocked_env = {k: v for k, v in stage.env.items() if k != "TRADEOPS_SCHEDULER_TOKEN"}
    from tests.integration.live import TRADEOPS, run

    blocked = run(
        [
            str(TRADEOPS),
            "rollback",
            "start",
            "--strategy",
            "cross_exchange",
            "--ticket",
            "INC-77",
            "--reason",
            "PnL divergence 3x",
        ],
        stage.root,
        blocked_env,
    )
    assert blocked.returncode == 1 and "security audit" in blocked.stderr
    state = json.loads((stage.root / "var/audit/stage4/rollback_state.json").read_text())
    assert list(state["completed"]) == ["confirm"]  # stopped at secure_context, confirm kept
    resumed = stage.tradeops("rollback", "resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    state = json.loads((stage.root / "var/audit/stage4/rollback_state.json").read_text())
    assert state["status"] == "completed" and "post_load_test" in state["completed"]
    config = (stage.root / "config/core.yaml").read_text()
    assert "cross_exchange: 0.0" in config and "# Risk profiles." in config  # comments preserved
    summary = json.loads((stage.root / "var/audit/stage4/rollback_summary.json").read_text())
    assert summary["ticket"] == "INC-77" and summary["strategy"] == "cross_exchange"
    assert [s["step"] for s in summary["steps"]][:3] == ["confirm", "secure_context", "disable"]
    for name in ("pre_rollback.json", "post_rollback.json", "scheduler_profile.json"):
        assert (stage.root / "logs/load_tests" / name).exists()
    restored = stage.tradeops("rollback", "restore")
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert "cross_exchange: 0.15" in (stage.root / "config/core.yaml").read_text()
    statuses = [(e["kind"], e["status"]) for e in entries(stage.ops_log)]
    assert ("strategy_state", "disabled") in statuses and ("strategy_state", "restored") in statuses
    assert ("rollback", "restored") in statuses
    record = json.loads((stage.root / "logs/incidents/INC-77.json").read_text())
    assert record["status"] in ("closed", "restored")
    assert stage.tradeops("rollback", "restore").returncode == 2  # twice: already restored
