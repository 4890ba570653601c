"""Every operator write says why (and under which ticket when the config demands one), and a second
disable never silently replaces the first one's reason and ticket. The use cases are the one place
these rules live, so the CLI and the control API refuse the same input. Issue 14."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_controls_use_cases import OPERATOR, FakeClock, entries
from tests.unit.test_controls_use_cases import clock as clock
from tests.unit.test_controls_use_cases import workspace as workspace
from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.cli.main import main
from tradeops.domain.errors import AlreadyExists, UserInputError
from tradeops.ops.controls import create_override, disable_strategy, enable_strategy, remove_override


@pytest.fixture
def ctx(workspace: Path, clock: FakeClock) -> Iterator[OpsContext]:
    context = build_ops_context()
    context.clock_ms = clock
    yield context
    context.close()


def _require_ticket(workspace: Path) -> None:
    config = workspace / "config" / "core.yaml"
    config.write_text(config.read_text().replace("  nice: 10", "  require_ticket: true\n  nice: 10", 1))


@pytest.mark.parametrize("reason", ["", "   ", "\t\n "])
def test_blank_reason_is_refused_by_every_write(ctx: OpsContext, reason: str) -> None:
    with pytest.raises(UserInputError, match="must not be blank"):
        disable_strategy(ctx, "daily_trend", reason=reason, ticket="INC-1", actor=OPERATOR)
    with pytest.raises(UserInputError, match="must not be blank"):
        create_override(ctx, reason=reason, ticket="INC-1", requested_by="ops", actor=OPERATOR)
    disable_strategy(ctx, "daily_trend", reason="drill", ticket="INC-1", actor=OPERATOR)
    create_override(ctx, reason="drill", ticket="INC-1", requested_by="ops", actor=OPERATOR)
    count = len(entries(ctx))
    with pytest.raises(UserInputError, match="must not be blank"):
        enable_strategy(ctx, "daily_trend", reason=reason, ticket="INC-1", actor=OPERATOR)
    with pytest.raises(UserInputError, match="must not be blank"):
        remove_override(ctx, actor=OPERATOR, reason=reason)
    assert len(entries(ctx)) == count  # nothing was signed for the refused writes
    assert ctx.store.strategy_statuses()["daily_trend"].disabled


def test_reason_and_ticket_are_bounded_one_line(ctx: OpsContext) -> None:
    with pytest.raises(UserInputError, match="at most 500"):
        disable_strategy(ctx, "daily_trend", reason="x" * 501, ticket="T", actor=OPERATOR)
    with pytest.raises(UserInputError, match="one line"):
        disable_strategy(ctx, "daily_trend", reason="a\x1b[2Jb", ticket="T", actor=OPERATOR)
    with pytest.raises(UserInputError, match="at most 100"):
        disable_strategy(ctx, "daily_trend", reason="r", ticket="T" * 101, actor=OPERATOR)


def test_ticket_is_optional_unless_the_config_requires_it(workspace: Path, clock: FakeClock) -> None:
    with build_ops_context() as ctx:
        assert disable_strategy(ctx, "daily_trend", reason="r", ticket="", actor=OPERATOR).ticket == ""
    _require_ticket(workspace)
    with build_ops_context() as ctx:
        ctx.clock_ms = clock
        with pytest.raises(UserInputError, match="require_ticket"):
            disable_strategy(ctx, "mean_reversion", reason="r", ticket="  ", actor=OPERATOR)
        with pytest.raises(UserInputError, match="require_ticket"):
            create_override(ctx, reason="r", ticket="", requested_by="ops", actor=OPERATOR)
        with pytest.raises(UserInputError, match="require_ticket"):
            enable_strategy(ctx, "daily_trend", reason="back", ticket="", actor=OPERATOR)
        create_override(ctx, reason="r", ticket="INC-7", requested_by="ops", actor=OPERATOR)
        # Clearing defaults to the override's own ticket, which satisfies the requirement.
        assert remove_override(ctx, actor=OPERATOR, reason="feed back") is True
        assert entries(ctx)[-1]["metadata"]["ticket"] == "INC-7"


def test_second_disable_keeps_the_first_reason_unless_replaced(ctx: OpsContext, clock: FakeClock) -> None:
    disable_strategy(ctx, "daily_trend", reason="bad fills", ticket="INC-1", actor=OPERATOR)
    count = len(entries(ctx))
    # The same request again changes nothing and signs nothing.
    again = disable_strategy(ctx, "daily_trend", reason="bad fills", ticket="INC-1", actor=OPERATOR)
    assert (again.reason, again.ticket) == ("bad fills", "INC-1") and len(entries(ctx)) == count
    with pytest.raises(AlreadyExists, match=r"already disabled \(reason 'bad fills', ticket INC-1"):
        disable_strategy(ctx, "daily_trend", reason="other", ticket="INC-2", actor=OPERATOR)
    status = ctx.store.strategy_statuses()["daily_trend"]
    assert (status.reason, status.ticket) == ("bad fills", "INC-1") and len(entries(ctx)) == count
    clock.now += 1000
    replaced = disable_strategy(
        ctx, "daily_trend", reason="other", ticket="INC-2", actor=OPERATOR, replace=True
    )
    assert (replaced.reason, replaced.ticket) == ("other", "INC-2")
    entry = entries(ctx)[-1]
    assert entry["metadata"]["reason"] == "other" and entry["artefacts"]["ticket"] == "INC-2"
    assert entry["metadata"]["replaced_disable"]["reason"] == "bad fills"
    assert entry["metadata"]["replaced_disable"]["ticket"] == "INC-1"


def test_cli_refuses_the_same_way(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    disable = ["strategy", "disable", "daily_trend", "--ticket", "INC-1"]
    assert main([*disable, "--reason", "  "]) == 2
    assert "must not be blank" in capsys.readouterr().err
    assert main([*disable, "--reason", "bad fills"]) == 0
    assert main([*disable, "--reason", "other"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already disabled" in err and "--replace" in err
    assert main([*disable, "--reason", "other", "--replace"]) == 0
    assert main(["kill-switch", "disable", "--reason", "x", "--ticket", "T", "--requested-by", "o"]) == 0
    assert main(["kill-switch", "clear"]) == 2  # an override exists: clearing it needs a reason
    assert "must not be blank" in capsys.readouterr().err
