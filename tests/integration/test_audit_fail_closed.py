"""A real scheduler whose decision-log disk fills up: it halts trading, keeps its entries, and
resumes only after the log recovered and the entry that resumes it is on disk. The disk is a 32 MiB
tmpfs mounted in a private mount namespace of the scheduler process (seen here via /proc/PID/root)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.live import TRADEOPS, entries, scratch_repo, signing_env, wait_for
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.verify import verify_file

pytestmark = pytest.mark.slow


def _can_mount_privately() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, check=False, timeout=10
    )
    return probe.returncode == 0


def _fill(directory: Path) -> Path:
    """Write a filler file until the file system is full (ENOSPC)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    block, full = b"\0" * 4096, None
    try:
        while full is None:
            try:
                os.write(fd, block)
            except OSError as exc:
                full = exc.errno
    finally:
        os.close(fd)
    assert full == errno.ENOSPC
    return filler


@pytest.mark.skipif(not _can_mount_privately(), reason="needs unshare -m to mount a small tmpfs")
def test_a_full_log_disk_halts_trading_until_the_log_recovers(tmp_path: Path) -> None:
    root = scratch_repo(tmp_path / "repo")
    env = signing_env(tmp_path)
    logs = root / "audit" / "decision_logs"
    logs.mkdir(parents=True)
    run = (
        f"mount -t tmpfs -o size=32m tmpfs {logs} && exec {TRADEOPS} run --environment binance_paper "
        "--synthetic --bars 20000 --speed 3000 --run-forever --no-metrics"
    )
    out = (root / "scheduler.out").open("w")
    proc = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", run],
        cwd=root,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    seen = Path(f"/proc/{proc.pid}/root") / logs.relative_to("/")
    log = seen / "binance_paper.jsonl"
    try:

        def submitted() -> list[dict]:
            return [e for e in entries(log) if e["kind"] == "order" and e["status"] == "submitted"]

        wait_for(lambda: len(submitted()) >= 2, 90, "the scheduler to trade")
        filler = _fill(seen)
        wait_for(
            lambda: "trading halted until it can" in (root / "scheduler.out").read_text(), 60, "the halt"
        )
        assert proc.poll() is None  # halted, not crashed
        filler.unlink()
        wait_for(lambda: any(e["status"] == "recovered" for e in entries(log)), 60, "the log to recover")
        wait_for(
            lambda: any(
                e["kind"] == "order" and e["status"] == "submitted"
                for e in entries(log)[_index(entries(log), "recovered") :]
            ),
            90,
            "trading to resume after the recovered entry",
        )
        # The namespace (and its tmpfs) goes away with the process: copy the log out first.
        copy = tmp_path / "binance_paper.jsonl"
        data = log.read_bytes()
        copy.write_bytes(data[: data.rfind(b"\n") + 1])
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        out.close()
    assert proc.returncode == 0, (root / "scheduler.out").read_text()[-2000:]
    logged = entries(copy)
    recovered = _index(logged, "recovered")
    halted = max(
        i
        for i, e in enumerate(logged[:recovered])
        if e["kind"] == "trading_state" and e["status"] == "halted"
    )
    between = logged[halted:recovered]
    assert not [e for e in between if e["kind"] == "order" and e["status"] == "submitted"]
    key = SigningKey(
        env["TRADEOPS_DECISION_LOG_KEY_ID"], Path(env["TRADEOPS_DECISION_LOG_KEY_FILE"]).read_bytes()
    )
    result = verify_file(copy, keyring={key.key_id: key}, check_anchor=False)
    assert result.ok, result  # every kept entry written once, in order, chained and signed


def _index(logged: list[dict], status: str) -> int:
    return next(i for i, e in enumerate(logged) if e["status"] == status)
