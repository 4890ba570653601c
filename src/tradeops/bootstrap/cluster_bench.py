"""What `tradeops bench cluster` measures, on a nats-server it starts itself (loopback):

- override propagation: host A puts an override document in the bucket; the time until host B's
  watcher has judged it (what B's gate then refuses on);
- lease failover: the holder stops renewing (a kill -9 as the lease sees it: no release); the time
  from its last successful renewal until a follower polling like `tradeops run` wins the lease.
  The runtime start after winning (store reconcile, market load) is not included;
- mirroring cost: decision-log entries appended through the real writer until durable, without
  and with the JetStream mirror in between (durable = acknowledged by the stream); the two
  alternate, after one warm-up run of each, and the medians are reported;
- follower sync: keeping a follower's log copy level, whole-file comparison against the
  incremental follower (bootstrap/cluster_bench_follow.py).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tradeops.bootstrap.cluster import FOLLOW_POLL_S
from tradeops.bootstrap.cluster_bench_follow import follower_sync
from tradeops.cluster.connection import NatsConnection
from tradeops.cluster.lease import LeaderLease, ensure_bucket
from tradeops.cluster.log_mirror import LogMirror, StreamLog
from tradeops.cluster.overrides_kv import KvOverrides
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.domain.errors import UserInputError

MIRROR_ROUNDS = 3
FOLLOW_MESSAGES = 1000
DOCUMENT = (
    b'{"action":"disable_multi_strategy","reason":"bench","requested_by":"bench",'
    b'"schema":"stage4.scheduler.override","schema_version":"1.0","ticket":"BENCH-1",'
    b'"timestamp":"2026-01-01T00:00:00Z"}'
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values), "p99": percentile(values, 99), "max": max(values)}


@contextmanager
def nats_server(binary: str | None = None) -> Iterator[str]:
    found = binary or shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(found).exists():
        raise UserInputError(
            "nats-server not found: install Debian nats-server (scripts/dev/ensure-tools.sh)"
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="tradeops-bench-nats-") as store:
        proc = subprocess.Popen(
            [found, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", store],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)
            yield f"nats://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _connect(url: str, name: str) -> NatsConnection:
    conn = NatsConnection(url, name=name)
    conn.connect()
    return conn


def override_propagation(url: str, trials: int) -> list[float]:
    a, b = _connect(url, "bench-a"), _connect(url, "bench-b")
    try:
        kv_a = ensure_bucket(a, "bench_overrides", None, 2.0)
        kv_b = ensure_bucket(b, "bench_overrides", None, 2.0)
        sender = KvOverrides(a, kv_a, "bench", 2.0)
        receiver = KvOverrides(b, kv_b, "bench", 2.0)
        receiver.start()
        seconds = []
        for i in range(trials):
            seen = receiver.updates
            started = time.perf_counter()
            sender.publish("multi_strategy_disable.json", DOCUMENT if i % 2 == 0 else None)
            while receiver.updates == seen:
                time.sleep(0.0002)
            seconds.append(time.perf_counter() - started)
        return seconds
    finally:
        a.close()
        b.close()


def failover(url: str, trials: int, ttl_s: float) -> list[float]:
    a, b = _connect(url, "bench-a"), _connect(url, "bench-b")
    epochs = iter(range(1, 10_000))
    try:
        kv_a = ensure_bucket(a, "bench_lease", ttl_s, 2.0)
        kv_b = ensure_bucket(b, "bench_lease", ttl_s, 2.0)
        seconds = []
        for trial in range(trials):
            key = f"leader.trial{trial}"
            holder = LeaderLease(a, kv_a, key, "host-a", ttl_s)
            if not holder.try_acquire(lambda: next(epochs)):
                raise RuntimeError("bench: the first host could not take a fresh lease")
            time.sleep(ttl_s / 2)
            holder.abandon()
            died = time.monotonic() - (holder.age_s() or 0.0)  # its last successful renewal
            follower = LeaderLease(b, kv_b, key, "host-b", ttl_s)
            while not follower.try_acquire(lambda: next(epochs)):
                time.sleep(FOLLOW_POLL_S)
            seconds.append(time.monotonic() - died)
            follower.release()
        return seconds
    finally:
        a.close()
        b.close()


def _append(
    path: Path, entries: int, hook: Callable[[Callable[[int], None]], Callable[[int], None]] | None
) -> float:
    durable = [0]

    def on_durable(seq: int) -> None:
        durable[0] = max(durable[0], seq)

    key = SigningKey("bench", secrets.token_bytes(32), "sha256")
    writer = DecisionLogWriter(path, key, on_durable=on_durable if hook is None else hook(on_durable))
    started = time.perf_counter()
    for i in range(entries):
        writer.append(kind="signal", stage="bench", status="emitted", artefacts={"i": i}, metadata={"n": i})
    writer.flush()
    while durable[0] < writer.seq:
        time.sleep(0.0005)
    elapsed = time.perf_counter() - started
    writer.close()
    return entries / elapsed


def _mirrored(url: str, entries: int, path: Path, stream_name: str) -> float:
    conn = _connect(url, "bench-mirror")
    mirrors: list[LogMirror] = []
    try:
        stream = StreamLog(conn, stream_name, f"bench.{stream_name}", 5.0)
        stream.ensure()

        def hook(on_durable: Callable[[int], None]) -> Callable[[int], None]:
            mirrors.append(LogMirror(stream, path, on_durable))
            return mirrors[0].notify

        return _append(path, entries, hook)
    finally:
        for mirror in mirrors:
            mirror.close()
        conn.close()


def mirroring_cost(url: str, entries: int, workdir: Path, rounds: int = MIRROR_ROUNDS) -> dict[str, Any]:
    """Local and mirrored runs alternate (a warm-up run of each first); medians of `rounds`."""
    plain: list[float] = []
    mirrored: list[float] = []
    for r in range(rounds + 1):
        local_rate = _append(workdir / f"plain{r}.jsonl", entries, None)
        mirrored_rate = _mirrored(url, entries, workdir / f"mirrored{r}.jsonl", f"bench_log{r}")
        if r > 0:
            plain.append(local_rate)
            mirrored.append(mirrored_rate)
    local, remote = statistics.median(plain), statistics.median(mirrored)
    return {
        "entries": entries,
        "rounds": rounds,
        "durable_per_second_local": round(local, 1),
        "durable_per_second_mirrored": round(remote, 1),
        "slowdown_ratio": round(local / remote - 1.0, 3),
    }


def run_bench(trials: int, ttl_s: float, entries: int) -> dict[str, Any]:
    with nats_server() as url, tempfile.TemporaryDirectory(prefix="tradeops-bench-log-") as work:
        propagation = override_propagation(url, max(trials, 50))
        takeover = failover(url, trials, ttl_s)
        mirror = mirroring_cost(url, entries, Path(work))
        conn = _connect(url, "bench-follow")
        try:
            follow = follower_sync(conn, Path(work), FOLLOW_MESSAGES)
        finally:
            conn.close()
    return {
        "override_propagation_ms": {k: round(v * 1000, 3) for k, v in summary(propagation).items()},
        "override_propagation_trials": max(trials, 50),
        "lease_failover_s": {k: round(v, 3) for k, v in summary(takeover).items()},
        "lease_failover_trials": trials,
        "lease_ttl_s": ttl_s,
        "mirroring": mirror,
        "follower_sync": follow,
    }
