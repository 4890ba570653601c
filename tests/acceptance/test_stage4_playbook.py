"""Seed 001 (Runbook: Stage4 Multi-Strategy Rollback), every step verbatim, each acceptance checked."""

from __future__ import annotations

import hashlib
import json
import stat
import time
from datetime import UTC, datetime

import pytest

from tests.acceptance.conftest import elapsed_minutes, silences
from tests.integration.live import entries, wait_for

pytestmark = pytest.mark.slow
TICKET = "INC-4242"
OVERRIDE = "var/runtime/overrides/multi_strategy_disable.json"


def test_stage4_rollback_playbook_verbatim(stage):
    started = time.monotonic()
    # The incident the drill's artefacts are sealed under (docs/runbooks/STAGE4_ROLLBACK_PLAYBOOK.md).
    opened = stage.sh(
        f'tradeops incident open --title "Stage4 rollback drill" --severity high --ticket {TICKET}'
    )
    assert opened.returncode == 0, opened.stderr
    # 1. Disable the Stage4 scheduler. Acceptance: the file exists, is valid JSON, mode 600.
    step1 = stage.sh(
        f'scripts/disable_multi_strategy.py --reason "feed outage on binance" --ticket {TICKET} '
        "--requested-by l2-ops --component multi_strategy"
    )
    assert step1.returncode == 0, step1.stderr
    override = stage.root / OVERRIDE
    payload = json.loads(override.read_text())
    assert payload["ticket"] == TICKET and payload["action"] == "disable_multi_strategy"
    assert stat.S_IMODE(override.stat().st_mode) == 0o600
    before_copy = override.read_bytes()
    wait_for(
        lambda: any(
            e["kind"] == "trading_state" and e["status"] == "halted"
            for e in entries(stage.scheduler.runtime_log)
        ),
        15,
        "the scheduler to halt",
    )
    console = stage.root / "scheduler.out"
    wait_for(lambda: "kill switch override seen" in console.read_text(), 15, "the console to say so")
    if stage.venue.remote:  # halted at the venues too: nothing left open there
        assert stage.venue.open_orders() == {name: [] for name in stage.venue.sims}

    # 2. Silence the Stage4 alerts: the workflow's validate_alerts job in `silence` mode, run here as GitHub
    #    would run it (secrets from env vars of the same name).
    step2 = stage.sh(
        f"TRADEOPS_ALERTMANAGER_URL={stage.alertmanager_url} tradeops alerts run-job "
        f"--workflow deploy/ci/github_actions_stage4_multi_strategy.yml --job validate_alerts "
        f"--input mode=silence --input ticket={TICKET} --input duration=2h "
        "--input created_by=observability"
    )
    assert step2.returncode == 0, step2.stdout[-2000:] + step2.stderr[-2000:]
    silence_id = json.loads((stage.root / "silence.json").read_text())["silence_id"]
    active = [s for s in silences(stage.alertmanager_url) if s["id"] == silence_id]
    assert active and active[0]["status"]["state"] == "active"
    ends = datetime.fromisoformat(active[0]["endsAt"].replace("Z", "+00:00"))
    assert ends > datetime.now(UTC)  # an expiry, in the future
    assert {"name": "stage", "value": "stage4", "isEqual": True, "isRegex": False} in [
        {k: m[k] for k in ("name", "value", "isEqual", "isRegex")} for m in active[0]["matchers"]
    ]

    # 3. Confirm the scheduler stopped.
    step3 = stage.sh("scripts/smoke_demo_strategies.py --check-disabled")
    assert step3.returncode == 0 and step3.stdout.splitlines()[0] == "disabled"
    # The verdict is the running scheduler's: requested and observed both say so.
    assert "requested: disabled" in step3.stdout, step3.stdout
    assert "observed: disabled by the running scheduler" in step3.stdout, step3.stdout
    observed3 = json.loads(stage.sh("scripts/smoke_demo_strategies.py --check-disabled --json").stdout)
    assert observed3["observed"]["live"] and observed3["observed"]["override_seen"]
    assert observed3["observed"]["global_state"] == "halted"
    assert observed3["observed"]["heartbeat_age_seconds"] < observed3["observed"]["stale_after_seconds"]
    orders_while_disabled = len(stage.scheduler.orders())
    venue_while_disabled = stage.venue.orders_seen() if stage.venue.remote else None

    # 4. Watch the emergency metrics (15 minutes, compressed by TRADEOPS_TIME_SCALE for the drill).
    step4 = stage.sh("scripts/watch_metrics_stream.py --headers-report --duration 15m")
    assert step4.returncode == 0, step4.stdout[-2000:] + step4.stderr[-2000:]  # 0: no new critical alert
    assert len(stage.scheduler.orders()) == orders_while_disabled  # nothing traded meanwhile
    if stage.venue.remote:  # nothing reached the venues meanwhile; they agree with the books
        assert stage.venue.orders_seen() == venue_while_disabled
        stage.venue.check_clean(stage.root, stage.env, stage.scheduler.runtime_log)

    # 5. Remove the override; the scheduler restarts trading; status `enabled`, no warnings.
    step5 = stage.sh(f"rm {OVERRIDE}")
    assert step5.returncode == 0 and not override.exists()
    probe = stage.sh("scripts/smoke_demo_strategies.py --check-disabled")
    assert probe.returncode == 0 and probe.stdout.splitlines()[0] == "enabled"
    assert "warning" not in (probe.stdout + probe.stderr).lower()
    assert "observed: enabled by the running scheduler" in probe.stdout, probe.stdout
    wait_for(lambda: len(stage.scheduler.orders()) > orders_while_disabled, 30, "trading to resume")
    if stage.venue.remote:
        wait_for(lambda: stage.venue.orders_seen() > venue_while_disabled, 30, "orders at the venues again")

    # 6. Decision log: signed HMAC entry with the incident id, the summary digest and the duration.
    assert stage.tradeops("rollback", "summary", "--ticket", TICKET).returncode == 0
    summary = json.loads((stage.root / "var/audit/stage4/rollback_summary.json").read_text())
    outcomes = [(s["kind"], s["outcome"]) for s in summary["steps"]]
    assert ("override", "disabled") in outcomes and ("override", "enabled") in outcomes  # built from the log
    assert summary["duration_min"] > 0 and list(summary["artefacts"]) == ["config/core.yaml"]
    minutes = elapsed_minutes(started)
    step6 = stage.sh(
        "python scripts/verify_decision_log.py summary --append audit/decision_logs/stage4.jsonl "
        f"--stage stage4 --status rollback_completed --hash-algorithm sha384 --artefact incident_id={TICKET} "
        "--artefact-from-file summary_sha384=var/audit/stage4/rollback_summary.json "
        f"--metadata duration_min={minutes} --tag rollback"
    )
    assert step6.returncode == 0, step6.stderr
    entry = entries(stage.ops_log)[-1]
    assert entry["signature"]["algorithm"] == "HMAC-SHA384" and entry["signature"]["value"]
    assert entry["artefacts"]["incident_id"] == TICKET
    digest = hashlib.sha384((stage.root / "var/audit/stage4/rollback_summary.json").read_bytes()).hexdigest()
    assert entry["artefacts"]["summary_sha384"] == f"sha384:{digest}"
    assert entry["metadata"]["duration_min"] == minutes

    # Final artefacts: copies of the override before/after, and the whole audit trail verifies.
    assert before_copy and not override.exists()
    kinds = [(e["kind"], e["status"]) for e in entries(stage.ops_log)]
    assert ("override", "disabled") in kinds and ("override", "enabled") in kinds
    assert ("alert_silence", "silenced") in kinds
    verify = stage.sh(
        f"python scripts/verify_decision_log.py --strict audit/decision_logs/stage4.jsonl {stage.runtime_log}"
    )
    assert verify.returncode == 0 and verify.stdout.startswith("OK:"), verify.stdout + verify.stderr

    # Final artefacts, collected and sealed: closing the incident builds its bundle.
    closed = stage.sh(f"tradeops incident close {TICKET} --status restored --summary 'drill complete'")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    bundle = stage.root / "logs" / "incidents" / TICKET
    manifest = json.loads((bundle / "manifest.json").read_text())
    files = manifest["files"]
    copies = [p for p in files if p.startswith("overrides/")]
    assert any(p.endswith("-removed.json") for p in copies)  # the removal at step 5
    assert any((bundle / p).read_bytes() == before_copy for p in copies)  # the override it obeyed
    sealed = json.loads((bundle / "silences/silences.json").read_text())
    assert [s["silence_id"] for s in sealed] == [silence_id] and sealed[0]["ends_at"]
    assert any(p.startswith("reports/logs/workflow_jobs/validate_alerts-") for p in files)
    assert "reports/var/audit/stage4/rollback_summary.json" in files
    head = json.loads((bundle / "decision_log/head.json").read_text())
    assert head["verified"] and head["anchor"] is not None
    assert [u["artefact"] for u in manifest["unavailable"]] == ["dashboard snapshots"]  # no Prometheus here
    assert stage.sh(f"tradeops incident verify {TICKET}").returncode == 0
    victim = bundle / "decision_log" / "stage4.entries.jsonl"
    data = bytearray(victim.read_bytes())
    data[10] ^= 0x01  # one byte
    victim.write_bytes(bytes(data))
    tampered = stage.sh(f"tradeops incident verify {TICKET}")
    assert tampered.returncode == 1 and "changed: decision_log/stage4.entries.jsonl" in tampered.stderr

    # Stopped, the scheduler is no longer reported as obeying anything.
    assert stage.scheduler.stop() == 0
    if stage.venue.remote:  # the drill left the venues and the books in agreement
        stage.venue.check_clean(stage.root, stage.env, stage.scheduler.runtime_log)
    stopped = stage.sh("scripts/smoke_demo_strategies.py --check-disabled")
    assert stopped.returncode == 3 and stopped.stdout.splitlines()[0] == "no scheduler running", (
        stopped.stdout
    )
    assert "requested: enabled" in stopped.stdout
