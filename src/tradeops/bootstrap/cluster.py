"""Cluster mode's composition: one host's NATS connection, lease, override bucket and log stream,
and the run loop `follow -> lead -> (lease lost) -> follow` of `tradeops run --run-forever`.

A follower keeps warm: configuration loaded, its local decision log kept equal to the stream, its
presence and lag published. When it wins the lease it takes a new epoch (the fence row), brings its
log level with the stream, opens the shared store (reconcile: store, log, venue) and trades.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine

from tradeops.bootstrap.cluster_ops_anchor import signer
from tradeops.bootstrap.cluster_warm import WarmFollower
from tradeops.cluster import names
from tradeops.cluster.connection import ClusterUnavailable, NatsConnection
from tradeops.cluster.lease import LeaderLease, ensure_bucket, read_lease
from tradeops.cluster.log_follow import LogFollower
from tradeops.cluster.log_mirror import LogMirror, StreamLog
from tradeops.cluster.ops_anchor import OpsAnchorSync
from tradeops.cluster.override_files import OverrideFileSync
from tradeops.cluster.overrides_kv import KvOverrides
from tradeops.config.models import AppConfig, ClusterConfig
from tradeops.config.overrides import COMPONENTS
from tradeops.decision_log.anchor import anchor_path
from tradeops.domain.errors import Fatal, UserInputError
from tradeops.domain.order_ids import epoch_tag
from tradeops.persistence import fence
from tradeops.persistence.fence import EpochFence
from tradeops.persistence.sql_store import SqlStateStore
from tradeops.runtime.cluster_guard import ClusterGate, ClusterGuard, Standing
from tradeops.runtime.ports import OrderGate

if TYPE_CHECKING:
    from tradeops.bootstrap.account import WarmStart
    from tradeops.bootstrap.engine import RunOptions

FOLLOW_POLL_S = 0.25


def cluster_settings(cfg: AppConfig, environment: str) -> tuple[ClusterConfig, str]:
    """The cluster block and the environment's PostgreSQL URL (one clear line when either is wrong)."""
    if cfg.cluster is None:
        raise UserInputError("cluster: not configured; add a `cluster:` block (docs/deploy/cluster.md)")
    url = cfg.environments[environment].state_url or ""
    if not url.startswith("postgresql"):
        raise UserInputError(
            f"environments.{environment}.state_url: cluster mode needs a PostgreSQL state_url shared by "
            "every host, e.g. postgresql+psycopg://tradeops@db.internal/tradeops"
        )
    return cfg.cluster, url


