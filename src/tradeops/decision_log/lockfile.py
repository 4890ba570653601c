"""One writer per log: an exclusive flock on `<log>.lock`, held while the writer is open."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from tradeops.decision_log.errors import LogLockedError

_POLL_SECONDS = 0.01


def lock_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip() or "0")
        if pid:
            return f" (pid {pid})"
    return ""


class LogLock:
    """Held from acquire() to release(). The lock file itself is never deleted (that would race)."""

    def __init__(self, log_path: Path, timeout: float = 0.0) -> None:
        self.path = lock_path_for(log_path)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(self._fd)
                    self.release()
                    raise LogLockedError(
                        f"decision log {log_path} is open by another writer{holder} "
                        f"(lock {self.path}); one writer per file: stop it or retry"
                    ) from None
                time.sleep(_POLL_SECONDS)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode("ascii"), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
