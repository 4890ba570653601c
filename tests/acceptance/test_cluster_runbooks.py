"""The seed runbooks on a two-host cluster (tests/acceptance/cluster_stage.py), every command
verbatim, run on the host that does not trade: what an operator does on host-b reaches the leader
on host-a (the override bucket, the shared store), and the audit trail verifies on host-b.

The steps kept are those whose effect crosses hosts (disable, confirm, remove, the decision-log
record and its verification; per-strategy disable and enable); the one-host steps (Alertmanager
silences, the metrics watch, load tests, config apply to the local scheduler) are covered by the
one-host stage in test_stage4_playbook.py and test_rollback_runbook.py."""

from __future__ import annotations

import json
import stat
import subprocess

import pytest

from tests.acceptance.cluster_stage import BOUND_S, cluster_stage_fixture  # noqa: F401 - the fixture
from tests.integration.live import entries, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.services]
OVERRIDE = "var/runtime/overrides/multi_strategy_disable.json"


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout[-1500:], result.stderr[-1500:])
    return result


def _halted(log) -> bool:
    return any(e["kind"] == "trading_state" and e["status"] == "halted" for e in entries(log))


def test_stage4_playbook_run_on_the_follower_host_halts_and_resumes_the_leader(cluster_stage):
    a, b = cluster_stage.a, cluster_stage.b
    ticket = "INC-1818"
    assert cluster_stage.leader() == (1, "host-a")
    # 1. On host-b: the disable script. The file is there, valid JSON, mode 600; host-a halts.
    _ok(
        b.sh(
            f'scripts/disable_multi_strategy.py --reason "feed outage on binance" --ticket {ticket} '
            "--requested-by l2-ops --component multi_strategy"
        )
    )
    override = b.root / OVERRIDE
    assert json.loads(override.read_text())["ticket"] == ticket
    assert stat.S_IMODE(override.stat().st_mode) == 0o600
    assert not (a.root / OVERRIDE).exists()  # host-a obeys the bucket, not a file of its own
    wait_for(lambda: _halted(a.scheduler.runtime_log), BOUND_S, "the leader on host-a to halt")
    # 3. Confirm the stop, on host-b: the verdict is the running (leading) scheduler's.
    step3 = b.sh("scripts/smoke_demo_strategies.py --check-disabled")
    assert step3.returncode == 0 and step3.stdout.splitlines()[0] == "disabled", step3.stdout
    assert "observed: disabled by the running scheduler" in step3.stdout, step3.stdout
    frozen = len(a.scheduler.orders())
    # 5. Remove the override file on host-b: host-a trades again; status `enabled`, no warning.
    _ok(b.sh(f"rm {OVERRIDE}"))
    wait_for(lambda: len(a.scheduler.orders()) > frozen, BOUND_S, "the leader to trade again")
    probe = b.sh("scripts/smoke_demo_strategies.py --check-disabled")
    assert probe.returncode == 0 and probe.stdout.splitlines()[0] == "enabled", probe.stdout
    assert "warning" not in (probe.stdout + probe.stderr).lower()
    # 6. The decision-log record on host-b (its operations log), then the audit trail verifies there.
    _ok(b.sh(f"tradeops rollback summary --ticket {ticket}"))
    _ok(
        b.sh(
            "python scripts/verify_decision_log.py summary --append audit/decision_logs/stage4.jsonl "
            f"--stage stage4 --status rollback_completed --hash-algorithm sha384 "
            f"--artefact incident_id={ticket} "
            "--artefact-from-file summary_sha384=var/audit/stage4/rollback_summary.json "
            "--metadata duration_min=1 --tag rollback"
        )
    )
    entry = entries(b.stage.ops_log)[-1]
    assert entry["signature"]["algorithm"] == "HMAC-SHA384" and entry["artefacts"]["incident_id"] == ticket
    verify = b.sh(
        "python scripts/verify_decision_log.py --strict audit/decision_logs/stage4.jsonl "
        "audit/decision_logs/binance_paper.jsonl"
    )
    assert verify.returncode == 0 and verify.stdout.startswith("OK:"), verify.stdout + verify.stderr
    assert cluster_stage.leader() == (1, "host-a")  # nothing here moved the lease


