"""`tradeops cluster status`: who leads an environment, at which epoch, since when, and who follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tradeops.runtime.cluster_guard import ClusterSnapshot, Member


class ClusterReader(Protocol):
    def snapshot(self, environment: str) -> ClusterSnapshot: ...


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    environment: str


@dataclass(frozen=True, slots=True)
class ClusterStatusView:
    environment: str
    snapshot: ClusterSnapshot

    @property
    def followers(self) -> tuple[Member, ...]:
        return tuple(m for m in self.snapshot.members if m.host_id != self.snapshot.leader)

    def to_json(self) -> dict[str, object]:
        s = self.snapshot
        return {
            "environment": self.environment,
            "leader": s.leader,
            "epoch": s.lease_epoch,
            "lease_age_seconds": s.lease_age_s,
            "fence_epoch": s.fence_epoch,
            "refused_stale_writes": s.refused_writes,
            "stream_entries": s.stream_entries,
            "followers": [
                {
                    "host_id": m.host_id,
                    "epoch_seen": m.epoch,
                    "lag_entries": m.lag_entries,
                    "seen_seconds_ago": round(m.seen_age_s, 3),
                }
                for m in self.followers
            ],
        }

    def lines(self) -> list[str]:
        s = self.snapshot
        if s.leader is None:
            head = f"{self.environment}: no leader (lease free or expired); fence epoch {s.fence_epoch}"
        else:
            head = (f"{self.environment}: leader {s.leader}, epoch {s.lease_epoch}, lease renewed "
                    f"{s.lease_age_s:.2f}s ago")  # fmt: skip
        out = [head, f"stream: {s.stream_entries} entries; stale-epoch writes refused: {s.refused_writes}"]
        out += [f"follower {m.host_id}: lag {m.lag_entries} entries, seen {m.seen_age_s:.1f}s ago"
                for m in self.followers]  # fmt: skip
        return out


def cluster_status(reader: ClusterReader, command: ClusterStatus) -> ClusterStatusView:
    return ClusterStatusView(command.environment, reader.snapshot(command.environment))
