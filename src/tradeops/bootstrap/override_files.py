"""Write an override file (the global kill switch) so that it is never half-written or exposed.

The temp file is created with mode 600, written, fsynced, then hard-linked to the final name:
`link` fails if the name exists, so "refuse to overwrite" holds even when two operators race.
`force` replaces an existing file with `rename` instead. The directory is fsynced afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import ValidationError

from tradeops.config.overrides import COMPONENTS, OverrideFile
from tradeops.domain.errors import AlreadyExists, UserInputError
from tradeops.fsutil import fsync_dir

DIR_MODE = 0o700
FILE_MODE = 0o600


def symlink_component(path: Path) -> Path | None:
    """The first existing component of `path` (as given, not resolved) that is a symlink."""
    current = Path(path.anchor) if path.is_absolute() else Path()
    for part in path.parts[1:] if path.is_absolute() else path.parts:
        current = current / part
        if current.is_symlink():
            return current
        if not current.exists():
            return None
    return None


def check_directory(directory: Path) -> None:
    """Refuse a directory that is, or sits under, a symlink, or that we cannot write to."""
    link = symlink_component(directory)
    if link is not None:
        raise UserInputError(
            f"--output-dir {directory}: {link} is a symlink; use a real directory (nothing written)"
        )
    if directory.exists():
        if not directory.is_dir():
            raise UserInputError(f"--output-dir {directory}: not a directory (nothing written)")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise UserInputError(f"--output-dir {directory}: directory is not writable (nothing written)")


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(
            f"--output-dir {directory}: cannot create directory ({exc.strerror}); nothing written"
        ) from None
    check_directory(directory)  # a symlink may have appeared while we created the parents


def _as_document(payload: OverrideFile | Mapping[str, object]) -> OverrideFile:
    if isinstance(payload, OverrideFile):
        return payload
    try:
        return OverrideFile.model_validate(dict(payload))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserInputError(f"override field {where}: {first['msg']} (nothing written)") from None


def write_override(
    directory: str | Path,
    payload: OverrideFile | Mapping[str, object],
    *,
    force: bool,
    publish_hook: Callable[[bool], None] | None = None,
) -> Path:
    """Write `payload` to the component's file in `directory` and return its path.

    Refuses (AlreadyExists, exit 1) when the file exists unless `force`; a blank reason, a symlink
    in the path or an unwritable directory are UserInputErrors. On any error nothing is written.
    `publish_hook` (benchmarks) is called with False right before the file gets its final name
    and with True right after.
    """
    directory = Path(directory)
    document = _as_document(payload)
    if not document.reason.strip():
        raise UserInputError("--reason must not be empty (nothing written)")
    component = next(c for c in COMPONENTS.values() if c.action == document.action)
    target = directory / component.file_name
    check_directory(directory)
    _make_directory(directory)
    if not force and os.path.lexists(target):
        raise AlreadyExists(_exists_message(target, component.name))
    if force:
        document = document.model_copy(update={"forced": True})
    data = (json.dumps(document.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    _publish(directory, target, data, force, component.name, publish_hook)
    return target


def _exists_message(target: Path, component: str) -> str:
    return (
        f"override for {component} already exists at {target}; "
        "remove it (tradeops kill-switch clear) or pass --force to replace it"
    )


def _publish(
    directory: Path,
    target: Path,
    data: bytes,
    force: bool,
    component: str,
    hook: Callable[[bool], None] | None,
) -> None:
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UserInputError(
            f"--output-dir {directory}: cannot write ({exc.strerror}); nothing written"
        ) from None
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp already uses 600; make it explicit
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if hook is not None:
            hook(False)
        if force:
            os.replace(tmp_name, target)
        else:
            try:
                os.link(tmp_name, target)
            except FileExistsError:
                raise AlreadyExists(_exists_message(target, component)) from None
        if hook is not None:
            hook(True)
    except OSError as exc:
        raise UserInputError(f"{target}: cannot write override ({exc.strerror}); nothing written") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    fsync_dir(directory)


def remove_override_file(path: Path) -> bool:
    """Remove one override file durably; False when it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise UserInputError(f"{path}: cannot remove override ({exc.strerror})") from None
    fsync_dir(path.parent)
    return True
