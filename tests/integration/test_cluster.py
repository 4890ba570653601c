"""Cluster mode with real processes: a nats-server with JetStream started here, a PostgreSQL schema
shared by two hosts (two directories), schedulers as separate processes, kill -9, and a partition.
Each host runs in its own network namespace where the machine allows it (the NATS link of the
partitioned host is set down); on loopback otherwise (its TCP forwarder to NATS is SIGSTOPped):
tests/integration/cluster_net.py."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
from pathlib import Path

import nats
import pytest

from tests.conftest import port_open, require_service
from tests.integration.cluster_harness import (
    LOG,
    NATS_SERVER,
    drop_schema,
    fence,
    make_host,
    new_schema,
    orders_by_epoch,
    wait_for,
)
from tests.integration.cluster_net import open_net

pytestmark = [pytest.mark.services, pytest.mark.slow]

TTL = 2.0
TAKEOVER_S = 40.0  # a bound on the waits below, not a timing assertion (see bench cluster)


@pytest.fixture
def cluster(tmp_path):
    require_service(port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
    require_service(os.path.exists(NATS_SERVER), "nats-server (scripts/dev/ensure-tools.sh)")
    net = open_net(tmp_path)
    started: list = []
    try:
        schema = new_schema()
    except BaseException:
        net.close()
        raise

    def host(name: str, partitionable: bool = False):
        reach = net.host(name, partitionable)
        h = make_host(
            tmp_path, name, schema, ttl=TTL, nats_url=reach.nats_url, pg_url=reach.pg_url, prefix=reach.prefix
        )
        started.append(h)
        return h

    try:
        yield host, schema, net, started
    finally:
        for h in started:
            h.stop(signal.SIGKILL)
        net.close()
        drop_schema(schema)


def _leader(schema, name: str, epoch: int):
    return lambda: (f := fence(schema)) is not None and f[:2] == (epoch, name)


def _bars_by_epoch(schema) -> dict[str, set[tuple[str, int]]]:
    found: dict[str, set[tuple[str, int]]] = {}
    for strategy, ts, cid in schema.rows("SELECT strategy, ts, client_order_id FROM orders"):
        epoch = str(cid).split("-")[1]
        found.setdefault(epoch, set()).add((str(strategy), int(ts)))  # type: ignore[call-overload]
    return found


def test_one_leader_trades_and_a_follower_takes_over_after_kill_9(cluster) -> None:
    host, schema, net, _ = cluster
    a, b = host("host-a"), host("host-b")
    a.start()
    assert wait_for(_leader(schema, "host-a", 1), TAKEOVER_S), a.stderr()
    b.start()
    assert wait_for(lambda: orders_by_epoch(schema).get("e1", 0) >= 1, TAKEOVER_S), a.stderr()
    assert wait_for(lambda: "follows" in b.stderr(), TAKEOVER_S)
    assert set(orders_by_epoch(schema)) == {"e1"}  # the follower sent nothing
    assert re.search(r"host-b warm: market \d+ series loaded", b.stderr())  # before it leads
    assert wait_for(lambda: _checkpoints(b.root / LOG), TAKEOVER_S)  # it holds the leader's log
    a.stop(signal.SIGKILL)
    assert wait_for(_leader(schema, "host-b", 2), TAKEOVER_S), b.stderr()
    assert wait_for(lambda: orders_by_epoch(schema).get("e2", 0) >= 1, TAKEOVER_S), b.stderr()
    warm = _warm_reconcile(b.stderr())
    assert warm["projection"] == "as read while following", b.stderr()
    assert 0 < warm["walked_from"] == warm["store_seq"]  # the chain was verified while following
    shown = b.tradeops("cluster", "status", "--json", "--environment", "binance_paper")
    assert shown.returncode == 0, shown.stderr
    assert (json.loads(shown.stdout)["leader"], json.loads(shown.stdout)["epoch"]) == ("host-b", 2)
    b.stop()
    bars = _bars_by_epoch(schema)
    assert not bars["e1"] & bars["e2"]  # no bar traded by both leaders
    _assert_each_bar_once(b.root / LOG, warm["store_seq"])
    check = b.tradeops("state", "check", "--environment", "binance_paper")
    assert check.returncode == 0, check.stdout + check.stderr
    _verify_across_hosts_detects_tampering(b, net.test_url)


def _checkpoints(path: Path) -> list[tuple[int, int]]:
    """(log seq, step time) of every step's checkpoint (cluster mode checkpoints every step)."""
    if not path.exists():
        return []
    return [(e["seq"], e["metadata"]["step_ms"]) for e in _log_entries(path) if e["kind"] == "checkpoint"]


