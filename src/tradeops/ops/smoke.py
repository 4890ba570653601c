"""Paper smoke cycles: prove the remaining (or named) strategies still run, emit signals and trade.

One cycle is a short replay of the synthetic market through the real engine (strategies, risk gate,
paper fills, decision log), with the environment's kill switch and disabled strategies honoured.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.config.live import paper_stand_in
from tradeops.config.models import STRATEGY_NAMES
from tradeops.domain.errors import UserInputError
from tradeops.ops_ports import OpsContext

SMOKE_LOG = "audit/decision_logs/smoke.jsonl"


@dataclass
class StrategySmoke:
    strategy: str
    cycles: int = 0
    signals: int = 0
    orders: int = 0
    fills: int = 0
    denials: int = 0
    disabled: bool = False

    @property
    def traded(self) -> bool:
        return self.fills > 0


@dataclass
class SmokeResult:
    environment: str
    cycles: int
    requested: str | None
    strategies: dict[str, StrategySmoke] = field(default_factory=dict)
    global_override: bool = False

    @property
    def ok(self) -> bool:
        if self.global_override:
            return False
        if self.requested is not None:
            return self.strategies[self.requested].cycles > 0
        return any(s.cycles > 0 for s in self.strategies.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "cycles": self.cycles,
            "strategy": self.requested,
            "ok": self.ok,
            "global_override": self.global_override,
            "strategies": {
                n: {
                    "cycles": s.cycles,
                    "signals": s.signals,
                    "orders": s.orders,
                    "fills": s.fills,
                    "denials": s.denials,
                    "disabled": s.disabled,
                    "traded": s.traded,
                }
                for n, s in self.strategies.items()
            },
        }


def run_smoke_cycles(ctx: OpsContext, cycles: int, strategy: str | None, bars: int = 1200) -> SmokeResult:
    """Run `cycles` smoke replays (each on a different synthetic seed) and total what happened."""
    if cycles < 1:
        raise UserInputError("--cycles must be at least 1")
    scheduled = list(ctx.cfg.scheduler().schedules)
    if strategy is not None and strategy not in scheduled:
        valid = ", ".join(n for n in STRATEGY_NAMES if n in scheduled)
        raise UserInputError(f"--strategy {strategy}: unknown; valid: {valid}")
    result = SmokeResult(ctx.environment, cycles, strategy)
    names = [strategy] if strategy else scheduled
    result.strategies = {n: StrategySmoke(n) for n in names}
    for cycle in range(cycles):
        options = RunOptions(
            environment=ctx.environment,
            config_path=ctx.config_path,
            synthetic_bars=bars,
            strategies=names,
            state="memory",
            decision_log_path=SMOKE_LOG,
            seed=7 + cycle,
        )
        runtime = build_runtime(options, paper_stand_in(ctx.cfg, ctx.environment))
        try:
            asyncio.run(runtime.scheduler.run())
            result.global_override = result.global_override or runtime.stats.override_active
            for name, stats in runtime.stats.strategies.items():
                row = result.strategies[name]
                row.cycles += 1 if stats.cycles > 0 else 0
                row.signals += stats.signals
                row.orders += stats.orders
                row.fills += stats.fills
                row.denials += sum(stats.denials.values())
                row.disabled = row.disabled or stats.disabled
        finally:
            runtime.close()
    return result
