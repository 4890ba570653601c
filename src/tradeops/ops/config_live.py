"""The running scheduler's side of `tradeops config apply`: at a cycle boundary (a supervisor tick
runs between two scheduler steps, never inside one) take a pending configuration, check its digest
and validity, refuse it whole if any change needs a restart, otherwise sign a `config_change`
entry (status applied) and hand the new risk profiles, parameters, cadences and kill-switch policy
to the engine. Every request gets an answer in `result.json`."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tradeops.bootstrap.engine import Runtime
from tradeops.config.load import read_config_text, validate_config_text
from tradeops.config.models import AppConfig
from tradeops.config.overrides import format_timestamp
from tradeops.domain.errors import TradeopsError
from tradeops.ops.config_diff import ConfigDiff, diff_configs
from tradeops.ops.config_handoff import (
    HandoffError,
    Pending,
    clear_pending,
    handoff_dir,
    pending_request_id,
    read_pending,
    sha384,
    write_result,
    write_running,
)
from tradeops.ops_ports import OpsContext
from tradeops.runtime.engine import StrategySlot
from tradeops.strategies.registry import build_strategy


@dataclass
class LiveConfig:
    runtime: Runtime
    ctx: OpsContext
    directory: Path
    cfg: AppConfig
    text: bytes
    applied: list[str] = field(default_factory=list)  # request ids applied by this process

    @classmethod
    def start(cls, runtime: Runtime, ctx: OpsContext) -> LiveConfig:
        """Publish what this scheduler runs; a handoff left from before this start is superseded."""
        directory = handoff_dir(runtime.cfg, runtime.options.environment)
        text = read_config_text(runtime.options.config_path).encode("utf-8")
        live = cls(runtime, ctx, directory, runtime.cfg, text)
        stale = pending_request_id(directory)
        if stale is not None:
            clear_pending(directory)
            live._answer(
                stale, "refused", [f"superseded: the scheduler started from {runtime.options.config_path}"]
            )
        live._publish(None)
        return live

    def _publish(self, request_id: str | None) -> None:
        write_running(
            self.directory,
            pid=os.getpid(),
            text=self.text,
            config_path=str(self.runtime.options.config_path),
            request_id=request_id,
        )

    def close(self) -> None:
        write_running(
            self.directory,
            pid=None,
            text=self.text,
            config_path=str(self.runtime.options.config_path),
            request_id=self.applied[-1] if self.applied else None,
        )

    def _answer(
        self, request_id: str | None, status: str, problems: list[str], diff: ConfigDiff | None = None
    ) -> None:
        write_result(
            self.directory,
            {
                "request_id": request_id,
                "status": status,
                "problems": problems,
                "pid": os.getpid(),
                "at": format_timestamp(self.ctx.clock_ms()),
                **(diff.summary() if diff is not None else {}),
            },
        )

    def _record(self, pending: Pending | None, status: str, details: dict[str, object]) -> None:
        self.ctx.operator_log.append(
            kind="config_change",
            status=status,
            artefacts={
                "request_id": pending.request_id if pending else None,
                "config_sha384": pending.digest if pending else None,
                "ticket": pending.ticket if pending else None,
                "environment": self.runtime.options.environment,
            },
            metadata={"detected_by": "scheduler", "pid": os.getpid(), **details},
            tags=("config_change",),
        )

    def _refuse(
        self,
        pending: Pending | None,
        request_id: str | None,
        problems: list[str],
        diff: ConfigDiff | None = None,
    ) -> None:
        clear_pending(self.directory)
        try:
            self._record(pending, "refused", {"problems": problems[:50], **(diff.summary() if diff else {})})
        except TradeopsError as exc:
            problems = [*problems, f"could not record the refusal: {exc}"]
        self._answer(request_id, "refused", problems, diff)
        print(f"config: refused request {request_id}: {problems[0]}", file=sys.stderr)

    def tick(self) -> None:
        """Take the pending handoff, if any (called between scheduler steps)."""
        try:
            pending = read_pending(self.directory)
        except HandoffError as exc:
            self._refuse(None, pending_request_id(self.directory), [str(exc)])
            return
        if pending is None:
            return
        source = pending.source or str(self.directory / "pending.yaml")
        try:
            text = pending.text.decode("utf-8")
        except UnicodeDecodeError:
            self._refuse(pending, pending.request_id, [f"{source}: not UTF-8 text"])
            return
        new, problems = validate_config_text(text, source)
        if new is None:
            self._refuse(pending, pending.request_id, list(problems))
            return
        diff = diff_configs(self.cfg, new, scheduler=self.runtime.options.scheduler)
        if not diff.live:
            self._refuse(pending, pending.request_id, list(diff.restart_required), diff)
            return
        self._apply(pending, new, diff)

    def _slots(self, new: AppConfig) -> list[StrategySlot]:
        engine = self.runtime.engine
        sched_cfg = new.scheduler(self.runtime.options.scheduler)
        slots = []
        for name, slot in engine.slots.items():
            schedule = sched_cfg.schedules[name]
            kind = sched_cfg.strategy_of(name)
            same = getattr(self.cfg.strategies, kind, None) == getattr(new.strategies, kind, None)
            strategy = slot.strategy if same else build_strategy(kind, new.strategies)
            slots.append(StrategySlot(name, strategy, schedule, new.risk_profiles[schedule.risk_profile]))
        return slots

    def _apply(self, pending: Pending, new: AppConfig, diff: ConfigDiff) -> None:
        try:
            slots = self._slots(new)
        except (TradeopsError, KeyError) as exc:
            self._refuse(pending, pending.request_id, [f"cannot build the new strategies: {exc}"], diff)
            return
        try:
            # The signed entry first: a change the log does not hold must not take effect.
            self._record(pending, "applied", diff.summary())
        except TradeopsError as exc:
            clear_pending(self.directory)
            self._answer(pending.request_id, "refused", [f"could not record the change: {exc}"], diff)
            return
        environment = new.environments[self.runtime.options.environment]
        self.runtime.engine.reconfigure(
            slots,
            new.risk_profiles[environment.risk_profile],
            positions_on_kill=new.runtime.kill_switch.positions,
            cancel_on_disable=new.runtime.kill_switch.cancel_open_orders,
        )
        self.runtime.scheduler.retime(self.runtime.clock.now_ms())
        self.runtime.cfg = new
        self.cfg = new
        self.text = pending.text
        self.applied.append(pending.request_id)
        self._publish(pending.request_id)
        clear_pending(self.directory)
        self._answer(pending.request_id, "applied", [], diff)
        print(
            f"config: applied request {pending.request_id} ({sha384(pending.text)[:19]}...)", file=sys.stderr
        )
