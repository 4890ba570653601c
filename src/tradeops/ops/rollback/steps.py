"""The individual rollback and restore steps. Each returns a small JSON-able result and is safe to
run again (it checks what is already in place)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from tradeops.config.models import STRATEGY_NAMES
from tradeops.domain.errors import UserInputError
from tradeops.ops.controls import (
    OpsContext,
    scheduler_status,
)
from tradeops.ops.kill_switch_control import HaltTrading, ResumeTrading, halt, resume
from tradeops.ops.rollback import config_edit
from tradeops.ops.rollback.config_edit import set_allocation, sha256_of
from tradeops.ops.rollback.state import STAGE_DIR, RollbackBlocked, RollbackState
from tradeops.ops.strategy_control import DisableStrategy, Door, EnableStrategy
from tradeops.ops.strategy_control import disable as disable_one
from tradeops.ops.strategy_control import enable as enable_one

LOAD_DIR = Path("logs/load_tests")
PRE, POST, PROFILE, LATEST = (
    LOAD_DIR / n for n in ("pre_rollback.json", "post_rollback.json", "scheduler_profile.json", "latest.json")
)
RESTORED = LOAD_DIR / "restored.json"


def _door(state: RollbackState) -> Door:
    return Door("rollback", state.requested_by)


def validate_strategy(ctx: OpsContext, strategy: str) -> None:
    if strategy not in ctx.cfg.scheduler().schedules:
        raise UserInputError(f"--strategy {strategy}: unknown; valid: {', '.join(STRATEGY_NAMES)}")


def _backup_path(state: RollbackState) -> Path:
    return STAGE_DIR / f"core.yaml.before-{state.ticket}"


def _load_test(ctx: OpsContext, schedules: int, output: Path) -> dict[str, Any]:
    from tradeops.ops.loadtest import run_load_test, save_report

    report = run_load_test(
        ctx.cfg,
        config_path=ctx.config_path,
        environment=ctx.environment,
        schedules=schedules,
        iterations=10,
        signals=5,
    )
    payload = report.to_dict()
    save_report(payload, output)
    return {"report": str(output), "resource_status": payload["resource_status"], "schedules": schedules}


def confirm(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    from tradeops.ops.incident_control import OpenIncident, ensure_open

    target = state.strategy or "multi_strategy scheduler"
    door = _door(state)
    title = f"Rollback of {target}: {state.reason}"
    state.incident_id = ensure_open(ctx, OpenIncident(title, "critical", door, ticket=state.ticket))
    return {"approved_by": state.requested_by, "incident_id": state.incident_id}


def secure_context(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    report = ctx.security_audit.run(required_scheduler_scopes=("runtime.schedule.write",))
    status = report.status
    if status == "error":
        raise RollbackBlocked(
            f"security audit failed: {report.errors[0]}; fix it, then `tradeops rollback resume`"
        )
    saved = None
    if LATEST.exists():
        shutil.copyfile(LATEST, PROFILE)
        saved = str(PROFILE)
    scheduled = len(ctx.cfg.scheduler().schedules)
    pre = _load_test(ctx, min(3, scheduled), PRE)
    if saved is None:
        shutil.copyfile(PRE, PROFILE)
    return {
        "security_status": status,
        "scheduler_profile": str(PROFILE),
        "pre_rollback": pre["report"],
        "pre_resource_status": pre["resource_status"],
    }


def disable(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    status = scheduler_status(ctx)
    if state.strategy is not None:
        already = any(d.get("strategy") == state.strategy for d in status.disabled_strategies)
        if not already:
            disable_one(ctx, DisableStrategy(state.strategy, state.reason, state.ticket, _door(state)))
        return {"disabled": state.strategy, "risk_budget_bucket": "manual"}
    if status.status != "disabled":
        halt(ctx, HaltTrading(state.reason, state.ticket, _door(state)))
    return {"disabled": "multi_strategy", "override": True}


def silence_alerts(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    url = ctx.cfg.observability.alertmanager.url
    if not url:
        return {"skipped": "no alertmanager configured (observability.alertmanager.url)"}
    from tradeops.ops.alerting import silence_stage4_alerts

    silence, _entry = silence_stage4_alerts(
        ctx,
        url=url,
        duration="2h",
        ticket=state.ticket,
        created_by=state.requested_by,
        comment=f"rollback: {state.reason}",
    )
    return {"silence_id": silence.silence_id, "ends_at": silence.ends_at}


def lower_allocation(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    if state.strategy is None:
        return {"skipped": "scheduler rollback: allocations unchanged"}
    profile = ctx.cfg.scheduler().schedules[state.strategy].risk_profile
    backup = _backup_path(state)
    if not backup.exists():
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ctx.config_path, backup)
    before = sha256_of(ctx.config_path)
    previous = set_allocation(ctx.config_path, profile, state.strategy, 0.0)
    ctx.operator_log.append(
        kind="config_change",
        status="config_change",
        artefacts={
            "ticket": state.ticket,
            "path": str(ctx.config_path),
            "before": before,
            "after": sha256_of(ctx.config_path),
        },
        metadata={
            "key": f"risk_profiles.{profile}.strategy_allocations.{state.strategy}",
            "old": previous,
            "new": 0.0,
            "backup": str(backup),
        },
        tags=("config_change", "rollback"),
    )
    return {
        "key": f"risk_profiles.{profile}.strategy_allocations.{state.strategy}",
        "old": previous,
        "new": 0.0,
    }


def smoke(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    from tradeops.ops.smoke import run_smoke_cycles

    result = run_smoke_cycles(ctx, 1, None)
    running = [n for n, s in result.strategies.items() if s.cycles > 0]
    if state.target == "strategy" and not running:
        raise RollbackBlocked("smoke: no remaining strategy ran a cycle; investigate before continuing")
    return {"running": ",".join(running), "fills": sum(s.fills for s in result.strategies.values())}


def post_load_test(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    remaining = len(ctx.cfg.scheduler().schedules) - (1 if state.strategy else 0)
    post = _load_test(ctx, max(1, min(2, remaining)), POST)
    from tradeops.ops.loadtest import compare_reports

    regressions = compare_reports(PRE, POST).regressions if PRE.exists() else []
    return {
        "post_rollback": post["report"],
        "post_resource_status": post["resource_status"],
        "regressions": ",".join(regressions) or "none",
    }


def artefact_digests() -> dict[str, str]:
    paths = [PRE, POST, PROFILE, Path("config/core.yaml")]
    return {str(p): "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.exists()}


# --- return to baseline -----------------------------------------------------------------------------


def restore_config(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    if state.strategy is None:
        return {"skipped": "scheduler rollback: allocations were not changed"}
    options = state.restored.get("_options", {})
    source = restore_config_file(ctx, state, options.get("from_git"))
    return {"source": source, "sha256": sha256_of(ctx.config_path)}


def restore_config_file(ctx: OpsContext, state: RollbackState, git_commit: str | None) -> str:
    source = config_edit.restore_config(ctx.config_path, backup=_backup_path(state), git_commit=git_commit)
    ctx.operator_log.append(
        kind="config_change",
        status="config_change",
        artefacts={"ticket": state.ticket, "path": str(ctx.config_path), "after": sha256_of(ctx.config_path)},
        metadata={"restored_from": source},
        tags=("config_change", "restore"),
    )
    return source


def enable(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    if state.strategy is not None:
        enable_one(ctx, EnableStrategy(state.strategy, "return to baseline", state.ticket, _door(state)))
        return {"enabled": state.strategy}
    resumed = resume(ctx, ResumeTrading("return to baseline", _door(state)))
    return {"override_removed": resumed.removed}


def paper_smoke(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    from tradeops.ops.paper_smoke_ci import run_paper_smoke_ci

    result = run_paper_smoke_ci(ctx)
    if not result.ok:
        raise RollbackBlocked(f"paper smoke failed: {result.failures[0]}")
    return {"paper_smoke": "ok", "summary": str(result.summary_path)}


def baseline_load_test(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    result = _load_test(ctx, min(3, len(ctx.cfg.scheduler().schedules)), RESTORED)
    if result["resource_status"] == "error":
        raise RollbackBlocked("load test after restore: resource_status is error; investigate before closing")
    return result


def close(ctx: OpsContext, state: RollbackState) -> dict[str, Any]:
    from tradeops.ops.incident_control import CloseIncident
    from tradeops.ops.incident_control import close as close_incident
    from tradeops.ops.incident_model import IncidentStateError

    incident = state.incident_id or state.ticket
    summary = f"rollback {state.ticket} restored"
    try:
        close_incident(ctx, CloseIncident(incident, "restored", _door(state), summary, "operator"))
    except IncidentStateError:
        return {"incident_closed": incident, "note": "already closed by an operator"}
    return {"incident_closed": incident}
