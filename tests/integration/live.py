"""Helpers for tests that drive a real `tradeops run --run-forever` process in a scratch repo copy."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TRADEOPS = REPO / ".venv" / "bin" / "tradeops"


def scratch_repo(tmp: Path) -> Path:
    """A working directory with the shipped config: commands run there exactly as from the repo root."""
    shutil.copytree(REPO / "config", tmp / "config")
    (tmp / "scripts").symlink_to(REPO / "scripts")
    (tmp / "docs").mkdir()
    shutil.copytree(REPO / "docs" / "runbooks", tmp / "docs" / "runbooks")
    return tmp


def signing_env(tmp: Path) -> dict[str, str]:
    key = tmp / "secrets" / "decision_log.key"
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("integration-test-key-0123456789abcdef")
    key.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_DECISION_LOG")}
    env.update(TRADEOPS_DECISION_LOG_KEY_FILE=str(key), TRADEOPS_DECISION_LOG_KEY_ID="itest")
    return env


def entries(path: Path) -> list[dict[str, Any]]:
    """The log's entries after its genesis entry (what the runtime and operators wrote)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            break  # a line being written right now
        if entry.get("kind") != "log_genesis":  # the first line of every log names the log
            out.append(entry)
    return out


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def run(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def script(name: str) -> list[str]:
    """A runbook script started with the machine's plain `python3`, as the runbooks do."""
    return ["python3", f"scripts/{name}.py"]


class Scheduler:
    """`tradeops run --synthetic --speed N --run-forever` as a child process; with `market=[]` and a
    live `environment`, `tradeops run --environment E --run-forever` (the venue's own market)."""

    def __init__(
        self,
        cwd: Path,
        env: dict[str, str],
        speed: int = 3000,
        extra: list[str] | None = None,
        environment: str = "binance_paper",
        market: list[str] | None = None,
    ) -> None:
        self.cwd = cwd
        self.environment = environment
        self.log = open(cwd / "scheduler.out", "w")  # noqa: SIM115 - closed in stop()
        source = ["--synthetic", "--bars", "20000", "--speed", str(speed)] if market is None else market
        self.proc = subprocess.Popen(
            [
                str(TRADEOPS),
                "run",
                "--environment",
                environment,
                *source,
                "--run-forever",
                *(extra if extra is not None else ["--no-metrics"]),
            ],
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def runtime_log(self) -> Path:
        return self.cwd / "audit" / "decision_logs" / f"{self.environment}.jsonl"

    def orders(self, strategy: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in entries(self.runtime_log)
            if e["kind"] == "order"
            and e["status"] == "submitted"
            and (strategy is None or e["artefacts"]["strategy"] == strategy)
        ]

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode
