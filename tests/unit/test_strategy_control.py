"""The strategy use cases as (context, Command) -> View, on the in-memory fakes of every ops port:
defaults, until/duration, validation and the one decision-log entry per change happen in the use
case, so every door gets the same answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.ops_fakes import log_of
from tradeops.config.load import load_config
from tradeops.config.models import AppConfig
from tradeops.domain.errors import AlreadyExists, AuditWriteFailed, UserInputError
from tradeops.ops.control_common import UnknownStrategy
from tradeops.ops.strategy_control import (
    DisableStrategy,
    Door,
    EnableStrategy,
    ShowStrategy,
    disable,
    enable,
    show,
)
from tradeops.ops_ports import OpsContext
from tradeops.ops_ports.fakes import FixedClock, FixedKeyProvider, fake_ops_context

REPO = Path(__file__).resolve().parents[2]
NOW = 1_772_366_400_000  # 2026-03-01T12:00:00Z
CLI = Door("cli", "os-user")


@pytest.fixture(scope="module")
def cfg() -> AppConfig:
    return load_config(REPO / "config" / "core.yaml")


@pytest.fixture
def ctx(cfg: AppConfig) -> OpsContext:
    return fake_ops_context(cfg, now_ms=NOW)


def test_disable_persists_logs_once_and_answers_with_the_view(ctx: OpsContext) -> None:
    done = disable(ctx, DisableStrategy("mean_reversion", " spread blew out ", "INC-7", CLI, "l2-ops"))

    assert done.changed and done.message == (
        "strategy mean_reversion disabled (risk_budget_bucket=manual, allocation 0): spread blew out"
    )
    assert done.to_json() == {
        "strategy": "mean_reversion",
        "disabled": True,
        "reason": "spread blew out",
        "ticket": "INC-7",
        "requested_by": "l2-ops",
        "until": None,
        "changed_at": "2026-03-01T12:00:00Z",
    }
    assert ctx.store.strategy_statuses()["mean_reversion"].disabled
    [entry] = log_of(ctx).entries
    assert (entry["kind"], entry["status"]) == ("strategy_state", "disabled")
    assert entry["metadata"]["via"] == "cli" and entry["metadata"]["allocation"] == 0


def test_the_door_names_the_requester_when_the_request_does_not(ctx: OpsContext) -> None:
    api = Door("api", "svc-console", token_id="console", client_subject="CN=console")
    done = disable(ctx, DisableStrategy("daily_trend", "drill", "CHG-1", api))
    assert done.status.requested_by == "svc-console"
    metadata = log_of(ctx).entries[0]["metadata"]
    assert (metadata["token_id"], metadata["client_subject"]) == ("console", "CN=console")


def test_duration_and_until_are_computed_once_from_the_context_clock(ctx: OpsContext) -> None:
    done = disable(ctx, DisableStrategy("daily_trend", "drill", "CHG-1", CLI, duration_minutes=30))
    assert done.status.until == "2026-03-01T12:30:00Z"

    other = disable(
        ctx, DisableStrategy("cross_exchange", "drill", "CHG-1", CLI, until="2026-03-02T00:00:00Z")
    )
    assert other.status.until == "2026-03-02T00:00:00Z"

    assert isinstance(ctx.clock_ms, FixedClock)
    ctx.clock_ms.advance(31 * 60_000)  # past its until: shown as enabled again
    assert not show(ctx, ShowStrategy("daily_trend")).status.disabled


@pytest.mark.parametrize(
    ("until", "minutes", "message"),
    [
        ("2026-03-02T00:00:00Z", 5, "--until and --duration-minutes are exclusive"),
        ("tomorrow", None, "--until 'tomorrow': use ISO 8601"),
        ("2026-03-01T11:00:00Z", None, "must be in the future"),
    ],
)
def test_bad_until_is_refused_before_anything_changes(
    ctx: OpsContext, until: str, minutes: int | None, message: str
) -> None:
    with pytest.raises(UserInputError, match=message):
        disable(
            ctx, DisableStrategy("daily_trend", "drill", "CHG-1", CLI, until=until, duration_minutes=minutes)
        )
    assert ctx.store.strategy_statuses() == {} and log_of(ctx).entries == []


def test_unknown_strategy_is_one_error_for_every_use_case(ctx: OpsContext) -> None:
    for call in (
        lambda: disable(ctx, DisableStrategy("grid_bot", "x", "T-1", CLI)),
        lambda: enable(ctx, EnableStrategy("grid_bot", "x", "T-1", CLI)),
        lambda: show(ctx, ShowStrategy("grid_bot")),
    ):
        with pytest.raises(UnknownStrategy, match="unknown strategy 'grid_bot'; valid: daily_trend"):
            call()


def test_enable_restores_once_and_is_a_no_op_when_not_disabled(ctx: OpsContext) -> None:
    idle = enable(ctx, EnableStrategy("daily_trend", "fixed", "INC-7", CLI))
    assert not idle.changed and idle.message == "strategy daily_trend is not disabled; nothing changed"
    assert log_of(ctx).entries == []

    disable(ctx, DisableStrategy("daily_trend", "drill", "INC-7", CLI))
    done = enable(ctx, EnableStrategy("daily_trend", "fixed", "INC-7", CLI))
    assert done.changed and done.message == "strategy daily_trend enabled (status=restored)"
    assert [e["status"] for e in log_of(ctx).entries] == ["disabled", "restored"]


def test_a_second_different_disable_is_refused_unless_replaced(ctx: OpsContext) -> None:
    disable(ctx, DisableStrategy("daily_trend", "drill", "INC-7", CLI))
    again = disable(ctx, DisableStrategy("daily_trend", "drill", "INC-7", CLI))
    assert not again.changed and len(log_of(ctx).entries) == 1
    with pytest.raises(AlreadyExists):
        disable(ctx, DisableStrategy("daily_trend", "other", "INC-8", CLI))
    replaced = disable(ctx, DisableStrategy("daily_trend", "other", "INC-8", CLI, replace=True))
    assert replaced.status.ticket == "INC-8"
    assert log_of(ctx).entries[-1]["metadata"]["replaced_disable"]["ticket"] == "INC-7"


def test_without_a_signing_key_or_a_writable_log_nothing_changes(ctx: OpsContext) -> None:
    ctx.keys = FixedKeyProvider(missing=True)
    with pytest.raises(UserInputError, match="signing key"):
        disable(ctx, DisableStrategy("daily_trend", "drill", "INC-7", CLI))
    assert ctx.store.strategy_statuses() == {}

    ctx.keys = FixedKeyProvider()
    log_of(ctx).fail = "disk full"
    with pytest.raises(AuditWriteFailed):
        disable(ctx, DisableStrategy("daily_trend", "drill", "INC-7", CLI))
    assert not ctx.store.strategy_statuses()["daily_trend"].disabled  # put back: no unlogged change


def test_show_reports_profile_and_effective_allocation(ctx: OpsContext) -> None:
    before = show(ctx, ShowStrategy("mean_reversion"))
    assert before.allocation == before.configured_allocation > 0
    assert before.risk_budget_bucket == before.risk_profile and not before.status.disabled

    disable(ctx, DisableStrategy("mean_reversion", "drill", "INC-7", CLI, "l2-ops"))
    after = show(ctx, ShowStrategy("mean_reversion"))
    assert (after.allocation, after.risk_budget_bucket) == (0.0, "manual")
    assert after.to_json()["disabled"] is True
    assert after.lines()[0] == "strategy mean_reversion: DISABLED: drill"
    assert "by l2-ops (ticket INC-7: drill)" in after.lines()[2]
