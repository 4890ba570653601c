"""Real processes for the cluster tests: a nats-server with JetStream, a tiny TCP proxy (to
partition one host from NATS), host directories sharing one PostgreSQL schema, schedulers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import yaml
from sqlalchemy import create_engine, text

from tests.conftest import require_service
from tradeops.cluster.connection import NatsConnection

REPO = Path(__file__).resolve().parents[2]
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
PG_URL = os.environ.get("TRADEOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TRADEOPS = str(REPO / ".venv" / "bin" / "tradeops")
KEY = "cluster-test-key-0123456789abcdef"
LOG = "audit/decision_logs/binance_paper.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, deadline_s: float = 10.0, host: str = "127.0.0.1") -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port}")


def wait_for(predicate, deadline_s: float, step_s: float = 0.1):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    return predicate()


def start_nats(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc, port


@contextmanager
def nats_connection(directory: Path, name: str) -> Iterator[NatsConnection]:
    """A connection to a nats-server of the test's own (JetStream in `directory`), both closed after."""
    require_service(os.path.exists(NATS_SERVER), "nats-server (scripts/dev/ensure-tools.sh)")
    proc, port = start_nats(directory)
    try:
        conn = NatsConnection(f"nats://127.0.0.1:{port}", name=name)
        conn.connect()
        try:
            yield conn
        finally:
            conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_proxy(target_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """A TCP forwarder on loopback: SIGSTOP it and the host behind it is partitioned from NATS."""
    port = free_port()
    script = str(Path(__file__).with_name("tcp_forward.py"))
    proc = subprocess.Popen([sys.executable, script, "127.0.0.1", str(port), "127.0.0.1", str(target_port)])
    wait_port(port)
    return proc, port


@dataclass
class Schema:
    name: str
    url: str

    def url_for(self, pg_url: str) -> str:
        """The schema's URL on a PostgreSQL reached at `pg_url` (a host in its own namespace)."""
        separator = "&" if "?" in pg_url else "?"
        return f"{pg_url}{separator}options={quote(f'-csearch_path={self.name}')}"

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql))]
        finally:
            engine.dispose()


def new_schema() -> Schema:
    name = f"tradeops_cluster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    separator = "&" if "?" in PG_URL else "?"
    return Schema(name, f"{PG_URL}{separator}options={quote(f'-csearch_path={name}')}")


def drop_schema(schema: Schema) -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema.name}" CASCADE'))
    admin.dispose()


@dataclass
class Host:
    """One host: its own directory (config, log, overrides) and its scheduler process."""

    name: str
    root: Path
    nats_port: int
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    prefix: list[str] = field(default_factory=list)  # runs a command on this host (its namespace)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")}
        env.update(TRADEOPS_DECISION_LOG_KEY=KEY, PYTHONUNBUFFERED="1", **self.extra_env)
        return env

    def tradeops(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, TRADEOPS, *args],
            cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*self.prefix, TRADEOPS, "run", "--environment", "binance_paper", "--run-forever", "--no-metrics",
             "--speed", "600", "--bars", "3000"],
            cwd=self.root, env=self.env(), stdout=subprocess.DEVNULL,
            stderr=(self.root / "scheduler.err").open("ab"),
        )  # fmt: skip

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stderr(self) -> str:
        path = self.root / "scheduler.err"
        return path.read_text() if path.exists() else ""


def make_host(
    base: Path,
    name: str,
    schema: Schema,
    nats_port: int | None = None,
    ttl: float = 2.0,
    *,
    nats_url: str | None = None,
    pg_url: str | None = None,
    prefix: list[str] | None = None,
) -> Host:
    """A host directory; `nats_url`/`pg_url`/`prefix`: how it reaches them from its namespace."""
    root = base / name
    shutil.copytree(REPO / "config", root / "config")
    path = root / "config" / "core.yaml"
    doc = yaml.safe_load(path.read_text())
    state_url = schema.url if pg_url is None else schema.url_for(pg_url)
    doc["environments"]["binance_paper"]["state_url"] = state_url
    url = nats_url or f"nats://127.0.0.1:{nats_port}"
    doc["cluster"] = {
        "nats_url": url,
        "host_id": name,
        "lease_ttl_seconds": ttl,
        "max_disconnect_seconds": 1.0,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return Host(name, root, nats_port or 0, prefix=list(prefix or []))


def orders_by_epoch(schema: Schema) -> dict[str, int]:
    counts: dict[str, int] = {}
    try:
        rows = schema.rows("SELECT client_order_id FROM orders")
    except Exception:
        return {}
    for (cid,) in rows:
        epoch = next(
            (part for part in str(cid).split("-") if part.startswith("e") and part[1:].isalnum()), ""
        )
        counts[epoch] = counts.get(epoch, 0) + 1
    return counts


def fence(schema: Schema) -> tuple[int, str, int] | None:
    try:
        rows = schema.rows("SELECT epoch, holder, refused FROM tradeops_cluster_fence")
    except Exception:
        return None
    return (int(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None  # type: ignore[call-overload]
