"""Compose the exchange simulator: its market from the synthetic generator or candle files."""

from __future__ import annotations

import collections
import json
import re
import select
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from tradeops.domain.errors import UserInputError
from tradeops.exchanges.sim.server import SimOptions, load_accounts, serve
from tradeops.marketdata.series import CandleSeries

__all__ = ["SimOptions", "SimulatorProcess", "serve_simulator", "simulator_series"]

START_TIMEOUT_S = 30.0


def simulator_series(opts: SimOptions) -> list[CandleSeries]:
    """One candle series per symbol: the deterministic synthetic market, or `opts.data`."""
    if opts.data is None:
        from tradeops.marketdata.synthetic import synthetic_market

        bars = opts.history + 20_000
        generated = synthetic_market(list(opts.symbols), ["binance"], bars, opts.interval, opts.seed)
        return [s for s in generated if s.venue == "binance"]
    from tradeops.marketdata.datasets import load_dataset

    by_symbol: dict[str, CandleSeries] = {}
    for s in load_dataset(opts.data, symbols=list(opts.symbols), interval=opts.interval):
        if s.symbol not in by_symbol or s.venue == opts.venue:
            by_symbol[s.symbol] = s
    if not by_symbol:
        raise UserInputError(f"--data {opts.data}: no {opts.interval} candles for {', '.join(opts.symbols)}")
    return list(by_symbol.values())


def serve_simulator(opts: SimOptions) -> None:
    if opts.accounts:
        load_accounts(opts.accounts)  # a bad file fails before the market is built
    serve(opts, simulator_series(opts))


class SimulatorProcess:
    """`tradeops exchange-sim serve --port 0` as a child process (tests, benchmarks, drills)."""

    def __init__(self, *extra: str, cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tradeops.cli.main",
                "exchange-sim",
                "serve",
                "--port",
                "0",
                "--step-ms",
                "0",
                *extra,
            ],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: collections.deque[str] = collections.deque(maxlen=50)
        self._drainer: threading.Thread | None = None
        self.ws_port = 0
        try:
            self.port = self._wait_for_port()
            keys = self.admin("keys")
        except BaseException:
            self.stop()  # never leave the child running when the start fails
            raise
        self.api_key, self.secret = keys["api_key"], keys["secret"]

    def _wait_for_port(self) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            line = self.proc.stdout.readline() if ready else ""
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"the exchange simulator exited with {self.proc.returncode}")
            self.output.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            ws = re.search(r"ws://127\.0\.0\.1:(\d+)", line)
            if ws:
                self.ws_port = int(ws.group(1))
            if found:
                self._drainer = threading.Thread(target=self._drain, daemon=True)
                self._drainer.start()
                return int(found.group(1))
        raise RuntimeError(f"the exchange simulator did not start within {START_TIMEOUT_S}s")

    def _drain(self) -> None:
        """Keep reading its output (the pipe must never fill), remembering the last lines."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def admin(self, action: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_sim/{action}", data=data, method="GET" if data is None else "POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._drainer is not None:
            self._drainer.join(timeout=5)  # EOF once the process is gone
        if self.proc.stdout is not None and (self._drainer is None or not self._drainer.is_alive()):
            self.proc.stdout.close()
