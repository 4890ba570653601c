"""The acceptance stage as a two-host cluster: two scratch copies of the repository (host-a and
host-b, each a git repo with its own overrides, logs and operations log), one nats-server with
JetStream and one PostgreSQL schema started here, the same signing key on both, and a paper
scheduler in cluster mode running on each host. host-a leads; host-b follows. Runbook commands
run verbatim on either host (`ClusterStage.a.sh(...)`, `ClusterStage.b.sh(...)`).

Kept apart from conftest.py's one-host stage (which another change parametrises by venue): the
helpers it shares are imported, not copied."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.acceptance.conftest import Stage, _git
from tests.conftest import port_open, require_service
from tests.integration.cluster_harness import NATS_SERVER, drop_schema, fence, new_schema, start_nats
from tests.integration.live import REPO, Scheduler, signing_env, wait_for

TTL = 2.0
BOUND_S = 60.0  # bounds the waits (not timing assertions)


def _host_root(base: Path, name: str, state_url: str, nats_url: str) -> Path:
    root = base / name
    root.mkdir()
    for part in ("config", "deploy", "docs"):
        shutil.copytree(REPO / part, root / part)
    (root / "scripts").symlink_to(REPO / "scripts")
    (root / ".venv").symlink_to(REPO / ".venv")
    path = root / "config" / "core.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["environments"]["binance_paper"]["state_url"] = state_url
    doc["cluster"] = {
        "nats_url": nats_url,
        "host_id": name,
        "lease_ttl_seconds": TTL,
        "max_disconnect_seconds": 1.0,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "config", "docs")
    _git(root, "commit", "-q", "-m", "baseline")
    return root


@dataclass
class ClusterHost:
    name: str
    stage: Stage
    scheduler: Scheduler

    def sh(self, command: str) -> subprocess.CompletedProcess[str]:
        return self.stage.sh(command)

    @property
    def root(self) -> Path:
        return self.stage.root

    def console(self) -> str:
        path = self.root / "scheduler.out"
        return path.read_text() if path.exists() else ""


@dataclass
class ClusterStage:
    a: ClusterHost
    b: ClusterHost
    schema: object

    def leader(self) -> tuple[int, str] | None:
        found = fence(self.schema)  # type: ignore[arg-type]
        return None if found is None else (found[0], found[1])


@pytest.fixture(name="cluster_stage")
def cluster_stage_fixture(tmp_path: Path):
    require_service(port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
    require_service(os.path.exists(NATS_SERVER), "nats-server (scripts/dev/ensure-tools.sh)")
    nats, port = start_nats(tmp_path / "jetstream")
    schema = new_schema()
    env = signing_env(tmp_path)  # one key for both hosts: the account's log is one chain
    env.update(
        TRADEOPS_SCHEDULER_TOKEN=secrets.token_urlsafe(32),
        TRADEOPS_OBSERVER_TOKEN=secrets.token_urlsafe(32),
        TRADEOPS_TIME_SCALE="300",
        PATH=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
    )
    hosts: list[ClusterHost] = []
    try:
        for name in ("host-a", "host-b"):
            root = _host_root(tmp_path, name, schema.url, f"nats://127.0.0.1:{port}")
            stage = Stage(root, env, "", 0)
            host = ClusterHost(name, stage, Scheduler(root, env, speed=3000))
            stage.scheduler = host.scheduler
            hosts.append(host)
            if name == "host-a":
                wait_for(lambda: fence(schema) is not None and fence(schema)[1] == "host-a", BOUND_S,
                         "host-a to lead")  # fmt: skip
        a, b = hosts
        wait_for(lambda: "host-b follows" in b.console(), BOUND_S, "host-b to follow")
        wait_for(lambda: len(a.scheduler.orders()) >= 1, BOUND_S, "the leader to trade")
        yield ClusterStage(a, b, schema)
    finally:
        for host in hosts:
            host.scheduler.stop(timeout=15)  # SIGTERM, SIGKILL after the bound
        nats.terminate()
        nats.wait(timeout=10)
        drop_schema(schema)
