"""`tradeops cluster status`: the ops' ClusterReader over the lease bucket, the log stream and the
fence row (one short-lived node)."""

from __future__ import annotations

import json
import time
from typing import Any

from nats.js.errors import NoKeysError

from tradeops.bootstrap.cluster import ClusterNode, open_node
from tradeops.cluster import names
from tradeops.cluster.lease import read_lease
from tradeops.config.models import AppConfig
from tradeops.persistence import fence
from tradeops.runtime.cluster_guard import ClusterSnapshot, Member


class NatsClusterReader:
    """The ops' ClusterReader: the lease bucket, the log stream and the fence row."""

    def __init__(self, cfg: AppConfig) -> None:
        self.cfg = cfg

    def snapshot(self, environment: str) -> Any:
        node = open_node(self.cfg, environment)
        try:
            now_ms = time.time_ns() // 1_000_000
            lease = read_lease(node.conn, node.lease_kv, names.lease_key(environment), 2.0)
            fenced = fence.current(node.db, environment)
            return ClusterSnapshot(
                leader=lease.host_id if lease else None,
                lease_epoch=lease.epoch if lease else None,
                lease_age_s=(now_ms - lease.renewed_ms) / 1000 if lease else None,
                fence_epoch=fenced[0] if fenced else None,
                refused_writes=fenced[2] if fenced else 0,
                stream_entries=node.stream.line_count(),
                members=tuple(self._members(node, environment, now_ms)),
            )
        finally:
            node.close()

    def _members(self, node: ClusterNode, environment: str, now_ms: int) -> list[Any]:
        async def read() -> list[Any]:
            prefix = names.follower_key(environment, "")
            try:
                keys = await node.lease_kv.keys()
            except NoKeysError:  # an empty bucket; any other failure is a failed read, not "no followers"
                return []
            found = []
            for key in sorted(k for k in keys if k.startswith(prefix)):
                entry = await node.lease_kv.get(key)
                data = json.loads(entry.value or b"{}")
                found.append(
                    Member(
                        str(data["host_id"]),
                        str(data["role"]),
                        int(data["epoch"]),
                        int(data["lag"]),
                        (now_ms - int(data["seen_ms"])) / 1000,
                    )
                )
            return found

        return node.conn.call(read(), 2.0)


def open_cluster_reader(cfg: AppConfig) -> NatsClusterReader:
    return NatsClusterReader(cfg)
