"""Crash harness: a real `--run-forever` scheduler killed with SIGKILL at 30+ moments, restarted each
time, then stopped cleanly. Nothing may be repeated or lost (docs/runbooks/system-of-record.md).

Lives alternate between three kinds of death: a random moment while replaying at speed, a random
moment while replaying as fast as possible (the log is group-committing all the time), and a kill
from inside a projection transaction (TRADEOPS_CRASH_POINT, the store's test hook). A torn log tail
is repaired with the documented step, `tradeops decision-log repair`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LOG = Path("audit/decision_logs/binance_paper.jsonl")
STORE = Path("var/state/tradeops.sqlite")
BARS = 6000
LIVES = 32
MARKET = ["--environment", "binance_paper", "--synthetic", "--bars", str(BARS)]
READY = "scheduler running on"


def tradeops(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from tradeops.cli.main import main; sys.exit(main())", *args]


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    shutil.copytree(REPO / "config", tmp_path / "config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")}
    env.update(
        TRADEOPS_DECISION_LOG_KEY="crash-harness-secret-0123456789abcdef", TRADEOPS_DECISION_LOG_KEY_ID="ci"
    )
    return tmp_path, env


class Life:
    """One scheduler process; `ready` is set once it prints that the scheduler runs."""

    def __init__(self, site: Path, env: dict[str, str], args: list[str]) -> None:
        self.proc = subprocess.Popen(
            tradeops("run", *MARKET, "--run-forever", "--no-metrics", *args),
            cwd=site,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.ready = threading.Event()
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if READY in line:
                self.ready.set()
        self.ready.set()  # ended (e.g. a torn tail refused the start)

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _live(site: Path, env: dict[str, str], rng: random.Random, index: int, stats: Counter[str]) -> None:
    mode = index % 3
    args: list[str] = ["--speed", "40000"] if mode != 1 else []
    life_env = dict(env)
    if mode == 2:
        life_env["TRADEOPS_CRASH_POINT"] = f"projection:{rng.randint(2, 12)}"
    life = Life(site, life_env, args)
    assert life.ready.wait(60), "scheduler never started"
    if life.proc.poll() is None and mode != 2:
        time.sleep(rng.uniform(0.02, 0.4) if mode == 1 else rng.uniform(0.1, 0.9))
        life.proc.send_signal(signal.SIGKILL)
    code = life.wait()
    if "decision-log repair" in life.text:  # a torn last line refuses the start: the documented step
        repair = subprocess.run(
            tradeops("decision-log", "repair", str(LOG)), cwd=site, env=env, capture_output=True, text=True
        )
        assert repair.returncode == 0, repair.stderr
        stats["repaired"] += 1
        return
    stats["killed" if code == -signal.SIGKILL else f"exit {code}"] += 1
    stats["replayed"] += "replayed log seq" in life.text
    stats["crash_point"] += mode == 2 and code == -signal.SIGKILL
    assert code in (-signal.SIGKILL, 0), life.text


def test_kill_9_at_random_moments_repeats_and_loses_nothing(site: tuple[Path, dict[str, str]]) -> None:
    root, env = site
    rng = random.Random(12)
    stats: Counter[str] = Counter()
    for index in range(LIVES):
        _live(root, env, rng, index, stats)
        if index == LIVES // 2:  # a write torn by a power cut (a kill alone lets write() finish)
            with (root / LOG).open("ab") as log:
                log.write(b'{"artefacts":{"client_order_id":"torn')
    final = Life(root, env, ["--speed", "40000"])
    assert final.ready.wait(60)
    time.sleep(1.0)
    final.proc.send_signal(signal.SIGTERM)
    assert final.wait() == 0, final.text
    assert stats["killed"] >= 30 and stats["crash_point"] >= 5 and stats["replayed"] >= 1, stats
    assert stats["repaired"] >= 1, stats

    check = subprocess.run(
        tradeops("state", "check", "--json"), cwd=root, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["ok"]

    entries = _entries(root / LOG)
    intents = [
        e["artefacts"]["client_order_id"]
        for e in entries
        if e["kind"] == "risk_decision" and e["status"] == "accepted"
    ]
    acks = [
        (e["artefacts"]["venue"], e["artefacts"]["order_id"])
        for e in entries
        if e["kind"] == "order" and e["status"] == "submitted"
    ]
    assert intents and len(intents) == len(set(intents)), "a client order id was used twice"
    assert acks and len(acks) == len(set(acks)), "an exchange order id named two orders"

    steps = [e["metadata"]["step_ms"] for e in entries if "step_ms" in e["metadata"]]
    distinct = [s for i, s in enumerate(steps) if i == 0 or s != steps[i - 1]]
    assert distinct == sorted(set(distinct)), "a step (and so its bars) was processed twice"

    db = sqlite3.connect(root / STORE)
    try:
        store_fills = {
            row[0]: row[1:] for row in db.execute("SELECT log_seq, order_id, quantity, price FROM fills")
        }
        orders = list(db.execute("SELECT client_order_id, status FROM orders"))
    finally:
        db.close()
    log_fills = {
        e["seq"]: (e["artefacts"]["order_id"], e["metadata"]["quantity"], e["metadata"]["price"])
        for e in entries
        if e["kind"] == "fill"
    }
    assert store_fills == log_fills, "a fill in the store without its log entry, or the reverse"
    assert {cid for cid, _ in orders} == set(intents)
    assert not [cid for cid, status in orders if status == "intent"], "an intent was left unresolved"

    verify = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "verify_decision_log.py"), "--strict", str(LOG)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_mismatched_store_refuses_to_trade_but_serves_the_alert_metric(
    site: tuple[Path, dict[str, str]],
) -> None:
    root, env = site
    first = subprocess.run(
        tradeops("run", *MARKET, "--run-once"), cwd=root, env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    db = sqlite3.connect(root / STORE)
    with db:
        db.execute("UPDATE log_position SET seq = seq + 3")  # the store claims entries the log lacks
    db.close()
    size = (root / LOG).stat().st_size
    life = Life(root, env, ["--metrics", "--metrics-port", "0"])
    url = None
    for _ in range(600):
        url = next((line.split()[1] for line in life.lines if line.startswith("metrics: ")), None)
        if url or life.proc.poll() is not None:
            break
        time.sleep(0.1)
    assert url, life.text
    for _ in range(100):
        if "serving metrics until SIGTERM" in life.text:
            break
        time.sleep(0.1)
    body = urllib.request.urlopen(url, timeout=10).read().decode()
    assert 'tradeops_trading_halted{reason="state_log_mismatch"} 1.0' in body
    assert 'tradeops_trading_state{state="halted"} 1.0' in body
    life.proc.send_signal(signal.SIGTERM)
    assert life.wait() == 1
    assert "trading HALTED (state_log_mismatch)" in life.text and "tradeops state check" in life.text
    assert (root / LOG).stat().st_size == size
