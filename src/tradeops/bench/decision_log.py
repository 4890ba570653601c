"""`tradeops bench decision-log`: append rates (group commit, fsync per entry), durable latency, verify."""

from __future__ import annotations

import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import click
import numpy as np

from tradeops.decision_log.anchor import anchor_path
from tradeops.decision_log.errors import TornTailError
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.parallel_verify import auto_jobs, verify_file_parallel
from tradeops.decision_log.sink import FileDecisionSink
from tradeops.decision_log.verify import verify_file
from tradeops.decision_log.writer import DecisionLogWriter, FsyncMode
from tradeops.domain.events import DecisionRecord

GROUP_ENTRIES = 100
GROUP_MS = 5.0
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _records(count: int) -> list[DecisionRecord]:
    """A few fill records shaped like the runtime's (the loop cycles through them)."""
    return [
        DecisionRecord(
            kind="fill",
            status="filled",
            ts=START_MS + i,
            artefacts={
                "order_id": f"paper-{i:08d}",
                "client_order_id": f"daily_trend-BTCUSDT-{i:08d}",
                "strategy": "daily_trend",
                "venue": "binance",
                "symbol": "BTC/USDT",
            },
            metadata={
                "side": "buy" if i % 2 else "sell",
                "quantity": f"0.{i % 997:04d}",
                "price": f"43{i % 1000:03d}.5",
                "fee": "0.0172",
                "fee_asset": "USDT",
                "liquidity": "taker",
            },
        )
        for i in range(count)
    ]


def _append_run(
    path: Path, key: SigningKey, entries: int, mode: FsyncMode, progress: Callable[[int], None]
) -> dict[str, float]:
    durable: list[tuple[float, int]] = []
    appended = np.empty(entries, dtype=np.float64)
    records = _records(1000)
    clock = time.perf_counter

    def on_durable(seq: int) -> None:
        durable.append((clock(), seq))

    writer = DecisionLogWriter(
        path, key, fsync_mode=mode, group_entries=GROUP_ENTRIES, group_ms=GROUP_MS, on_durable=on_durable
    )
    sink = FileDecisionSink(writer, stage="bench")
    cpu_started = time.thread_time()
    started = clock()
    for i in range(entries):
        appended[i] = clock()
        sink.record(records[i % 1000])
        if i % 10_000 == 9_999:
            progress(10_000)
    sink.flush()
    elapsed = clock() - started
    cpu = time.thread_time() - cpu_started
    sink.close()
    progress(entries % 10_000)
    times = np.array([t for t, _ in durable])
    seqs = np.array([s for _, s in durable])
    # Entry i (seq i+2, after the genesis entry) became durable with the first fsync that covered its seq.
    latency = times[np.searchsorted(seqs, np.arange(2, entries + 2), side="left")] - appended
    return {
        "per_second": entries / elapsed,
        "cpu_us_per_entry": cpu / entries * 1e6,
        "p99_ms": float(np.percentile(latency, 99) * 1000),
        "p50_ms": float(np.percentile(latency, 50) * 1000),
        "bytes_per_entry": path.stat().st_size / entries,
    }


def _one_run(
    workdir: Path, entries: int, each_entries: int, progress: Callable[[int], None]
) -> dict[str, float]:
    key = SigningKey("bench", secrets.token_bytes(32), "sha256")
    group_path, each_path = workdir / "group.jsonl", workdir / "each.jsonl"
    for stale in (group_path, each_path):
        stale.unlink(missing_ok=True)
        anchor_path(stale).unlink(missing_ok=True)
    group = _append_run(group_path, key, entries, "group", progress)
    each = _append_run(each_path, key, each_entries, "each", progress)
    started, cpu_started = time.perf_counter(), time.thread_time()
    result = verify_file(group_path, keyring={"bench": key})
    verify_seconds, verify_cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    progress(entries)
    if not result.ok or result.entries != entries + 1:  # + the genesis entry
        raise click.ClickException(f"bench log failed verification: {result}")
    started = time.perf_counter()
    parallel = verify_file_parallel(group_path, keyring={"bench": key})
    parallel_seconds = time.perf_counter() - started
    if parallel != result:
        raise click.ClickException(f"parallel verify disagrees: {parallel} != {result}")
    for done in (group_path, each_path):
        done.unlink()
        anchor_path(done).unlink(missing_ok=True)
    return {
        "append_per_second_group_commit": group["per_second"],
        "append_per_second_fsync_each": each["per_second"],
        "verify_per_second": entries / verify_seconds,
        "verify_parallel_per_second": entries / parallel_seconds,
        "durable_latency_p99_ms": group["p99_ms"],
        "append_cpu_us_per_entry": group["cpu_us_per_entry"],
        "verify_cpu_us_per_entry": verify_cpu / (entries + 1) * 1e6,
        "durable_latency_p50_ms": group["p50_ms"],
        "fsync_each_latency_p99_ms": each["p99_ms"],
        "bytes_per_entry": group["bytes_per_entry"],
    }


