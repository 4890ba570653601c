"""Seed 000 (emergency disable / rollback of a multi-strategy strategy), every command verbatim."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.acceptance.conftest import allocation
from tests.integration.live import entries, wait_for

pytestmark = pytest.mark.slow
TICKET = "INC-5150"
STRATEGY = "cross_exchange"


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout[-1500:], result.stderr[-1500:])
    return result


def _json_out(result: subprocess.CompletedProcess[str]) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{") :])


def test_rollback_procedure_and_return_to_baseline(stage):
    baseline = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=stage.root, capture_output=True, text=True, check=True
    ).stdout.strip()
    _ok(
        stage.tradeops(
            "incident",
            "open",
            "--title",
            "cross_exchange PnL divergence",
            "--severity",
            "critical",
            "--ticket",
            TICKET,
        )
    )
    # 1. L2 approves the rollback in the decision log; save the current scheduler profile if there is one.
    _ok(
        stage.sh(
            "python scripts/verify_decision_log.py summary --append --stage stage4 "
            f"--status rollback_approved --artefact ticket={TICKET} --tag rollback"
        )
    )
    assert entries(stage.ops_log)[-1]["status"] == "rollback_approved"
    _ok(
        stage.sh(
            "test -f logs/load_tests/latest.json && cp logs/load_tests/latest.json "
            "logs/load_tests/scheduler_profile.json || true"
        )
    )

    # 2. Secure the context: RBAC/mTLS still correct; metrics before the rollback.
    audit = _ok(
        stage.sh(
            "python scripts/audit_security_baseline.py --print "
            "--scheduler-required-scope runtime.schedule.write"
        )
    )
    assert _json_out(audit)["status"] in ("ok", "warning")
    assert (stage.root / "audit/security/security_baseline.json").exists()
    _ok(
        stage.sh(
            "python scripts/load_test_scheduler.py --iterations 10 --schedules 3 "
            "--output logs/load_tests/pre_rollback.json"
        )
    )
    pre = json.loads((stage.root / "logs/load_tests/pre_rollback.json").read_text())
    assert pre["schedules"] == 3 and pre["iterations"] == 10

    # 3. Disable the strategy; the decision log says status=disabled and risk_budget_bucket=manual.
    _ok(stage.sh(f"python scripts/run_multi_strategy_scheduler.py --disable-strategy {STRATEGY}"))
    disabled = [e for e in entries(stage.ops_log) if e["kind"] == "strategy_state"][-1]
    assert disabled["status"] == "disabled" and disabled["artefacts"]["strategy"] == STRATEGY
    assert disabled["metadata"]["risk_budget_bucket"] == "manual"
    time.sleep(1.0)  # the running scheduler re-reads strategy statuses within its poll interval
    frozen = len(stage.scheduler.orders(STRATEGY))
    at_venue = stage.venue.orders_seen(STRATEGY) if stage.venue.remote else None
    time.sleep(2.0)
    assert len(stage.scheduler.orders(STRATEGY)) == frozen
    if stage.venue.remote:  # and the venues got nothing of it meanwhile
        assert stage.venue.orders_seen(STRATEGY) == at_venue

    # 4. Lower the allocation in config/core.yaml, commit, and record the config_change.
    config = stage.root / "config/core.yaml"
    text = config.read_text()
    balanced = text.index("  balanced:")
    line = text.index("      cross_exchange: 0.15", balanced)
    config.write_text(
        text[:line] + "      cross_exchange: 0.0" + text[line + len("      cross_exchange: 0.15") :]
    )
    _ok(stage.tradeops("config", "validate"))
    _ok(
        stage.sh(
            "git add config/core.yaml && git -c user.name=ops -c user.email=ops@example.invalid "
            f'commit -q -m "{TICKET}: cross_exchange allocation 0.0"'
        )
    )
    _ok(
        stage.sh(
            "python scripts/verify_decision_log.py summary --append --kind config_change --stage stage4 "
            f"--status config_change --artefact ticket={TICKET} "
            "--artefact-from-file config_sha256=config/core.yaml --tag config_change"
        )
    )
    # ... and the running scheduler takes it without a restart (docs/runbooks/rollback_multi_strategy.md).
    applied = _ok(
        stage.sh(f'tradeops config apply --reason "{STRATEGY} allocation to 0.0" --ticket {TICKET}')
    )
    assert "applied by the running scheduler" in applied.stdout, applied.stdout + applied.stderr
    assert allocation(stage.metrics_port, STRATEGY) == 0.0

    # 5. Smoke test: the other strategies still work; metrics after the rollback, compared.
    smoke = _ok(stage.sh("python scripts/smoke_demo_strategies.py --cycles 1 --strategy daily_trend"))
    assert "daily_trend" in smoke.stdout
    _ok(
        stage.sh(
            "python scripts/load_test_scheduler.py --iterations 10 --schedules 2 "
            "--output logs/load_tests/post_rollback.json"
        )
    )
    compared = _ok(
        stage.tradeops(
            "load-test", "compare", "logs/load_tests/pre_rollback.json", "logs/load_tests/post_rollback.json"
        )
    )
    assert "schedules" in compared.stdout

    # 6. Runbook upkeep: a Post-Mortem note in the incident playbook and in the incident record.
    playbook = stage.root / "docs/runbooks/operations/strategy_incident_playbook.md"
    assert "## Post-Mortem" in playbook.read_text()
    with playbook.open("a") as handle:
        handle.write(f"\n- {TICKET}: cross_exchange disabled after PnL divergence; allocation set to 0.0.\n")
    _ok(stage.tradeops("incident", "note", TICKET, "--text", "post-mortem note added to the playbook"))

    # Return to baseline. 1: the load test reports resource_status == "ok".
    final = _ok(stage.sh("python scripts/load_test_scheduler.py"))
    assert _json_out(final)["resource_status"] == "ok"
    # 2: restore the allocations from git.
    shown = _ok(stage.sh(f"git show {baseline} config/core.yaml"))
    assert "cross_exchange: 0.15" in shown.stdout
    _ok(stage.sh(f"git checkout {baseline} -- config/core.yaml"))
    assert "      cross_exchange: 0.15" in config.read_text()
    restored = _ok(
        stage.sh(
            f"tradeops config apply --from-git {baseline} --reason 'baseline restored' --ticket {TICKET}"
        )
    )
    assert "strategy_allocations.cross_exchange: 0.0 -> 0.15" in restored.stdout
    assert allocation(stage.metrics_port, STRATEGY) == 0.15
    _ok(
        stage.sh(
            f"python scripts/run_multi_strategy_scheduler.py --enable-strategy {STRATEGY} "
            f"--reason 'baseline restored' --ticket {TICKET}"
        )
    )
    wait_for(lambda: len(stage.scheduler.orders(STRATEGY)) > frozen, 60, f"{STRATEGY} to trade again")
    if stage.venue.remote:
        wait_for(lambda: stage.venue.orders_seen(STRATEGY) > at_venue, 30, f"{STRATEGY} at the venues again")
    # 3: the full paper smoke pipeline.
    _ok(stage.sh("python scripts/run_paper_smoke_ci.py --environment binance_paper"))
    summary = json.loads((stage.root / "var/paper_smoke_ci/paper_smoke_summary.json").read_text())
    assert summary["status"] == "ok"
    # 4: status=restored in the decision log, and the incident closed under logs/incidents/.
    _ok(
        stage.sh(
            "python scripts/verify_decision_log.py summary --append --stage stage4 --status restored "
            f"--artefact ticket={TICKET} --tag rollback"
        )
    )
    _ok(stage.tradeops("incident", "close", TICKET, "--status", "restored"))
    record = json.loads((stage.root / f"logs/incidents/{TICKET}.json").read_text())
    assert record["status"] in ("closed", "restored")
    statuses = [e["status"] for e in entries(stage.ops_log)]
    assert statuses.index("rollback_approved") < statuses.index("disabled") < statuses.index("config_change")
    # The summary entry, the incident close, then the seal of the incident's bundle.
    assert statuses[-3:] == ["restored", "restored", "sealed"]
    assert _ok(stage.tradeops("incident", "verify", TICKET)).stdout.startswith("OK:")
    verify = _ok(stage.sh("python scripts/verify_decision_log.py --strict audit/decision_logs/stage4.jsonl"))
    assert verify.stdout.startswith("OK:")
    if stage.venue.remote:  # the rollback left the venues and the books in agreement
        assert stage.scheduler.stop() == 0
        stage.venue.check_clean(stage.root, stage.env, stage.scheduler.runtime_log)