def _warm_reconcile(stderr: str) -> dict:
    line = next(x for x in stderr.splitlines() if x.startswith("cluster: reconcile warm:"))
    words = line.replace(",", "").split()
    return {
        "store_seq": int(words[words.index("seq") + 1]),
        "projection": line.split("projection ")[1].split(",")[0],
        "walked_from": int(line.split("walked from seq ")[1].split()[0]),
    }


def _assert_each_bar_once(path: Path, takeover_seq: int) -> None:
    """Over both leaders' terms in the one log, the steps' market times never go back (a clean stop
    checkpoints its last step once more), and the new leader's first step comes after the old
    leader's last durable one: no step, and so no bar, was processed twice."""
    steps = _checkpoints(path)
    assert all(x[1] <= y[1] for x, y in itertools.pairwise(steps))
    before = [step for seq, step in steps if seq <= takeover_seq]
    after = [step for seq, step in steps if seq > takeover_seq]
    assert before and after and before[-1] < after[0]


def _verify_across_hosts_detects_tampering(host, url: str) -> None:
    verify = ("decision-log", "verify", "--stream", "--environment", "binance_paper", LOG)
    done = host.tradeops(*verify)
    assert done.returncode == 0, done.stdout + done.stderr
    log = host.root / LOG
    original = log.read_bytes()
    lines = original.splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"status":"', b'"status":"x', 1)  # an entry edited on one host
    log.write_bytes(b"".join(lines))
    edited = host.tradeops(*verify)
    assert edited.returncode == 1
    assert f"{LOG}:4: differs from the stream" in edited.stdout
    log.write_bytes(original)
    asyncio.run(_delete_from_stream(url, "tradeops_log_binance_paper", 2))
    deleted = host.tradeops(*verify)
    assert deleted.returncode == 1
    assert "message 2 was deleted" in deleted.stdout


async def _delete_from_stream(url: str, stream: str, seq: int) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_msg(stream, seq)
    finally:
        await nc.close()


