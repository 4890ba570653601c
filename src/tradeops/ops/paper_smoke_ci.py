"""The paper smoke pipeline (`python scripts/run_paper_smoke_ci.py`): the multi-strategy paper smoke,
the security audit and verification of every decision log, summarised as JSON and Markdown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeops.decision_log.verify import verify_log
from tradeops.domain.errors import TradeopsError
from tradeops.fsutil import atomic_write_json, atomic_write_text
from tradeops.ops.smoke import run_smoke_cycles
from tradeops.ops_ports import OpsContext

DEFAULT_OUTPUT = Path("var/paper_smoke_ci")


@dataclass
class PaperSmokeResult:
    environment: str
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary_path: Path | None = None
    markdown_path: Path | None = None

    @property
    def failures(self) -> list[str]:
        return [f"{name}: {c['detail']}" for name, c in self.checks.items() if c["status"] == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures


def _smoke(ctx: OpsContext, cycles: int) -> dict[str, Any]:
    result = run_smoke_cycles(ctx, cycles, None)
    enabled = {n: s for n, s in result.strategies.items() if not s.disabled}
    idle = [n for n, s in enabled.items() if s.cycles == 0]
    traded = [n for n, s in enabled.items() if s.traded]
    ok = result.ok and not idle and bool(traded)
    detail = (
        f"{len(enabled)} enabled strategies ran; traded: {', '.join(traded) or 'none'}"
        if ok
        else f"global override active={result.global_override}; idle: {', '.join(idle) or 'none'}"
    )
    return {"status": "ok" if ok else "failed", "detail": detail, "result": result.to_dict()}


def _security(ctx: OpsContext) -> dict[str, Any]:
    report = ctx.security_audit.run(required_scheduler_scopes=("runtime.schedule.write",))
    failed = report.status == "error"
    detail = report.errors[0] if failed else f"status {report.status}"
    return {
        "status": "failed" if failed else "ok",
        "detail": detail,
        "report_status": report.status,
        "warnings": list(report.warnings),
    }


def _decision_logs(ctx: OpsContext) -> dict[str, Any]:
    directory = Path(ctx.cfg.decision_log.directory)
    logs = sorted(p for p in directory.glob("*.jsonl") if p.stat().st_size > 0) if directory.is_dir() else []
    if not logs:
        return {"status": "ok", "detail": "no decision logs yet", "logs": {}}
    keyring = ctx.keys.verification_keyring()
    results: dict[str, Any] = {}
    failed: list[str] = []
    for path in logs:
        verdict = verify_log(path, keyring=keyring)
        results[str(path)] = {
            "ok": verdict.ok,
            "entries": verdict.entries,
            "head": verdict.head,
            "line": verdict.first_error_line,
            "reason": verdict.reason,
        }
        if not verdict.ok:
            failed.append(f"{path}:{verdict.first_error_line}: {verdict.reason}")
    return {
        "status": "failed" if failed else "ok",
        "detail": failed[0] if failed else f"{len(logs)} logs verify",
        "logs": results,
    }


def _markdown(result: PaperSmokeResult, generated_at: str) -> str:
    lines = [
        f"# Paper smoke CI: {result.environment}",
        "",
        f"Generated {generated_at}. Status: **{'ok' if result.ok else 'failed'}**.",
        "",
        "| check | status | detail |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {c['status']} | {c['detail']} |" for name, c in result.checks.items()]
    smoke = result.checks.get("paper_smoke", {}).get("result", {}).get("strategies", {})
    if smoke:
        lines += [
            "",
            "| strategy | cycles | signals | orders | fills | disabled |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {n} | {s['cycles']} | {s['signals']} | {s['orders']} | {s['fills']} | {s['disabled']} |"
            for n, s in smoke.items()
        ]
    return "\n".join(lines) + "\n"


def run_paper_smoke_ci(
    ctx: OpsContext, output_dir: Path = DEFAULT_OUTPUT, cycles: int = 1
) -> PaperSmokeResult:
    result = PaperSmokeResult(ctx.environment)
    checks: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("paper_smoke", lambda: _smoke(ctx, cycles)),
        ("security_audit", lambda: _security(ctx)),
        ("decision_logs", lambda: _decision_logs(ctx)),
    ]
    for name, check in checks:
        try:
            result.checks[name] = check()
        except TradeopsError as exc:
            result.checks[name] = {"status": "failed", "detail": str(exc)}
    generated_at = datetime.now(UTC).isoformat()
    payload = {
        "environment": ctx.environment,
        "status": "ok" if result.ok else "failed",
        "generated_at": generated_at,
        "failures": result.failures,
        "checks": result.checks,
    }
    result.summary_path = atomic_write_json(output_dir / "paper_smoke_summary.json", payload)
    result.markdown_path = atomic_write_text(
        output_dir / "paper_smoke_summary.md", _markdown(result, generated_at)
    )
    return result
