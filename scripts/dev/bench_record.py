"""CPU per `ProjectingSink.record` call on the engine's own records (issue 17), outside the engine.

    .venv/bin/python scripts/dev/bench_record.py sparse 3000     # capture from 3000 bars, replay

Runs one `tradeops bench paper` case (as scripts/dev/profile_paper.py does) keeping every record the
engine gives its sink, then records them again through a fresh ProjectingSink over a real signed
DecisionLogWriter, several rounds, and prints the main thread's CPU per call (best round) and per
call of `encode_entry` alone. Warm caches in a tight loop: about half of what a call costs inside the
engine, but stable enough to compare two versions of the record path back to back.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from tradeops.bench import paper
from tradeops.config.load import load_config
from tradeops.decision_log.entry import encode_entry
from tradeops.decision_log.keys import ephemeral_key
from tradeops.decision_log.writer import DecisionLogWriter
from tradeops.persistence.journal import ProjectingSink
from tradeops.persistence.projection import Projection

HEAD = "sha256:" + "0" * 64


def capture(mode: str, bars: int) -> list[tuple[int, Any]]:
    captured: list[tuple[int, Any]] = []
    original = ProjectingSink.record

    def record(self: ProjectingSink, rec: Any) -> None:
        captured.append((self._step_ms(), rec))
        original(self, rec)

    base = load_config(Path("config/core.yaml"))
    market, _ = paper._market(bars, True)
    data = paper._mode_market(mode, market, bars)
    ProjectingSink.record = record  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            key = ephemeral_key(algorithm=base.decision_log.hash_algorithm)
            paper._one_run(paper.mode_configs(base)[mode], data, paper.STRATEGY_PARAMS[mode], Path(tmp), key)
    finally:
        ProjectingSink.record = original  # type: ignore[method-assign]
    return captured


def _replay(captured: list[tuple[int, Any]], key: Any) -> float:
    """Main-thread CPU seconds to record every captured record through a fresh sink and log."""
    with tempfile.TemporaryDirectory() as tmp:
        writer = DecisionLogWriter(Path(tmp) / "decisions.jsonl", key)
        step = [0]
        sink = ProjectingSink(
            writer, None, Projection(), log_id=lambda: writer.log_id, stage="paper",  # type: ignore[arg-type]
            step_ms=lambda: step[0],
        )  # fmt: skip
        cpu = time.thread_time()
        for step[0], rec in captured:
            sink.record(rec)
        spent = time.thread_time() - cpu
        writer.close()
    return spent


def _encode(entries: list[tuple[Any, dict[str, Any]]], key: Any) -> float:
    cpu = time.thread_time()
    for seq, (rec, metadata) in enumerate(entries):
        encode_entry(
            kind=rec.kind, stage="paper", status=rec.status, timestamp="2026-12-01T00:00:00.001000+00:00",
            artefacts=rec.artefacts, metadata=metadata, tags=rec.tags, seq=seq, prev_hash=HEAD,
            log_id="0" * 32, key=key,
        )  # fmt: skip
    return time.thread_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=paper.MODES)
    parser.add_argument("bars", type=int, help="bars per symbol of the capturing run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    captured = capture(args.mode, args.bars)
    key = ephemeral_key()
    rounds = [_replay(captured, key) for _ in range(args.rounds)]
    entries = [
        (rec, {**rec.metadata, "step_ms": s, "ts_ms": rec.ts, "market_time": "x"}) for s, rec in captured
    ]
    encode = [_encode(entries, key) for _ in range(args.rounds)]
    n = len(captured)
    print(
        f"{args.mode}: {n} records; record {min(rounds) / n * 1e6:.2f} us/call (best of {args.rounds}), "
        f"encode_entry {min(encode) / n * 1e6:.2f} us/call"
    )


if __name__ == "__main__":
    main()
