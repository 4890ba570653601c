"""The overrides directory judged against how the watcher armed it (issue 14)."""

from __future__ import annotations

import os
from pathlib import Path

from tradeops.host.override_files import read_overrides
from tradeops.host.override_watcher import OverrideWatcher
from tradeops.host.overrides_directory import ArmedDirectory, arm_directory, directory_problem
from tradeops.runtime.kill_switch import KillSwitch

NOW = 1_772_366_400_000


def test_arming_creates_a_private_directory(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "runtime" / "overrides"
    armed = arm_directory(directory)
    assert directory.is_dir() and armed.mode == 0o700 and directory_problem(directory, armed) is None


def test_each_fault_is_named(tmp_path: Path) -> None:
    directory = tmp_path / "overrides"
    armed = arm_directory(directory)
    os.chmod(directory, 0o750)
    assert "widened" in (directory_problem(directory, armed) or "")
    os.chmod(directory, 0o777)
    assert "others could remove" in (directory_problem(directory, armed) or "")
    os.chmod(directory, 0o500)
    assert "cannot read and write" in (directory_problem(directory, armed) or "")
    os.chmod(directory, 0o700)
    directory.rmdir()
    assert "removed while running" in (directory_problem(directory, armed) or "")
    assert directory_problem(directory, None) is None  # nobody armed it: simply no override
    directory.symlink_to(tmp_path, target_is_directory=True)
    assert "symlink" in (directory_problem(directory, None) or "")
    directory.unlink()
    directory.write_text("x")
    assert "not a directory" in (directory_problem(directory, armed) or "")


def test_a_fault_halts_the_gate_and_every_component(tmp_path: Path) -> None:
    directory = tmp_path / "overrides"
    watcher = OverrideWatcher(directory, clock_ms=lambda: NOW, use_inotify=False)
    gate = KillSwitch(watcher, dict, lambda: NOW)
    assert gate.allows_new_order("daily_trend") is None
    directory.rmdir()
    assert gate.allows_new_order("daily_trend") is not None  # the per-order check sees it at once
    state = watcher.state
    assert state.malformed and "removed while running" in state.reason
    assert {f.component for f in state.files} == {"multi_strategy", "decision_orchestrator"}
    directory.mkdir(mode=0o700)
    assert gate.allows_new_order("daily_trend") is None
    assert not read_overrides(directory, NOW, watcher.armed).active


def test_a_directory_that_cannot_be_created_halts_from_the_start(tmp_path: Path) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where the directory's parent should be")
    watcher = OverrideWatcher(blocker / "overrides", clock_ms=lambda: NOW, use_inotify=False)
    assert watcher.state.active and watcher.state.malformed and "Not a directory" in watcher.state.reason
    missing = tmp_path / "never"
    assert "could not be created" in (directory_problem(missing, ArmedDirectory()) or "")