def test_rollback_runbook_disable_on_one_host_enable_on_the_other(cluster_stage):
    a, b = cluster_stage.a, cluster_stage.b
    ticket, strategy = "INC-1819", "mean_reversion"  # the runbook's <strategy_name>: one that trades here
    # 1. L2 approves the rollback in the decision log, on host-b.
    _ok(
        b.sh(
            "python scripts/verify_decision_log.py summary --append --stage stage4 "
            f"--status rollback_approved --artefact ticket={ticket} --tag rollback"
        )
    )
    # 3. Disable the strategy on host-b; its decision log says status=disabled, bucket manual.
    _ok(b.sh(f"python scripts/run_multi_strategy_scheduler.py --disable-strategy {strategy}"))
    disabled = [e for e in entries(b.stage.ops_log) if e["kind"] == "strategy_state"][-1]
    assert disabled["status"] == "disabled" and disabled["artefacts"]["strategy"] == strategy
    assert disabled["metadata"]["risk_budget_bucket"] == "manual"
    # The leader on host-a takes the strategy out of trading (its heartbeat says so).
    wait_for(
        lambda: _strategy_state(cluster_stage, strategy) == "disabled", BOUND_S, f"host-a to stop {strategy}"
    )
    frozen = len(a.scheduler.orders(strategy))
    # Return to baseline, on host-a this time: enable it again; the decision log says restored.
    _ok(
        a.sh(
            f"python scripts/run_multi_strategy_scheduler.py --enable-strategy {strategy} "
            f"--reason 'baseline restored' --ticket {ticket}"
        )
    )
    wait_for(
        lambda: _strategy_state(cluster_stage, strategy) == "active",
        BOUND_S,
        f"host-a to trade {strategy} again",
    )
    assert len(a.scheduler.orders(strategy)) >= frozen
    ops_a = a.stage.ops_log
    older = (ops_a.read_bytes(), ops_a.with_name(ops_a.name + ".anchor").read_bytes())
    _ok(
        a.sh(
            "python scripts/verify_decision_log.py summary --append --stage stage4 --status restored "
            f"--artefact ticket={ticket} --tag rollback"
        )
    )
    _operations_logs_verify_against_the_merged_anchor(a, ops_a, older)
    for host in (a, b):  # each host's operations log and its copy of the account's log verify
        verify = host.sh(
            "python scripts/verify_decision_log.py --strict audit/decision_logs/stage4.jsonl "
            "audit/decision_logs/binance_paper.jsonl"
        )
        assert verify.returncode == 0 and verify.stdout.startswith("OK:"), verify.stdout + verify.stderr


def _operations_logs_verify_against_the_merged_anchor(a, ops_a, older: tuple[bytes, bytes]) -> None:
    """Each host's operations log is its own chain; the cluster holds one signed anchor merged
    from every host's (cluster/ops_anchor.py): an older copy put back on host-a, consistent with
    its own older anchor, still fails against the cluster's."""
    verify = (
        "tradeops decision-log verify --stream --environment binance_paper audit/decision_logs/stage4.jsonl"
    )
    anchored = ops_a.with_name(ops_a.name + ".anchor")
    seq = len(ops_a.read_bytes().splitlines())

    def merged() -> str:
        done = a.sh(verify)
        return done.stdout if done.returncode == 0 and f"(seq {seq})" in done.stdout else ""

    wait_for(merged, BOUND_S, "host-a's operations-log anchor to reach the cluster")
    report = merged()
    assert "OK: operations log of host-a: audit/decision_logs/stage4.jsonl reaches" in report, report
    assert "note: operations log of host-b (anchored at seq" in report, report  # the other chain
    newer = (ops_a.read_bytes(), anchored.read_bytes())
    ops_a.write_bytes(older[0])
    anchored.write_bytes(older[1])
    local = a.sh("python scripts/verify_decision_log.py --strict audit/decision_logs/stage4.jsonl")
    assert local.returncode == 0, local.stdout  # the older copy agrees with its older anchor...
    cut = a.sh(verify)
    assert cut.returncode == 1 and "below the cluster's anchor of host-a" in cut.stdout, cut.stdout
    ops_a.write_bytes(newer[0])  # ...not with the cluster's
    anchored.write_bytes(newer[1])


def _strategy_state(stage, strategy: str) -> str | None:
    """What the leading scheduler's last heartbeat (in the shared store) says of `strategy`."""
    rows = stage.schema.rows("SELECT value FROM kv WHERE key = 'runtime.scheduler_heartbeat'")
    return json.loads(str(rows[0][0])).get("strategies", {}).get(strategy) if rows else None
