"""The override writer: mode 600 from creation, atomic, never overwrites by accident, and writes
nothing at all when it refuses."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tradeops.bootstrap.override_files import remove_override_file, write_override
from tradeops.config.overrides import OverrideFile
from tradeops.domain.errors import AlreadyExists, UserInputError
from tradeops.host.override_files import read_override

NOW = 1_772_366_400_000  # 2026-03-01T12:00:00Z


def payload(reason: str = "feed outage", action: str = "disable_multi_strategy") -> OverrideFile:
    return OverrideFile.model_validate(
        {
            "schema": "stage4.scheduler.override",
            "schema_version": "1.0",
            "timestamp": "2026-03-01T12:00:00Z",
            "action": action,
            "reason": reason,
            "ticket": "INC-42",
            "requested_by": "l2-ops",
        }
    )


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_writes_valid_json_with_mode_600_and_creates_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "runtime" / "overrides"
    path = write_override(directory, payload(), force=False)
    assert path == directory / "multi_strategy_disable.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    written = json.loads(path.read_text())
    assert written["schema"] == "stage4.scheduler.override" and written["forced"] is False
    assert read_override(path, NOW).active
    assert listing(directory) == ["multi_strategy_disable.json"]  # no temp file left behind


def test_file_is_private_from_creation_whatever_the_umask(tmp_path: Path) -> None:
    modes: list[int] = []

    def before_rename(done: bool) -> None:
        if not done:  # the temp file is complete but has no final name yet
            temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            assert len(temps) == 1 and not (tmp_path / "multi_strategy_disable.json").exists()
            modes.append(stat.S_IMODE(temps[0].stat().st_mode))

    old = os.umask(0)
    try:
        write_override(tmp_path, payload(), force=False, publish_hook=before_rename)
    finally:
        os.umask(old)
    assert modes == [0o600]


def test_refuses_to_overwrite_and_keeps_the_original(tmp_path: Path) -> None:
    path = write_override(tmp_path, payload("first"), force=False)
    original = path.read_bytes()
    with pytest.raises(AlreadyExists) as caught:
        write_override(tmp_path, payload("second"), force=False)
    assert caught.value.exit_code == 1
    assert "--force" in str(caught.value) and "\n" not in str(caught.value)
    assert path.read_bytes() == original
    assert listing(tmp_path) == ["multi_strategy_disable.json"]


def test_a_racing_writer_loses_cleanly(tmp_path: Path) -> None:
    """The existence check is the link itself: a file appearing after any pre-check still wins."""
    target = tmp_path / "multi_strategy_disable.json"

    def sneak_in(done: bool) -> None:
        if not done:
            target.write_text("written by someone else")

    with pytest.raises(AlreadyExists):
        write_override(tmp_path, payload(), force=False, publish_hook=sneak_in)
    assert target.read_text() == "written by someone else"
    assert listing(tmp_path) == ["multi_strategy_disable.json"]


def test_force_replaces_and_records_it(tmp_path: Path) -> None:
    write_override(tmp_path, payload("first"), force=False)
    path = write_override(tmp_path, payload("second"), force=True)
    written = json.loads(path.read_text())
    assert written["reason"] == "second" and written["forced"] is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert listing(tmp_path) == ["multi_strategy_disable.json"]


def test_component_decides_the_file_name(tmp_path: Path) -> None:
    path = write_override(tmp_path, payload(action="disable_decision_orchestrator"), force=False)
    assert path.name == "decision_orchestrator_disable.json"


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_blank_reason_writes_nothing(tmp_path: Path, reason: str) -> None:
    directory = tmp_path / "overrides"
    with pytest.raises(UserInputError, match="reason"):
        write_override(directory, {**payload().to_json(), "reason": reason}, force=False)
    assert not directory.exists()


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "overrides"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(UserInputError, match="symlink") as caught:
        write_override(link, payload(), force=False)
    assert "\n" not in str(caught.value)
    assert listing(real) == []


def test_symlink_anywhere_in_the_path_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "var").symlink_to(real, target_is_directory=True)
    with pytest.raises(UserInputError, match="symlink"):
        write_override(tmp_path / "var" / "runtime" / "overrides", payload(), force=False)
    assert listing(real) == []


def test_a_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "overrides").write_text("")
    with pytest.raises(UserInputError, match="not a directory"):
        write_override(tmp_path / "overrides", payload(), force=False)


@pytest.fixture
def read_only_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="tradeops-ro-"))
    base.chmod(0o755)  # traversable by an unprivileged user
    directory = base / "overrides"
    directory.mkdir(mode=0o555)
    yield directory
    shutil.rmtree(base)


def _as_unprivileged(action: Callable[[], None]) -> str:
    """Run `action` as uid/gid 65534 in a forked child (root ignores directory permissions)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        outcome = "ok"
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            action()
        except BaseException as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


def test_unwritable_directory_is_refused_and_nothing_written(read_only_dir: Path) -> None:
    def attempt() -> None:
        write_override(read_only_dir, payload(), force=False)

    if os.geteuid() == 0:
        outcome = _as_unprivileged(attempt)
    else:
        try:
            attempt()
            outcome = "ok"
        except UserInputError as exc:
            outcome = f"UserInputError: {exc}"
    assert outcome.startswith("UserInputError: ") and "not writable" in outcome
    assert listing(read_only_dir) == []


def test_remove_override_file(tmp_path: Path) -> None:
    path = write_override(tmp_path, payload(), force=False)
    assert remove_override_file(path) is True
    assert remove_override_file(path) is False
    assert listing(tmp_path) == []


def test_reason_is_written_as_utf8_as_is_readable_with_cat(tmp_path: Path) -> None:
    reason = "Wyłączenie awaryjne: zażółć gęślą jaźń"
    path = write_override(tmp_path, payload(reason=reason), force=False)
    raw = path.read_bytes()
    assert reason.encode("utf-8") in raw and b"\\u0142" not in raw
    assert raw.decode("utf-8").startswith("{\n  ")  # indented, one field a line
    assert read_override(path, NOW).reason == reason