def _log_entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_partitioned_leader_stops_before_the_ttl_and_rejoins_as_follower(cluster) -> None:
    host, schema, net, _ = cluster
    a = host("host-a", partitionable=True)
    b = host("host-b")
    a.start()
    assert wait_for(_leader(schema, "host-a", 1), TAKEOVER_S)
    assert wait_for(lambda: orders_by_epoch(schema).get("e1", 0) >= 1, TAKEOVER_S), a.stderr()
    b.start()
    assert wait_for(lambda: "follows" in b.stderr(), TAKEOVER_S)
    net.partition("host-a")  # host-a loses NATS (its namespace's NATS link down), keeps PostgreSQL
    cut_ms = _wall_ms()
    assert wait_for(_leader(schema, "host-b", 2), TAKEOVER_S), b.stderr()
    assert wait_for(lambda: orders_by_epoch(schema).get("e2", 0) >= 1, TAKEOVER_S)
    late = [
        e for e in _log_entries(a.root / LOG)
        if e["kind"] == "order" and e["status"] == "submitted"
        and _iso_ms(e["timestamp"]) > cut_ms + TTL * 1000
    ]  # fmt: skip
    assert late == []  # host-a sent nothing once its lease could have expired
    states = [
        e["status"] for e in _log_entries(a.root / LOG)
        if e["kind"] == "trading_state" and e["artefacts"].get("scope") == "global"
        and _iso_ms(e["timestamp"]) >= cut_ms
    ]  # fmt: skip
    assert "reducing" in states and "halted" in states[states.index("reducing") :], states
    net.heal("host-a")
    assert wait_for(lambda: list((a.root / LOG).parent.glob("*.superseded-*")), TAKEOVER_S), a.stderr()
    assert wait_for(lambda: "host-a follows" in a.stderr(), TAKEOVER_S), a.stderr()  # rejoined
    (superseded,) = (a.root / LOG).parent.glob("*.superseded-*[0-9]")
    stream = set((b.root / LOG).read_bytes().splitlines())
    stale = [json.loads(x) for x in superseded.read_bytes().splitlines() if x not in stream]
    # what host-a wrote under epoch 1 after the cut was refused by the stream (its appends name
    # the sequence they expect last), so it never became durable nor reached the store
    assert any(e["kind"] == "trading_state" and e["status"] == "halted" for e in stale), stale
    b.stop()  # a clean stop hands the lease over: host-a, a follower again, takes it
    assert wait_for(_leader(schema, "host-a", 3), TAKEOVER_S), a.stderr()
    assert wait_for(lambda: orders_by_epoch(schema).get("e3", 0) >= 1, TAKEOVER_S), a.stderr()
    a.stop()
    check = a.tradeops("state", "check", "--environment", "binance_paper")
    assert check.returncode == 0, check.stdout + check.stderr


def _wall_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def _iso_ms(value: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def test_a_kill_switch_on_one_host_halts_the_other_and_a_malformed_value_halts_both(cluster) -> None:
    host, schema, net, _ = cluster
    a, b = host("host-a"), host("host-b")
    a.start()
    assert wait_for(lambda: orders_by_epoch(schema).get("e1", 0) >= 1, TAKEOVER_S), a.stderr()
    b.start()
    assert wait_for(lambda: "follows" in b.stderr(), TAKEOVER_S)
    engaged = b.tradeops(
        "kill-switch", "disable", "--reason", "drill", "--ticket", "INC-18", "--requested-by", "ops",
        "--environment", "binance_paper",
    )  # fmt: skip
    assert engaged.returncode == 0, engaged.stderr
    assert wait_for(lambda: _kill_switch(schema) == "halted", TAKEOVER_S), a.stderr()  # host-a obeys
    cleared = b.tradeops(
        "kill-switch", "clear", "--reason", "drill over", "--requested-by", "ops",
        "--environment", "binance_paper",
    )  # fmt: skip
    assert cleared.returncode == 0, cleared.stderr
    assert wait_for(lambda: _kill_switch(schema) == "active", TAKEOVER_S), a.stderr()
    key = "binance_paper.multi_strategy_disable_json"
    asyncio.run(_put(net.test_url, "tradeops_overrides", key, b"{not json"))
    assert wait_for(lambda: _kill_switch(schema) == "halted", TAKEOVER_S), a.stderr()
    halted_with = orders_by_epoch(schema).get("e1", 0)
    a.stop(signal.SIGKILL)
    assert wait_for(_leader(schema, "host-b", 2), TAKEOVER_S), b.stderr()
    assert wait_for(lambda: "leads" in b.stderr(), TAKEOVER_S)
    b.stop()  # the host that took over obeyed the malformed value from its first step
    assert orders_by_epoch(schema).get("e2", 0) == 0
    assert orders_by_epoch(schema).get("e1", 0) == halted_with
    assert _kill_switch(schema) == "halted"


def _kill_switch(schema) -> str:
    rows = schema.rows("SELECT state FROM trading_state WHERE scope = 'kill_switch'")
    return str(rows[0][0]) if rows else ""


async def _put(url: str, bucket: str, key: str, value: bytes) -> None:
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value(bucket)
        await kv.put(key, value)
    finally:
        await nc.close()
