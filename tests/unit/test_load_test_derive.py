"""The load test's derived configuration: round-robin copies, kinds, allocations, max_signals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.domain.errors import UserInputError
from tradeops.ops.loadtest.derive import clone_names, derive_config

CONFIG = Path(__file__).resolve().parents[2] / "config" / "core.yaml"


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    return load_config(CONFIG)


def test_clone_names_round_robin() -> None:
    names = clone_names(["a", "b", "c"], 7)
    assert list(names) == ["a", "b", "c", "a_2", "b_2", "c_2", "a_3"]
    assert names["c_2"] == "c" and names["a_3"] == "a"


def test_fewer_schedules_than_configured_keeps_the_first() -> None:
    assert list(clone_names(["a", "b", "c"], 2)) == ["a", "b"]


def test_no_configured_schedule_is_a_user_error() -> None:
    with pytest.raises(UserInputError):
        clone_names([], 3)


def test_derived_schedules_name_their_kind_and_signal_limit(cfg: AppConfig) -> None:
    derived = derive_config(cfg, 9, signals=7)
    sched = derived.cfg.scheduler()
    configured = list(cfg.scheduler().schedules)
    assert len(sched.schedules) == 9
    assert list(sched.schedules)[: len(configured)] == configured
    for name, base in derived.base_of.items():
        assert sched.strategy_of(name) == cfg.scheduler().strategy_of(base)
        assert sched.schedules[name].max_signals == 7
        assert sched.schedules[name].symbols == cfg.scheduler().schedules[base].symbols


def test_copies_share_their_schedules_allocation(cfg: AppConfig) -> None:
    derived = derive_config(cfg, 9, signals=5)
    for profile_name, profile in derived.cfg.risk_profiles.items():
        original = cfg.risk_profiles[profile_name].strategy_allocations
        scheduled = {n: profile.strategy_allocations.get(n, 0.0) for n in derived.base_of}
        assert sum(scheduled.values()) <= 1.0 + 1e-9
        for base in set(derived.base_of.values()) & set(original):
            copies = [n for n, b in derived.base_of.items() if b == base]
            assert sum(scheduled[n] for n in copies) == pytest.approx(original[base])
            assert len({scheduled[n] for n in copies}) == 1


def test_source_config_is_untouched(cfg: AppConfig) -> None:
    before = cfg.model_dump()
    derive_config(cfg, 12, signals=1)
    assert cfg.model_dump() == before
