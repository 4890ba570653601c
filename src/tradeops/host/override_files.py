"""Reading the override files fail-safe (see runtime/overrides.py for what they mean): without
following symlinks, refusing anything but a private regular file, validating the document."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import replace
from pathlib import Path

from tradeops.config.overrides import COMPONENT_BY_FILE, COMPONENTS
from tradeops.host.overrides_directory import ArmedDirectory, directory_problem
from tradeops.runtime.overrides import (
    INACTIVE,
    MAX_OVERRIDE_BYTES,
    REQUIRED_MODE,
    OverrideState,
    combine,
    directory_fault,
    malformed,
    parse_override,
)


def _read_bytes(path: Path) -> bytes:
    """Read without following a symlink; refuse anything but a private regular file."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError("is a symlink (override files must be regular files)") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode != REQUIRED_MODE:
            raise ValueError(f"has permissions {mode:04o}; expected 0600 (chmod 600)")
        if info.st_size > MAX_OVERRIDE_BYTES:
            raise ValueError(f"is {info.st_size} bytes; larger than {MAX_OVERRIDE_BYTES}")
        chunks = []
        while chunk := os.read(fd, MAX_OVERRIDE_BYTES + 1):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_override(path: str | Path, now_ms: int) -> OverrideState:
    """Read one override file fail-safe (see the module docstring)."""
    path = Path(path)
    component = COMPONENT_BY_FILE.get(path.name, COMPONENTS["multi_strategy"])
    try:
        data = _read_bytes(path)
    except FileNotFoundError:
        return replace(INACTIVE, observed_ms=now_ms)
    except ValueError as exc:
        return malformed(path, component, str(exc), now_ms)
    except OSError as exc:
        return malformed(path, component, f"cannot be read ({exc.strerror})", now_ms)
    return parse_override(data, path, now_ms)


def read_overrides(directory: str | Path, now_ms: int, armed: ArmedDirectory | None = None) -> OverrideState:
    """Every component's file in `directory`, combined: the most severe state leads. A directory
    that cannot be trusted (see `directory_problem`) halts every component."""
    directory = Path(directory)
    problem = directory_problem(directory, armed)
    if problem is not None:
        return directory_fault(directory, problem, now_ms)
    return combine(tuple(read_override(directory / c.file_name, now_ms) for c in COMPONENTS.values()), now_ms)


Signature = tuple[tuple[int, int, int, int, int] | None, ...]


def override_paths(directory: str | Path) -> tuple[str, ...]:
    return tuple(str(Path(directory) / c.file_name) for c in COMPONENTS.values())


def file_signature(paths: tuple[str, ...]) -> Signature:
    """Cheap identity of the override files (one lstat each): changes on create, replace, edit,
    chmod and removal."""
    result: list[tuple[int, int, int, int, int] | None] = []
    for path in paths:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            result.append(None)
        except OSError:
            result.append((-1, -1, -1, -1, -1))
        else:
            result.append((info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode))
    return tuple(result)
