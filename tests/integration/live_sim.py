"""A scratch repo whose config trades the exchange simulator (a real subprocess) through ccxt:
environment `sim_itest` (mode: live, loopback URL) and one fast schedule (1 s cadence, 1m candles)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.integration.live import TRADEOPS, scratch_repo, signing_env

ENV_NAME = "sim_itest"
KEY_VAR, SECRET_VAR = "TRADEOPS_ITEST_SIM_KEY", "TRADEOPS_ITEST_SIM_SECRET"
KEY_VAR2, SECRET_VAR2 = "TRADEOPS_ITEST_SIM2_KEY", "TRADEOPS_ITEST_SIM2_SECRET"


def live_repo(
    tmp: Path,
    sim_url: str,
    *,
    reconcile_s: float = 2.0,
    watchdog: dict[str, float] | None = None,
    ws_url: str | None = None,
    request_timeout_ms: int = 1500,
    second: tuple[str, str | None] | None = None,
    cross_exchange: dict[str, float] | None = None,
    dead_man_seconds: float | None = None,
    market_ws: bool = False,
) -> Path:
    repo = scratch_repo(tmp)
    yaml = YAML()
    path = repo / "config" / "core.yaml"
    cfg = yaml.load(path.read_text())
    cfg["environments"][ENV_NAME] = {
        "mode": "live",
        "risk_profile": "balanced",
        "quote_asset": "USDT",
        "state_path": "var/state/sim_itest.sqlite",
        "decision_log": "audit/decision_logs/sim_itest.jsonl",
        "max_order_notional": 50000.0,
        "venues": {
            "binance": {
                "ccxt_id": "binance",
                "url": sim_url,
                "api_key_env": KEY_VAR,
                "secret_env": SECRET_VAR,
                "request_timeout_ms": request_timeout_ms,
                "max_retries": 6,
                **({"user_stream_url": f"{ws_url}/ws"} if ws_url else {}),
                **({"dead_man_seconds": dead_man_seconds} if dead_man_seconds else {}),
            }
        },
        **({"market_data": {"websocket": True, "reconnect_backoff_ms": 100}} if market_ws else {}),
        "live": {
            "reconcile_interval_seconds": reconcile_s,
            "market_poll_ms": 300,
            "order_poll_ms": 200,
            "history_bars": 200,
            "heartbeat_ms": 200,
        },
    }
    cfg["runtime"]["multi_strategy_schedulers"]["live_itest"] = {
        "schedules": {
            "volatility_target": {
                "cadence_seconds": 1,
                "max_drift_seconds": 1,
                "warmup_bars": 30,
                "risk_profile": "balanced",
                "max_signals": 2,
                "interval": "1m",
                "venues": ["binance"],
                "symbols": ["BTC/USDT"],
            }
        }
    }
    cfg["runtime"]["default_scheduler"] = "live_itest"
    cfg["strategies"]["volatility_target"]["lookback"] = 20
    cfg["strategies"]["volatility_target"]["rebalance_threshold"] = 0.01
    if watchdog:
        cfg["watchdog"] = watchdog
    if second is not None:  # a second simulator as venue `bybit`; cross_exchange trades both
        cfg["environments"][ENV_NAME]["venues"]["bybit"] = {
            **cfg["environments"][ENV_NAME]["venues"]["binance"],
            "url": second[0],
            "api_key_env": KEY_VAR2,
            "secret_env": SECRET_VAR2,
            **({"user_stream_url": f"{second[1]}/ws"} if second[1] else {}),
        }
        cfg["runtime"]["multi_strategy_schedulers"]["live_itest"]["schedules"] = {
            "cross_exchange": {
                "cadence_seconds": 1,
                "max_drift_seconds": 1,
                "warmup_bars": 5,
                "risk_profile": "balanced",
                "max_signals": 2,
                "interval": "1m",
                "venues": ["binance", "bybit"],
                "symbols": ["BTC/USDT"],
            }
        }
        cfg["strategies"]["cross_exchange"].update(cross_exchange or {})
    with path.open("w") as fh:
        yaml.dump(cfg, fh)
    return repo


def live_env(tmp: Path, api_key: str, secret: str, second: tuple[str, str] | None = None) -> dict[str, str]:
    env = signing_env(tmp)
    env.update({KEY_VAR: api_key, SECRET_VAR: secret, "PYTHONUNBUFFERED": "1"})
    if second is not None:
        env.update({KEY_VAR2: second[0], SECRET_VAR2: second[1]})
    return env


def start_scheduler(
    repo: Path, env: dict[str, str], log: Path, metrics: list[str] | None = None
) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [str(TRADEOPS), "run", "--environment", ENV_NAME, "--run-forever", *(metrics or ["--no-metrics"])],
        cwd=repo,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def sim_state(sim_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{sim_url}/_sim/state", timeout=5) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    return data