def _runaway_line(workdir: Path, mib: int) -> dict[str, float]:
    """A log whose last line is `mib` MiB with no newline: time to open it (refused) and to verify
    it (fails at the line cap). Both read only the end / at most the cap of that line."""
    key = SigningKey("bench", secrets.token_bytes(32), "sha256")
    path = workdir / "runaway.jsonl"
    with DecisionLogWriter(path, key, fsync_mode="each") as writer:
        writer.append(kind="bench", stage="bench", status="ok", artefacts={"i": 1})
    block = b"x" * (1 << 20)
    with path.open("ab") as handle:
        handle.write(b'{"padding":"')
        for _ in range(mib):
            handle.write(block)
    started = time.perf_counter()
    try:
        DecisionLogWriter(path, key).close()
    except TornTailError:
        pass
    else:
        raise click.ClickException("the writer accepted a runaway last line")
    opened = time.perf_counter() - started
    started = time.perf_counter()
    result = verify_file(path, keyring={"bench": key})
    verified = time.perf_counter() - started
    if result.ok:
        raise click.ClickException("verify accepted a runaway last line")
    path.unlink()
    anchor_path(path).unlink(missing_ok=True)
    return {"runaway_line_mib": mib, "open_refused_ms": opened * 1000, "verify_failed_ms": verified * 1000}


def _progress_bar(as_json: bool, total: int) -> tuple[AbstractContextManager[Any], Callable[[int], None]]:
    if as_json:
        return nullcontext(), lambda _n: None
    from rich.progress import Progress

    bar = Progress(transient=False)
    task = bar.add_task("decision log", total=total)
    return bar, lambda n: bar.advance(task, n)


@click.command("decision-log")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
@click.option("--entries", type=click.IntRange(min=1000), default=1_000_000, show_default=True)
@click.option(
    "--fsync-each-entries",
    type=click.IntRange(min=100),
    default=20_000,
    show_default=True,
    help="Entries for the fsync-per-entry run (slow by nature).",
)
@click.option(
    "--runs", type=click.IntRange(min=1), default=1, show_default=True, help="Medians over this many runs."
)
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), help="Where to write the logs."
)
@click.option(
    "--runaway-line-mib",
    type=click.IntRange(min=0, max=4096),
    default=0,
    show_default=True,
    help="Also time opening and verifying a log whose last line is this many MiB (0: skip).",
)
def bench_decision_log(
    as_json: bool,
    entries: int,
    fsync_each_entries: int,
    runs: int,
    directory: Path | None,
    runaway_line_mib: int,
) -> None:
    """Append via the runtime sink (group commit and fsync per entry), then verify the log."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    rows = []
    load_at_start = os.getloadavg()[0]
    bar, progress = _progress_bar(as_json, runs * (2 * entries + fsync_each_entries))
    with bar, tempfile.TemporaryDirectory(prefix="tradeops-bench-dl-", dir=directory) as tmp:
        for _ in range(runs):
            rows.append(_one_run(Path(tmp), entries, fsync_each_entries, progress))
        runaway = _runaway_line(Path(tmp), runaway_line_mib) if runaway_line_mib else None
    medians = {name: statistics.median(row[name] for row in rows) for name in rows[0]}
    out = {
        "append_per_second_group_commit": round(medians["append_per_second_group_commit"]),
        "append_per_second_fsync_each": round(medians["append_per_second_fsync_each"]),
        "verify_per_second": round(medians["verify_per_second"]),
        "verify_parallel_per_second": round(medians["verify_parallel_per_second"]),
        "verify_parallel_jobs": auto_jobs(),
        "durable_latency_p99_ms": round(medians["durable_latency_p99_ms"], 2),
        "durable_latency_p50_ms": round(medians["durable_latency_p50_ms"], 2),
        "fsync_each_latency_p99_ms": round(medians["fsync_each_latency_p99_ms"], 2),
        "append_cpu_us_per_entry": round(medians["append_cpu_us_per_entry"], 1),
        "verify_cpu_us_per_entry": round(medians["verify_cpu_us_per_entry"], 1),
        "entries": entries,
        "fsync_each_entries": fsync_each_entries,
        "bytes_per_entry": round(medians["bytes_per_entry"]),
        "group_commit": {"entries": GROUP_ENTRIES, "ms": GROUP_MS},
        "runs": runs,
        "load_average_1m_at_start": round(load_at_start, 2),
        "directory": str(directory or Path(tempfile.gettempdir())),
        "notes": (
            "appends go through FileDecisionSink (runtime path: DecisionRecord -> signed chained line); "
            f"fsync_each measured over {fsync_each_entries} entries; durable latency = append call -> "
            "fdatasync covering the entry; verify = default (strict, canonical bytes, anchor), HMAC-SHA256, "
            "whole group-commit log, in one process; verify_parallel = the same (result compared) with "
            "decision-log verify's default --jobs (chunks on spawned workers, their start-up included)"
        ),
    }
    if runaway is not None:
        out["runaway_line"] = {name: round(value, 1) for name, value in runaway.items()}
    click.echo(json.dumps(out, indent=None if as_json else 2))
