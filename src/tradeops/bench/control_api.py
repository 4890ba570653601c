"""`tradeops bench control-api`: the control API under mTLS, served by the real `tradeops api serve`
in its own process, from a temporary workspace with freshly issued certificates.

- requests: keep-alive requests/s and latency percentiles of GET /v1/status and of
  POST /v1/strategies/<s>/disable (each disable is a signed, fsynced decision-log entry), measured
  by `clients` keep-alive httpx clients presenting a client certificate;
- loop: a separate process runs a busy asyncio loop (1 ms ticks, each doing `work_ms` of CPU work)
  and records how late each tick fires, first with the API idle, then while `clients` keep-alive
  connections load it from a SCHED_IDLE process (remote operators use no CPU on the trading host).
  The degradation is loaded p99 minus idle p99. The server runs as shipped: `tradeops api serve`
  at control_api.nice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tradeops.cli.options import config_path_option

TARGETS = {"status_rps_min": 500.0, "disable_p99_ms_max": 50.0, "loop_degradation_p99_ms_max": 1.0}
SCHEDULER_SECRET = "bench-scheduler-secret-0123456789"
STRATEGY = "cross_exchange"
SETTLE_S = 0.3  # ticks this close after a load switch belong to neither condition


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _summary(latencies_s: list[float], elapsed_s: float) -> dict[str, float]:
    ms = [v * 1000 for v in latencies_s]
    return {
        "count": len(ms),
        "rps": round(len(ms) / elapsed_s, 1),
        "p50_ms": round(_percentile(ms, 0.50), 3),
        "p99_ms": round(_percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
    }


# --- workspace and server -------------------------------------------------------------------------


def _workspace(config: Path) -> Path:
    from tradeops.config.load import load_config
    from tradeops.security.certs import TlsLayout, issue_ca, issue_client, issue_server, write_issued

    root = Path(tempfile.mkdtemp(prefix="tradeops-bench-api-"))
    (root / "config").mkdir()
    shutil.copyfile(config, root / "config" / "core.yaml")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        layout = TlsLayout.from_config(load_config("config/core.yaml").control_api.tls)
        ca = issue_ca()
        write_issued(ca, layout.ca_cert, layout.ca_key)
        write_issued(issue_server(ca), layout.server_cert, layout.server_key)
        write_issued(issue_client(ca, "bench"), *layout.client("bench"))
    finally:
        os.chdir(cwd)
    return root


def _server_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")}
    return env | {
        "TRADEOPS_SCHEDULER_TOKEN": SCHEDULER_SECRET,
        "TRADEOPS_DECISION_LOG_KEY": "bench-signing-key-0123456789abcdef",
        "TRADEOPS_DECISION_LOG_KEY_ID": "bench",
    }


def _start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tradeops.cli.main", "api", "serve", "--port", str(port)]
    return subprocess.Popen(
        argv, cwd=root, env=_server_env(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _client(root: Path, port: int) -> Any:
    import httpx

    from tradeops.control_api.tls import client_context

    tls = root / "var" / "secrets" / "tls"
    context = client_context(tls / "ca.pem", tls / "clients" / "bench.pem", tls / "clients" / "bench.key")
    return httpx.Client(
        base_url=f"https://127.0.0.1:{port}",
        verify=context,
        headers={"Authorization": f"Bearer {SCHEDULER_SECRET}"},
        timeout=10.0,
    )


def _wait_ready(root: Path, port: int, server: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 30
    with _client(root, port) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                err = server.stderr.read().decode() if server.stderr else ""
                raise click.ClickException(f"control API exited: {err.strip()[-500:]}")
            try:
                if client.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
    raise click.ClickException("control API did not become ready within 30 s")


# --- load -----------------------------------------------------------------------------------------


def _request(kind: str) -> Callable[[Any], Any]:
    if kind == "status":
        return lambda c: c.get("/v1/status")
    # A new reason each time, replacing the last: every request is a real write with a signed
    # entry (repeating the same disable is a no-op, a different one without replace a 409).
    counter = itertools.count()

    def disable(client: Any) -> Any:
        body = {"reason": f"bench {next(counter)}", "ticket": "BENCH-1", "replace": True}
        return client.post(f"/v1/strategies/{STRATEGY}/disable", json=body)

    return disable


def _run_clients(root: Path, port: int, kind: str, per_client: int, clients: int) -> dict[str, float]:
    """`clients` threads, each with its own keep-alive connection, `per_client` requests each."""
    send = _request(kind)
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        local: list[float] = []
        with _client(root, port) as client:
            send(client)  # connect and handshake outside the measurement
            for _ in range(per_client):
                start = time.perf_counter()
                response = send(client)
                local.append(time.perf_counter() - start)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    return
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise click.ClickException(f"{kind}: unexpected response {failures[0]}")
    return _summary(latencies, elapsed)


def _load_worker(root: str, port: int, clients: int, active: Any, stop: Any, out: Any) -> None:
    """Load generator process: `clients` keep-alive connections sending GET /v1/status while
    `active` is set. Reports the request rate over the active time.

    It runs as SCHED_IDLE: it stands in for operators on other machines, so it only gets CPU the
    measured loop does not want. The API server competes for real, at its configured niceness."""
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    counts = [0] * clients

    def worker(i: int) -> None:
        with _client(Path(root), port) as client:
            client.get("/v1/status")
            while not stop.is_set():
                if active.wait(0.05):
                    client.get("/v1/status")
                    counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.send(sum(counts))
    out.close()


# --- the busy loop (runs in its own process) ------------------------------------------------------


async def _busy_loop(tick_s: float, work_s: float, stop: Any) -> list[tuple[float, float]]:
    """(monotonic time, lateness s) of every tick until `stop` is set."""
    loop = asyncio.get_running_loop()
    ticks: list[tuple[float, float]] = []
    due = loop.time() + tick_s
    while not stop.is_set():
        await asyncio.sleep(max(0.0, due - loop.time()))
        now = loop.time()
        ticks.append((now, now - due))
        spin_until = time.perf_counter() + work_s
        while time.perf_counter() < spin_until:
            pass
        due = max(due + tick_s, loop.time())  # a late tick does not cause a burst of catch-up ticks
    return ticks


def _loop_worker(tick_s: float, work_s: float, ready: Any, stop: Any, out: Any) -> None:
    async def main() -> list[tuple[float, float]]:
        ready.set()
        return await _busy_loop(tick_s, work_s, stop)

    out.send(asyncio.run(main()))  # asyncio's loop.time() is time.monotonic()
    out.close()


def _loop_figures(root: Path, port: int, opts: dict[str, Any]) -> dict[str, float]:
    """Alternate idle and loaded phases (`loop_pairs` of each, `loop_seconds` long) while one loop
    process ticks throughout; p99 lateness of each condition over its pooled ticks. Alternating
    keeps other tenants of a shared machine from landing on one condition only."""
    ctx = multiprocessing.get_context("spawn")
    load_active, load_stop, loop_ready, loop_stop = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event()
    load_rx, load_tx = ctx.Pipe(duplex=False)
    loop_rx, loop_tx = ctx.Pipe(duplex=False)
    loader = ctx.Process(
        target=_load_worker, args=(str(root), port, opts["clients"], load_active, load_stop, load_tx)
    )
    ticker = ctx.Process(
        target=_loop_worker,
        args=(opts["tick_ms"] / 1000, opts["work_ms"] / 1000, loop_ready, loop_stop, loop_tx),
    )
    loader.start()
    ticker.start()
    loop_ready.wait(60)
    time.sleep(0.5)
    windows: list[tuple[str, float, float]] = []
    loaded_time = 0.0
    for _ in range(opts["loop_pairs"]):
        for kind in ("idle", "loaded"):
            if kind == "loaded":
                load_active.set()
            start = time.monotonic()
            time.sleep(opts["loop_seconds"])
            end = time.monotonic()
            load_active.clear()
            windows.append((kind, start + SETTLE_S, end))
            loaded_time += (end - start) if kind == "loaded" else 0.0
            time.sleep(SETTLE_S)
    loop_stop.set()
    load_stop.set()
    ticks = loop_rx.recv()
    requests = load_rx.recv()
    ticker.join()
    loader.join()
    lateness: dict[str, list[float]] = {"idle": [], "loaded": []}
    for at, late in ticks:
        for kind, start, end in windows:
            if start <= at < end:
                lateness[kind].append(late * 1000)
    idle = _percentile(lateness["idle"], 0.99)
    loaded = _percentile(lateness["loaded"], 0.99)
    return {
        "idle_p99_ms": round(idle, 3),
        "loaded_p99_ms": round(loaded, 3),
        "degradation_p99_ms": round(loaded - idle, 3),
        "idle_ticks": len(lateness["idle"]),
        "loaded_ticks": len(lateness["loaded"]),
        "load_rps": round(requests / loaded_time, 1),
    }


# --- command --------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(config: Path, opts: dict[str, Any]) -> dict[str, Any]:
    root = _workspace(config)
    port = _free_port()
    server = _start_server(root, port)
    try:
        _wait_ready(root, port, server)
        status = _run_clients(root, port, "status", opts["requests"], opts["clients"])
        disable = _run_clients(root, port, "disable", opts["write_requests"], 1)
        loop = _loop_figures(root, port, opts)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)
    return {"status": status, "disable": disable, "loop": loop}


def _median(runs: list[dict[str, Any]], section: str, key: str) -> float:
    return round(float(statistics.median(r[section][key] for r in runs)), 3)


@click.command("control-api")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
@config_path_option(dest="config")
@click.option("--requests", type=click.IntRange(min=50), default=500, show_default=True, help="Per client.")
@click.option("--clients", type=click.IntRange(min=1, max=16), default=4, show_default=True)
@click.option("--write-requests", type=click.IntRange(min=20), default=200, show_default=True)
@click.option(
    "--loop-seconds", type=click.FloatRange(min=0.5), default=2.0, show_default=True, help="Per phase."
)
@click.option(
    "--loop-pairs", type=click.IntRange(min=1), default=3, show_default=True, help="Idle+loaded pairs."
)
@click.option("--tick-ms", type=click.FloatRange(min=0.1), default=1.0, show_default=True)
@click.option("--work-ms", type=click.FloatRange(min=0.0), default=0.2, show_default=True)
@click.option("--runs", type=click.IntRange(min=1, max=9), default=1, show_default=True, help="Median of N.")
def bench_control_api(as_json: bool, config: Path, runs: int, **opts: Any) -> int:
    """Requests/s and p99 under mTLS; busy-loop p99 lateness with and without API load."""
    if not config.is_file():
        from tradeops.domain.errors import UserInputError

        raise UserInputError(f"--config {config}: no such file; pass the path of core.yaml")
    results = [_run(config, opts) for _ in range(runs)]
    figures = {
        "status_rps": _median(results, "status", "rps"),
        "status_p99_ms": _median(results, "status", "p99_ms"),
        "disable_rps": _median(results, "disable", "rps"),
        "disable_p99_ms": _median(results, "disable", "p99_ms"),
        "loop_idle_p99_ms": _median(results, "loop", "idle_p99_ms"),
        "loop_loaded_p99_ms": _median(results, "loop", "loaded_p99_ms"),
        "loop_degradation_p99_ms": _median(results, "loop", "degradation_p99_ms"),
    }
    out = {
        "bench": "control-api",
        "transport": "HTTPS/1.1 keep-alive, TLS >= 1.2 with client certificates (ECDSA P-256)",
        "options": opts | {"runs": runs},
        "median": figures,
        "targets": TARGETS,
        "meets_targets": {
            "status_rps": figures["status_rps"] >= TARGETS["status_rps_min"],
            "disable_p99_ms": figures["disable_p99_ms"] <= TARGETS["disable_p99_ms_max"],
            "loop_degradation_p99_ms": figures["loop_degradation_p99_ms"]
            <= TARGETS["loop_degradation_p99_ms_max"],
        },
        "runs": results,
    }
    click.echo(json.dumps(out, indent=None if as_json else 2))
    return 0
