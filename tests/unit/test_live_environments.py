"""Live environments: keys by env-var name, confirmation for real money, and `tradeops run` on a
live environment refuses (one line, non-zero) instead of falling back to paper."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tradeops.cli.main import main
from tradeops.config.live import is_real_money, live_problems
from tradeops.config.load import load_config, validate_config_text
from tradeops.security.audit import run_security_audit

SHIPPED = Path("config/core.yaml").read_text()
TESTNET_KEYS = {
    "BINANCE_TESTNET_API_KEY": "tk-0123456789",
    "BINANCE_TESTNET_SECRET": "ts-0123456789",
    "BYBIT_TESTNET_API_KEY": "bk-0123456789",
    "BYBIT_TESTNET_SECRET": "bs-0123456789",
}
LIVE_KEYS = {
    "BINANCE_API_KEY": "lk-0123456789",
    "BINANCE_SECRET": "ls-0123456789",
    "BYBIT_API_KEY": "yk-0123456789",
    "BYBIT_SECRET": "ys-0123456789",
}


def test_shipped_live_environments_name_keys_and_limits():
    cfg = load_config("config/core.yaml")
    for name in ("binance_testnet", "binance_live", "binance_sim"):
        env = cfg.environments[name]
        assert env.mode == "live" and env.max_order_notional
        assert all(v.api_key_env and v.secret_env for v in env.venues.values())
    assert not any(is_real_money(v) for v in cfg.environments["binance_testnet"].venues.values())
    assert not any(is_real_money(v) for v in cfg.environments["binance_sim"].venues.values())
    assert all(is_real_money(v) for v in cfg.environments["binance_live"].venues.values())
    assert not cfg.environments["binance_live"].confirm_live


def test_live_environment_without_max_order_notional_is_a_config_error():
    bad = SHIPPED.replace("    max_order_notional: 100.0\n", "", 1)
    _cfg, problems = validate_config_text(bad, "config/core.yaml")
    assert len(problems) == 1
    assert "environments.binance_live" in problems[0] and "max_order_notional" in problems[0]


def test_live_venue_without_key_names_is_a_config_error():
    bad = SHIPPED.replace(", api_key_env: BINANCE_API_KEY, secret_env: BINANCE_SECRET", "", 1)
    _cfg, problems = validate_config_text(bad, "config/core.yaml")
    assert len(problems) == 1 and "venues.binance needs api_key_env and secret_env" in problems[0]


def test_key_env_names_must_be_env_var_names():
    bad = SHIPPED.replace("api_key_env: BINANCE_API_KEY", "api_key_env: 'sk-live abc'", 1)
    _cfg, problems = validate_config_text(bad, "config/core.yaml")
    assert problems and "api_key_env" in problems[0]


def test_problems_name_missing_keys_and_missing_confirmation():
    cfg = load_config("config/core.yaml")
    live = cfg.environments["binance_live"]
    assert live_problems("binance_live", live, LIVE_KEYS) == [
        "environments.binance_live: venues binance, bybit trade real money; "
        "set confirm_live: true to allow it"
    ]
    missing = live_problems("binance_live", live.model_copy(update={"confirm_live": True}), {})
    assert (
        missing[0]
        == "environments.binance_live.venues.binance.api_key_env: env var BINANCE_API_KEY is not set"
    )
    assert len(missing) == 4
    assert live_problems("binance_testnet", cfg.environments["binance_testnet"], TESTNET_KEYS) == []


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree("config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    for var in (*TESTNET_KEYS, *LIVE_KEYS):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _run(environment: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["run", "--environment", environment, "--bars", "300", "--state", "memory"])
    out, err = capsys.readouterr()
    return code, out, err


def test_run_on_live_environment_without_keys_refuses_in_one_line(workspace, capsys):
    code, out, err = _run("binance_testnet", capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: environments.binance_testnet.venues.binance.api_key_env: env var BINANCE_TESTNET_API_KEY "
        "is not set (and 3 more); refusing to start a live run"
    ]
    assert "Paper run" not in out
    assert not (workspace / "audit" / "decision_logs" / "binance_testnet.jsonl").exists()


def test_run_on_unconfirmed_real_money_environment_refuses(workspace, capsys, monkeypatch):
    for var, value in LIVE_KEYS.items():
        monkeypatch.setenv(var, value)
    code, out, err = _run("binance_live", capsys)
    assert code == 2 and "set confirm_live: true" in err and "Paper run" not in out


def test_run_on_ready_live_environment_with_an_unreachable_venue_never_paper_trades(
    workspace, capsys, monkeypatch
):
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = workspace / "config" / "core.yaml"
    path.write_text(path.read_text().replace("http://127.0.0.1:8765", f"http://127.0.0.1:{port}"))
    sim_keys = {"TRADEOPS_SIM_API_KEY": "k" * 16, "TRADEOPS_SIM_SECRET": "s" * 16}
    for var, value in {**sim_keys, "TRADEOPS_SIM2_API_KEY": "k2", "TRADEOPS_SIM2_SECRET": "s2"}.items():
        monkeypatch.setenv(var, value)
    code = main(["run", "--environment", "binance_sim", "--run-once"])
    out, err = capsys.readouterr()
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "environments.binance_sim.venues.binance: cannot trade live" in err
    assert "Paper run" not in out
    assert all(value not in out + err for value in sim_keys.values())


def test_live_environment_refuses_paper_only_flags(workspace, capsys, monkeypatch):
    for var in (
        "TRADEOPS_SIM_API_KEY",
        "TRADEOPS_SIM_SECRET",
        "TRADEOPS_SIM2_API_KEY",
        "TRADEOPS_SIM2_SECRET",
    ):
        monkeypatch.setenv(var, "x")
    code = main(["run", "--environment", "binance_sim", "--state", "memory"])
    _out, err = capsys.readouterr()
    assert code == 2 and "is mode: live" in err and "--state" in err


def test_audit_reports_key_presence_never_values(workspace):
    cfg = load_config("config/core.yaml")
    report = run_security_audit(cfg, config_path="config/core.yaml", environ=dict(TESTNET_KEYS))
    live = report.to_dict()["live_venues"]
    assert live["environments"]["binance_testnet"]["keys_present"] is True
    assert live["environments"]["binance_live"]["keys_present"] is False
    assert live["environments"]["binance_live"]["max_order_notional"] == 100.0
    assert live["errors"] == []  # binance_live is not armed: it cannot start, it is no security hole
    assert all(value not in str(report.to_dict()) for value in TESTNET_KEYS.values())


def test_audit_errors_when_armed_environment_lacks_keys(workspace):
    path = workspace / "config" / "core.yaml"
    path.write_text(path.read_text().replace("confirm_live: false", "confirm_live: true"))
    report = run_security_audit(load_config(path), config_path=path, environ={})
    assert report.status == "error"
    assert any("BINANCE_API_KEY is not set (confirm_live is true" in e for e in report.errors)


def test_audit_errors_when_a_key_value_is_pasted_into_the_config(workspace):
    path = workspace / "config" / "core.yaml"
    path.write_text(path.read_text() + f"# old key {TESTNET_KEYS['BINANCE_TESTNET_SECRET']}\n")
    report = run_security_audit(load_config(path), config_path=path, environ=dict(TESTNET_KEYS))
    assert any("value of BINANCE_TESTNET_SECRET" in e and "rotate" in e for e in report.errors)
    assert TESTNET_KEYS["BINANCE_TESTNET_SECRET"] not in str(report.to_dict())
