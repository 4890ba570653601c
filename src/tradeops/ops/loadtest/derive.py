"""The load test's configuration: N schedules cloned round-robin from the configured ones.

Schedule 1..k keep the configured names (`daily_trend`, `mean_reversion`, ...); further copies are
`daily_trend_2`, `mean_reversion_2`, ... Each copy names its strategy kind explicitly, and the copies
of one schedule share that schedule's allocation evenly, so every risk profile still sums to <= 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tradeops.config.models import AppConfig, RiskProfile, Schedule
from tradeops.domain.errors import UserInputError


@dataclass(frozen=True)
class DerivedSchedules:
    cfg: AppConfig
    base_of: dict[str, str]  # schedule name -> the configured schedule it copies

    @property
    def names(self) -> list[str]:
        return list(self.base_of)


def clone_names(configured: list[str], count: int) -> dict[str, str]:
    """Round-robin names: the configured ones first, then `<name>_2`, `<name>_3`, ..."""
    if not configured:
        raise UserInputError("runtime.multi_strategy_schedulers: the default scheduler has no schedules")
    names: dict[str, str] = {}
    for i in range(count):
        base = configured[i % len(configured)]
        round_ = i // len(configured) + 1
        names[base if round_ == 1 else f"{base}_{round_}"] = base
    return names


def _split_allocations(profile: RiskProfile, base_of: dict[str, str]) -> RiskProfile:
    copies = Counter(base_of.values())
    allocations = dict(profile.strategy_allocations)
    for name, base in base_of.items():
        if base in profile.strategy_allocations:
            allocations[name] = profile.strategy_allocations[base] / copies[base]
    return profile.model_copy(update={"strategy_allocations": allocations})


def derive_config(cfg: AppConfig, schedules: int, signals: int) -> DerivedSchedules:
    """A copy of `cfg` whose default scheduler runs `schedules` schedules with `max_signals=signals`."""
    sched_name = cfg.runtime.default_scheduler
    sched = cfg.scheduler()
    base_of = clone_names(list(sched.schedules), schedules)
    derived: dict[str, Schedule] = {
        name: sched.schedules[base].model_copy(
            update={"strategy": sched.strategy_of(base), "max_signals": signals}
        )
        for name, base in base_of.items()
    }
    runtime = cfg.runtime.model_copy(
        update={
            "multi_strategy_schedulers": {
                **cfg.runtime.multi_strategy_schedulers,
                sched_name: sched.model_copy(update={"schedules": derived}),
            }
        }
    )
    profiles = {name: _split_allocations(p, base_of) for name, p in cfg.risk_profiles.items()}
    return DerivedSchedules(cfg.model_copy(update={"runtime": runtime, "risk_profiles": profiles}), base_of)
