"""The decision-log side of a run: its signing key, its writer and sink, and the audit gate that
halts trading while entries cannot be made durable."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradeops.config.models import AppConfig, EnvironmentConfig
from tradeops.runtime.fakes import NullSink
from tradeops.runtime.ports import DecisionSink, OrderGate
from tradeops.runtime.stats import RuntimeStats

if TYPE_CHECKING:
    from tradeops.bootstrap.account import RunPlan
    from tradeops.bootstrap.engine import RunOptions


def paper_signing_key(cfg: AppConfig, environment: str, extra_logs: Sequence[str | Path] = ()) -> None:
    """Paper setups sign with decision_log.key_file; create it when no key is configured and no
    log of the environment has entries yet (a new setup). A log with entries needs the key that
    signed it: then a missing key file is an error naming that log, never a silently new key."""
    from tradeops.decision_log.keys import ENV_KEY, ENV_KEY_FILE, ensure_local_key

    if os.environ.get(ENV_KEY) or os.environ.get(ENV_KEY_FILE):
        return
    settings = cfg.decision_log
    logs = [Path(cfg.decision_log_path(environment)), Path(settings.operations_log), *map(Path, extra_logs)]
    if ensure_local_key(settings.key_file, settings.key_id, logs):
        print(
            f"note: created a decision-log key for this new paper setup at {settings.key_file} (mode 600)",
            file=sys.stderr,
        )


def signing_key(cfg: AppConfig, log_path: str | Path) -> Any:
    """The signing key of `log_path` from flags-free sources: env, then decision_log.key_file."""
    from tradeops.decision_log.keys import resolve_signing_key

    return resolve_signing_key(
        key=None,
        key_file=None,
        key_id=None,
        algorithm=cfg.decision_log.hash_algorithm,
        default_key_id=cfg.decision_log.key_id,
        default_key_file=cfg.decision_log.key_file,
        log_path=log_path,
    )


def writer_opener(cfg: AppConfig, opts: RunOptions, env: EnvironmentConfig, path: str) -> Any:
    from tradeops.decision_log.writer import DecisionLogWriter

    if opts.signing_key is not None:
        key = opts.signing_key
    else:
        if env.mode == "paper":
            paper_signing_key(cfg, opts.environment, [path])
        key = signing_key(cfg, path)
    settings = cfg.decision_log

    def open_writer(on_durable: Any = None) -> DecisionLogWriter:
        return DecisionLogWriter(
            path,
            key,
            fsync_mode=settings.fsync_mode,
            group_entries=settings.group_commit_entries,
            group_ms=settings.group_commit_ms,
            environment=opts.environment,
            max_line_bytes=settings.max_line_bytes,
            anchor_interval_s=settings.anchor_interval_s,
            keep_on_failure=True,  # halt and keep entries in memory until the log is writable again
            on_durable=on_durable,
            # Cluster mode: the log was brought level with the stream, whose anchors are the leaders'.
            reanchor=opts.cluster is not None,
        )

    return open_writer


def open_sink(
    cfg: AppConfig, opts: RunOptions, env: EnvironmentConfig, plan: RunPlan, closers: list[Any]
) -> DecisionSink:
    """The sink of an in-memory run: the log alone (no store to project into)."""
    if not opts.decision_log:
        return NullSink()
    from tradeops.decision_log.sink import FileDecisionSink

    sink = FileDecisionSink(writer_opener(cfg, opts, env, plan.log_path)(), stage=opts.environment)
    closers.append(sink.close)
    return sink


def audited(gate: OrderGate | None, sink: DecisionSink, stats: RuntimeStats, stage: str) -> OrderGate | None:
    """Trading halts while the decision log cannot make entries durable (fail closed). An account's
    projecting sink appends through the same writer, so its audit state is that writer's."""
    from tradeops.decision_log.sink import AuditGate, FileDecisionSink
    from tradeops.decision_log.writer import DecisionLogWriter

    if isinstance(sink, FileDecisionSink):
        sink.stats = stats
        return AuditGate(gate, sink)
    writer = getattr(sink, "writer", None)
    if isinstance(writer, DecisionLogWriter):
        return AuditGate(gate, FileDecisionSink(writer, stage, stats=stats))
    return gate
