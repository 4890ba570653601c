"""Where a configuration file stands in Git: the commit it belongs to, and a file at a commit."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tradeops.config.load import MAX_CONFIG_BYTES
from tradeops.domain.errors import UserInputError

GIT_TIMEOUT_S = 20.0
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@{}~^-]{0,199}$")


@dataclass(frozen=True)
class GitState:
    commit: str  # HEAD of the repository holding the file
    dirty: bool  # the file differs from HEAD's version (or is not tracked)
    relpath: str

    def to_dict(self) -> dict[str, object]:
        return {"commit": self.commit, "dirty": self.dirty, "path": self.relpath}


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    binary = shutil.which("git")
    if binary is None:
        return None
    try:
        return subprocess.run(
            [binary, *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _toplevel(path: Path) -> Path | None:
    done = _git(path.resolve().parent, "rev-parse", "--show-toplevel")
    if done is None or done.returncode != 0:
        return None
    return Path(done.stdout.decode().strip())


def git_state(path: Path) -> GitState | None:
    """The repository state of `path`, or None when it is not in a Git work tree."""
    top = _toplevel(path)
    if top is None:
        return None
    rel = path.resolve().relative_to(top.resolve()).as_posix()
    head = _git(top, "rev-parse", "--verify", "-q", "HEAD")
    if head is None or head.returncode != 0:
        return None
    tracked = _git(top, "ls-files", "--error-unmatch", "--", rel)
    clean = _git(top, "diff", "--quiet", "HEAD", "--", rel)
    dirty = tracked is None or tracked.returncode != 0 or clean is None or clean.returncode != 0
    return GitState(head.stdout.decode().strip(), dirty, rel)


def file_at_commit(path: Path, commit: str) -> tuple[str, str]:
    """The text of `path` at `commit` (bounded, UTF-8) and its name `commit:relpath`."""
    if not _REVISION.match(commit):
        raise UserInputError(f"--from-git {commit!r}: not a commit name (a hash, tag or branch)")
    top = _toplevel(path)
    if top is None:
        raise UserInputError(f"--from-git: {path} is not inside a Git repository")
    rel = path.resolve().relative_to(top.resolve()).as_posix()
    done = _git(top, "show", f"{commit}:{rel}")
    if done is None or done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()[:1] if done else ["git not available"]
        raise UserInputError(f"--from-git {commit}: cannot read {rel} ({why[0] if why else 'git failed'})")
    if len(done.stdout) > MAX_CONFIG_BYTES:
        raise UserInputError(f"--from-git {commit}: {rel} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return done.stdout.decode("utf-8"), f"{commit}:{rel}"
    except UnicodeDecodeError:
        raise UserInputError(f"--from-git {commit}: {rel} is not UTF-8 text") from None
