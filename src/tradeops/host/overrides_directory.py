"""The overrides directory is part of the kill switch's safety state.

A running watcher arms the directory (creates it with mode 700 if missing, remembers its mode and
owner). From then on a directory that is gone, a symlink, not a directory, unusable by the
runtime, writable by others, or whose permissions widened or owner changed cannot be trusted to
hold an override, so `read_overrides` reports every component as a malformed (halting) override.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ArmedDirectory:
    """The overrides directory as a running watcher first saw it; later changes are judged against it."""

    mode: int | None = None
    uid: int | None = None


DIRECTORY_MODE = 0o700


def arm_directory(directory: str | Path) -> ArmedDirectory:
    """Create the overrides directory if missing (mode 700) and remember its mode and owner.

    A directory that cannot be created or is not a real directory is remembered without a mode:
    `directory_problem` then reports it, so the watcher starts halted instead of trusting it."""
    path = Path(directory)
    with contextlib.suppress(OSError):
        if not os.path.lexists(path):
            path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    try:
        info = os.lstat(path)
    except OSError:
        return ArmedDirectory()
    if not stat.S_ISDIR(info.st_mode):
        return ArmedDirectory()
    return ArmedDirectory(stat.S_IMODE(info.st_mode), info.st_uid)


def directory_problem(directory: str | Path, armed: ArmedDirectory | None) -> str | None:
    """Why the overrides directory cannot be trusted to hold (or keep) an override, else None.

    Without `armed` (no watcher running) a missing directory simply holds no override. With it,
    the directory must stay a real directory the runtime can read and write, writable by nobody
    else, with no permission bit or owner it did not have when the watcher started."""
    path = Path(directory)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if armed is None:
            return None
        if armed.mode is None:
            return f"does not exist and could not be created (mkdir -m 700 {path})"
        return f"was removed while running; recreate it (mkdir -m 700 {path}) or restore it"
    except OSError as exc:
        return f"cannot be inspected ({exc.strerror})"
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return "is a symlink; the overrides directory must be a real directory"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if mode & stat.S_IRWXU != stat.S_IRWXU or not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        return f"has mode {mode:04o}: the runtime cannot read and write it (chmod 700 {path})"
    if mode & 0o022:
        return f"has mode {mode:04o}: others could remove an override (chmod 700 {path})"
    if armed is not None and armed.mode is not None and mode & ~armed.mode:
        return f"permissions widened while running ({armed.mode:04o} -> {mode:04o}); restore them"
    if armed is not None and armed.uid is not None and info.st_uid != armed.uid:
        return f"owner changed while running (uid {armed.uid} -> {info.st_uid})"
    return None
