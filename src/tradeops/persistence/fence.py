"""The epoch fence of cluster mode: a row in the shared PostgreSQL store holding the current lease
epoch of an environment. Every projection transaction of a leader locks and checks it; a write
from a deposed leader (a stale epoch) is refused inside the same transaction, so it never lands."""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from tradeops.domain.errors import Fatal

TABLE = "tradeops_cluster_fence"


class StaleEpoch(Fatal):
    """This process's lease epoch is no longer the current one: another host leads the account."""


def ensure_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (environment VARCHAR(128) PRIMARY KEY, "
                "epoch BIGINT NOT NULL, holder VARCHAR(128) NOT NULL, refused BIGINT NOT NULL DEFAULT 0)"
            )
        )


def advance(engine: Engine, environment: str, holder: str) -> int:
    """Start a new epoch for `holder` (who has just won the lease); return it. Monotonic forever."""
    ensure_table(engine)
    with engine.begin() as conn:
        row = conn.execute(
            text(
                f"INSERT INTO {TABLE} (environment, epoch, holder) VALUES (:env, 1, :holder) "
                f"ON CONFLICT (environment) DO UPDATE SET epoch = {TABLE}.epoch + 1, holder = :holder "
                "RETURNING epoch"
            ),
            {"env": environment, "holder": holder},
        ).scalar_one()
    return int(row)


def current(engine: Engine, environment: str) -> tuple[int, str, int] | None:
    """(epoch, holder, refused writes) of an environment, or None before its first leader."""
    ensure_table(engine)
    with engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT epoch, holder, refused FROM {TABLE} WHERE environment = :env"), {"env": environment}
        ).first()
    return None if row is None else (int(row[0]), str(row[1]), int(row[2]))


class EpochFence:
    """Checked inside every state transaction of a leader (SqlStateStore.apply)."""

    def __init__(self, environment: str, epoch: int) -> None:
        self.environment = environment
        self.epoch = epoch

    def check(self, conn: Connection) -> None:
        found = conn.execute(
            text(f"SELECT epoch FROM {TABLE} WHERE environment = :env FOR UPDATE"), {"env": self.environment}
        ).scalar_one_or_none()
        if found != self.epoch:
            raise StaleEpoch(
                f"cluster: write refused: this host's lease epoch {self.epoch} is stale "
                f"(current epoch {found}); another host leads {self.environment}"
            )

    def count_refusal(self, engine: Engine) -> None:
        """Best effort, in its own transaction: the refused transaction rolled back."""
        try:
            with engine.begin() as conn:
                conn.execute(
                    text(f"UPDATE {TABLE} SET refused = refused + 1 WHERE environment = :env"),
                    {"env": self.environment},
                )
        except Exception:
            return