@dataclass
class ClusterNode:
    """One host's side of the cluster for one environment (lives across leadership terms)."""

    cfg: ClusterConfig
    environment: str
    state_url: str
    log_path: Path
    conn: NatsConnection
    lease_kv: Any
    overrides: KvOverrides
    stream: StreamLog
    db: Any
    audit_kv: Any = None  # the merged anchor of the hosts' operations logs
    lag: int = 0

    def close(self) -> None:
        self.conn.close()
        self.db.dispose()

    def publish_presence(self, role: str, epoch: int) -> None:
        value = {"host_id": self.cfg.host_id, "role": role, "epoch": epoch, "lag": self.lag,
                 "seen_ms": time.time_ns() // 1_000_000}  # fmt: skip
        key = names.follower_key(self.environment, self.cfg.host_id)
        try:
            self.conn.call(self.lease_kv.put(key, json.dumps(value).encode()), 1.0)
        except ClusterUnavailable:
            return

    def sync_log(self, follower: LogFollower) -> None:
        """Keep the local log equal to the stream (a follower's warm copy), incrementally."""
        follower.sync()
        behind = self.stream.last_seq() - follower.seq
        self.lag = 0 if behind <= 0 else max(0, self.stream.line_count() - follower.lines)

    def advance_epoch(self) -> int:
        return fence.advance(self.db, self.environment, self.cfg.host_id)

    def follow(self, stopping: threading.Event, warm: WarmFollower | None = None) -> LeaderLease | None:
        """Wait as a follower until this host wins the lease (None: asked to stop); `warm`
        reads the account's state after every sync of the log."""
        lease = LeaderLease(
            self.conn, self.lease_kv, names.lease_key(self.environment), self.cfg.host_id,
            self.cfg.lease_ttl_seconds,
        )  # fmt: skip
        announced = False
        follower = LogFollower(self.stream, self.log_path)
        while not stopping.is_set():
            try:
                self.sync_log(follower)
                if warm is not None:
                    warm.poll(follower)
                current = read_lease(self.conn, self.lease_kv, lease.key, 1.0)
                if current is None and lease.try_acquire(self.advance_epoch):
                    self.sync_log(follower)  # the last leader's final entries
                    if warm is not None:
                        warm.poll(follower)
                    return lease
                self.publish_presence("follower", current.epoch if current else 0)
                if not announced:
                    who = f"{current.host_id} (epoch {current.epoch})" if current else "nobody"
                    print(f"cluster: {self.cfg.host_id} follows; leader {who}", file=sys.stderr)
                    if warm is not None:
                        print(f"cluster: {self.cfg.host_id} warm: {warm.describe()}", file=sys.stderr)
                    announced = True
            except ClusterUnavailable as exc:
                print(f"cluster: {exc}; retrying", file=sys.stderr)
            stopping.wait(FOLLOW_POLL_S)
        return None


def open_node(cfg: AppConfig, environment: str) -> ClusterNode:
    cluster, url = cluster_settings(cfg, environment)
    conn = NatsConnection(cluster.nats_url, name=f"tradeops-{cluster.host_id}")
    timeout = cluster.mirror_ack_timeout_seconds
    try:
        conn.connect()
        lease_kv = ensure_bucket(conn, names.lease_bucket(cluster), cluster.lease_ttl_seconds, timeout)
        override_kv = ensure_bucket(conn, names.overrides_bucket(cluster), None, timeout)
        audit_kv = ensure_bucket(conn, names.audit_bucket(cluster), None, timeout)
        overrides = KvOverrides(conn, override_kv, environment, timeout)
        overrides.start()
        stream = StreamLog(
            conn, names.log_stream(cluster, environment), names.log_subject(cluster, environment), timeout
        )
        stream.ensure()
    except ClusterUnavailable as exc:
        conn.close()
        raise UserInputError(
            f"cluster.nats_url {cluster.nats_url}: cannot use NATS JetStream ({exc})"
        ) from None
    SqlStateStore(url).close()  # a new store gets its schema first (migrations), then the fence
    db = create_engine(url, pool_pre_ping=True)
    fence.ensure_table(db)
    log_path = Path(cfg.decision_log_path(environment))
    return ClusterNode(cluster, environment, url, log_path, conn, lease_kv, overrides, stream, db, audit_kv)


class OverrideBusAdapter:
    """The ops' OverrideBus on the cluster's override bucket (its own short-lived connection)."""

    def __init__(self, conn: NatsConnection, overrides: KvOverrides) -> None:
        self.conn = conn
        self.overrides = overrides

    def publish(self, file_name: str, data: bytes | None) -> None:
        try:
            self.overrides.publish(file_name, data)
        except ClusterUnavailable as exc:
            raise ClusterPublishFailed(
                f"cluster: the override is in force on this host but did NOT reach the others ({exc}); "
                "other hosts go REDUCING after cluster.max_disconnect_seconds without NATS"
            ) from None

    def publish_strategy(self, strategy: str, disabled: bool, until_ms: int | None) -> None:
        try:
            self.overrides.publish_strategy(strategy, disabled, until_ms)
        except ClusterUnavailable as exc:
            raise ClusterPublishFailed(
                f"cluster: strategy {strategy} is changed in the shared store (every host reads it "
                f"within its refresh interval) but not in the bucket ({exc})"
            ) from None

    def close(self) -> None:
        self.conn.close()


class ClusterPublishFailed(Fatal):
    """An override was written locally but not put in the cluster bucket."""


def open_override_bus(cfg: AppConfig, environment: str) -> OverrideBusAdapter:
    cluster, _url = cluster_settings(cfg, environment)
    conn = NatsConnection(cluster.nats_url, name=f"tradeops-ops-{cluster.host_id}")
    timeout = cluster.mirror_ack_timeout_seconds
    try:
        conn.connect()
        kv = ensure_bucket(conn, names.overrides_bucket(cluster), None, timeout)
    except ClusterUnavailable as exc:
        conn.close()
        raise UserInputError(
            f"cluster.nats_url {cluster.nats_url}: cannot use NATS JetStream ({exc})"
        ) from None
    return OverrideBusAdapter(conn, KvOverrides(conn, kv, environment, timeout))


@dataclass
class ClusterTerm:
    """One leadership term: what build_runtime wires in (RunOptions.cluster)."""

    node: ClusterNode
    lease: LeaderLease
    warm: WarmFollower | None = None
    guard: ClusterGuard = field(init=False)
    fence: EpochFence = field(init=False)
    mirror: LogMirror | None = None

    def __post_init__(self) -> None:
        self.guard = ClusterGuard(self.lease, self.node.overrides, self.node.cfg.max_disconnect_seconds)
        self.fence = EpochFence(self.node.environment, self.lease.epoch)

    @property
    def market(self) -> list[Any] | None:
        """The series the follower loaded (None: load them now)."""
        return None if self.warm is None else self.warm.market

    def warm_start(self) -> WarmStart | None:
        return None if self.warm is None else self.warm.take()

    @property
    def order_tag(self) -> str:
        return epoch_tag(self.lease.epoch)

    def wrap_gate(self, gate: OrderGate | None) -> OrderGate:
        return ClusterGate(gate, self.lease, self.node.overrides, lambda: time.time_ns() // 1_000_000)

    def durable_hook(self, on_durable: Any) -> Any:
        self.mirror = LogMirror(self.node.stream, self.node.log_path, on_durable)
        return self.mirror.notify

    def close(self) -> None:
        if self.mirror is not None:
            self.mirror.close()
        self.lease.release()


async def _lead(runtime: Any, term: ClusterTerm, stopping: threading.Event) -> bool:
    """Run the scheduler while the lease holds; True when the lease was lost (not a stop)."""
    loop = asyncio.get_running_loop()
    scheduler = runtime.scheduler

    def stop() -> None:
        stopping.set()
        scheduler.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    lost = False

    async def watch() -> None:
        nonlocal lost
        while not scheduler.stop_event.is_set():
            if term.lease.standing() is Standing.LOST or (term.mirror and term.mirror.fenced):
                lost = True
                term.guard.apply(runtime.engine)  # HALTED, recorded (a refused write, if deposed)
                scheduler.stop()
                return
            await asyncio.sleep(term.lease.ttl_s / 20)

    watcher = asyncio.ensure_future(watch())
    try:
        await scheduler.run(forever=True)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return lost


def run_cluster(options: RunOptions, cfg: AppConfig) -> int:
    """`tradeops run --run-forever` with `cluster:` set: follow, lead, and follow again."""
    from tradeops.bootstrap.engine import build_runtime

    node = open_node(cfg, options.environment)
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    warm: WarmFollower | None = None
    files = OverrideFileSync(
        node.conn, node.overrides.kv, options.environment, Path(cfg.runtime.overrides_dir),
        [c.file_name for c in COMPONENTS.values()],
    )  # fmt: skip
    files.start()  # an `rm` of an override file on this host lifts it on every host
    ops_log = Path(cfg.decision_log.operations_log)
    anchors = OpsAnchorSync(
        node.conn, node.audit_kv, node.cfg.host_id, anchor_path(ops_log), signer(_key(cfg, ops_log))
    )
    anchors.start()  # this host's operations-log anchor, merged with the other hosts'
    try:
        warm = WarmFollower(cfg, options, node)
        while not stopping.is_set():
            lease = node.follow(stopping, warm)
            if lease is None:
                break
            print(
                f"cluster: {node.cfg.host_id} leads {options.environment} (epoch {lease.epoch}); "
                f"warm: {warm.describe()}",
                file=sys.stderr,
            )
            term = ClusterTerm(node, lease, warm)
            node.publish_presence("leader", lease.epoch)
            lost = _term(build_runtime, replace(options, cluster=term), cfg, term, stopping)
            if lost:
                print(f"cluster: {node.cfg.host_id} lost the lease (epoch {lease.epoch}); following",
                      file=sys.stderr)  # fmt: skip
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        files.close()
        anchors.close()
        if warm is not None:
            warm.close()
        node.close()
    return 0


def _key(cfg: AppConfig, log_path: Path) -> Any:
    from tradeops.bootstrap.decision_log_wiring import signing_key

    try:
        return signing_key(cfg, log_path)
    except UserInputError as exc:  # no key: the merged anchor goes unsigned (verify refuses it)
        print(f"cluster: operations-log anchor unsigned: {exc}", file=sys.stderr)
        return None


def _term(
    build: Any, options: RunOptions, cfg: AppConfig, term: ClusterTerm, stopping: threading.Event
) -> bool:
    try:
        runtime = build(options, cfg)
    except BaseException:
        term.close()
        raise
    try:
        if runtime.halt_detail is not None:
            print(f"error: {runtime.halt_detail}", file=sys.stderr)
            stopping.set()
            return False
        return asyncio.run(_lead(runtime, term, stopping))
    finally:
        runtime.close()
        term.close()
