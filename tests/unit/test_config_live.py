"""The scheduler's side of `config apply` on a real runtime: a live change reaches the engine, the
schedules and the gauges at once; a refused change leaves everything as it was."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeops.bootstrap.engine import RunOptions, Runtime, build_runtime
from tradeops.bootstrap.ops import OpsContext, build_ops_context
from tradeops.decision_log.reader import iter_entries
from tradeops.ops.config_handoff import read_result, read_running, write_pending
from tradeops.ops.config_live import LiveConfig

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "config" / "core.yaml").read_text()


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, LiveConfig]]:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    for name in ("TRADEOPS_DECISION_LOG_KEY_FILE", "TRADEOPS_DECISION_LOG_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789abcdef")
    runtime = build_runtime(RunOptions(synthetic_bars=400, kill_switch=False, state="memory"))
    runtime.engine.publish_stats(force=True)
    ctx: OpsContext = build_ops_context()
    try:
        yield runtime, LiveConfig.start(runtime, ctx)
    finally:
        ctx.close()
        runtime.close()


def _hand_over(live: LiveConfig, text: str, request_id: str) -> dict[str, object]:
    write_pending(
        live.directory,
        request_id=request_id,
        text=text.encode(),
        source="c.yaml",
        requested_at="t",
        ticket="T",
    )
    live.tick()
    result = read_result(live.directory)
    assert result is not None and result["request_id"] == request_id
    return result


def _running_text(live: LiveConfig) -> bytes:
    running = read_running(live.directory)
    assert running is not None
    return running.text


def _problems(result: dict[str, object]) -> list[str]:
    problems = result["problems"]
    assert isinstance(problems, list)
    return [str(p) for p in problems]


def _edit(*pairs: tuple[str, str]) -> str:
    text = TEXT
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_allocation_cadence_and_kill_policy_apply_live(live: tuple[Runtime, LiveConfig]) -> None:
    runtime, config = live
    running = read_running(config.directory)
    assert running is not None and running.pid == os.getpid() and running.alive()
    due = {d.name: d for d in runtime.scheduler.dues}["cross_exchange"]
    before_cadence = due.cadence_ms
    text = _edit(
        ("      cross_exchange: 0.15", "      cross_exchange: 0.05"),
        ("    positions: hold", "    positions: reduce"),
    )
    assert before_cadence == 30_000
    text = text.replace("cadence_seconds: 30\n", "cadence_seconds: 60\n", 1)
    result = _hand_over(config, text, "r-1")
    assert result["status"] == "applied", result
    assert runtime.engine.slots["cross_exchange"].profile.allocation("cross_exchange") == 0.05
    assert runtime.stats.strategies["cross_exchange"].configured_allocation == 0.05
    assert runtime.engine.settings.positions_on_kill == "reduce"
    assert due.cadence_ms == before_cadence * 2 and due.next_ms % due.cadence_ms == 0
    assert _running_text(config) == text.encode()
    [entry] = [e for _, e in iter_entries("audit/decision_logs/stage4.jsonl") if e["kind"] == "config_change"]
    assert entry["status"] == "applied" and entry["artefacts"]["request_id"] == "r-1"


def test_a_change_that_needs_a_restart_leaves_the_running_configuration(
    live: tuple[Runtime, LiveConfig],
) -> None:
    runtime, config = live
    slots_before = dict(runtime.engine.slots)
    cadences = [d.cadence_ms for d in runtime.scheduler.dues]
    text = _edit(
        ("      cross_exchange: 0.15", "      cross_exchange: 0.05"),
        ("maker_fee: 0.0002", "maker_fee: 0.0003"),
    )
    result = _hand_over(config, text, "r-2")
    assert result["status"] == "refused"
    assert any("maker_fee" in p for p in _problems(result))
    assert runtime.engine.slots == slots_before and [d.cadence_ms for d in runtime.scheduler.dues] == cadences
    assert runtime.stats.strategies["cross_exchange"].configured_allocation == 0.15
    assert _running_text(config) == TEXT.encode()
    assert not (config.directory / "pending.json").exists()
    entries = [e for _, e in iter_entries("audit/decision_logs/stage4.jsonl") if e["kind"] == "config_change"]
    assert [e["status"] for e in entries] == ["refused"]
    assert json.loads((config.directory / "result.json").read_text())["restart_required"]
