"""A scratch repo whose config trades the exchange simulator (a real subprocess) through ccxt:
environment `sim_itest` (mode: live, loopback URL) and one fast schedule (1 s cadence, 1m candles)."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ccxt
from ruamel.yaml import YAML

from tests.integration.live import TRADEOPS, entries, scratch_repo, signing_env
from tradeops.bootstrap.exchange_sim import SimulatorProcess
from tradeops.exchanges.ccxt_client import SPOT_OPTIONS, point_at

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


@contextmanager
def fast_sim() -> Iterator[SimulatorProcess]:
    """The simulator the live schedulers trade: BTC/USDT, 1m candles, a bar every 300 ms."""
    process = SimulatorProcess("--step-ms", "300", "--interval", "1m", "--symbols", "BTC/USDT")
    try:
        yield process
    finally:
        process.stop()


def stop_scheduler(proc: subprocess.Popen[bytes]) -> None:
    """Stop a scheduler (continued first if it was SIGSTOPped), killed when it does not end."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def decisions(repo: Path) -> list[dict[str, Any]]:
    return entries(repo / "audit" / "decision_logs" / f"{ENV_NAME}.jsonl")


def fills(repo: Path) -> list[dict[str, Any]]:
    return [e for e in decisions(repo) if e["kind"] == "fill"]


def sim_client(sim: SimulatorProcess) -> Any:
    """An unmodified ccxt client on the simulator's account."""
    options = {"defaultType": "spot", **SPOT_OPTIONS["binance"]}
    client = ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret, "options": options})
    point_at(client, sim.url)
    return client


def tradeops_cli(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRADEOPS), *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=False
    )
