"""config/core.yaml validation: every problem with file, line and YAML path; one line elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeops.cli.main import main
from tradeops.config.load import load_config, validate_config_text
from tradeops.domain.errors import ConfigError

SHIPPED = Path("config/core.yaml").read_text()


def test_shipped_config_is_valid():
    cfg, problems = validate_config_text(SHIPPED, "config/core.yaml")
    assert problems == ()
    assert set(cfg.scheduler().schedules) == {
        "daily_trend",
        "mean_reversion",
        "volatility_target",
        "cross_exchange",
    }


def _line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def test_allocation_sum_over_one_is_reported_with_line_and_path():
    bad = SHIPPED.replace("      cross_exchange: 0.15", "      cross_exchange: 0.30", 1)
    _cfg, problems = validate_config_text(bad, "config/core.yaml")
    line = _line_of(bad, "strategy_allocations:", after="  balanced:")
    assert (
        problems[0] == f"config/core.yaml:{line} risk_profiles.balanced.strategy_allocations: sum 1.15 > 1.0"
    )
    # The scheduled strategies all run under `balanced`, so their effective sum is reported too.
    assert "schedules: scheduled strategies' allocations sum 1.15 > 1.0 of equity" in problems[1]


def test_every_problem_is_listed():
    bad = SHIPPED.replace("    max_leverage: 3.0", "    max_leverage: -1", 1)
    bad = bad.replace("    mode: paper\n", "    mode: paper\n    colour: blue\n", 1)
    bad = bad.replace(
        "          risk_profile: balanced\n          max_signals: 2",
        "          risk_profile: yolo\n          max_signals: 2",
        1,
    )
    _cfg, problems = validate_config_text(bad, "core.yaml")
    joined = "\n".join(problems)
    assert f"core.yaml:{_line_of(bad, 'max_leverage: -1')} risk_profiles.balanced.max_leverage" in joined
    assert (
        f"core.yaml:{_line_of(bad, 'colour: blue')} environments.binance_paper.colour: unknown key" in joined
    )
    assert len(problems) == 2  # the schema errors stop the semantic pass (the profile check needs a model)


def test_semantic_checks_name_the_field():
    bad = SHIPPED.replace(
        "          risk_profile: balanced\n          max_signals: 2\n          interval: 5m\n"
        "          venues: [binance]\n          symbols: [BTC/USDT, ETH/USDT]",
        "          risk_profile: yolo\n          max_signals: 2\n          interval: 5x\n"
        "          venues: [binance]\n          symbols: [BTC/USDT, ETH/USDT]",
        1,
    )
    _cfg, problems = validate_config_text(bad, "c.yaml")
    assert any("schedules.daily_trend.risk_profile: unknown risk profile 'yolo'" in p for p in problems)
    assert any("schedules.daily_trend.interval: unknown interval '5x'" in p for p in problems)


def test_load_config_raises_one_line(tmp_path):
    path = tmp_path / "core.yaml"
    path.write_text(SHIPPED.replace("    max_leverage: 3.0", "    max_leverage: -1", 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "\n" not in str(info.value) and "max_leverage" in str(info.value)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_cli_validate_exit_codes(tmp_path, capsys):
    assert main(["config", "validate"]) == 0
    path = tmp_path / "core.yaml"
    path.write_text("risk_profiles: [\n")
    assert main(["config", "validate", "--config", str(path)]) == 1
    assert "YAML syntax error" in capsys.readouterr().err
    # Any other command with a bad config: a one-line error and exit 2, no traceback.
    path.write_text(SHIPPED.replace("    max_leverage: 3.0", "    max_leverage: -1", 1))
    assert main(["run", "--config", str(path), "--run-once"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
